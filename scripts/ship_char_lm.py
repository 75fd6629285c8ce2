"""Ship a pretrained character language model with the library, as ``features.char_lm = "NAME"`` reads it.

    python scripts/ship_char_lm.py runs/charlm-zh-h192.safetensors --name zh-news
    python scripts/ship_char_lm.py runs/charlm-zh-rev-h192.safetensors --name zh-news-reviews

Writes ``ner/pretrained/charlm-NAME.safetensors``: the language model of a file of ``ner pretrain-lm`` without its
prediction heads, in float16 (what a tagger reads and carries in its checkpoint).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ner.charlm import SHIPPED, load_char_lm, serving_copy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="a file of ner pretrain-lm")
    parser.add_argument("--name", required=True, help="the name features.char_lm will use")
    parser.add_argument("--dir", type=Path, default=SHIPPED, help="where shipped language models live")
    args = parser.parse_args(argv)
    target = serving_copy(args.source, args.dir / f"charlm-{args.name}.safetensors")
    spec = load_char_lm(target)[0]
    print(f"{target}: {target.stat().st_size / 1e6:.1f} MB, {len(spec.chars)} characters, hidden {spec.hidden_size}")


if __name__ == "__main__":
    main()
