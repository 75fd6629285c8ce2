"""Regenerate the model card (README.md) of checkpoint directories from their config.json.

    python scripts/write_cards.py ner/models/en ner/models/zh

Only README.md is written; the weights, vocabulary and config (and so the checkpoint digest) are untouched.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ner.card import model_card
from ner.checkpoint import CARD_FILE, read_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint directories")
    args = parser.parse_args()
    for path in args.checkpoints:
        config = read_config(path)
        (path / CARD_FILE).write_text(model_card(config, path.name), encoding="utf-8")
        print(path / CARD_FILE)


if __name__ == "__main__":
    main()
