"""Copy a trained checkpoint into ner/models/NAME as a shipped model, with held-out scores in its card.

    python scripts/ship_model.py --run runs/zh --name zh --held-out ../shared/data/msra/test.txt \
        --command "ner train --config configs/zh.toml --lang zh --train ../shared/data/msra/train.txt --out runs/zh"
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ner import checkpoint
from ner.conll import read_conll
from ner.evaluate import evaluate_sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="training output directory or checkpoint")
    parser.add_argument("--name", required=True, help="shipped model name (directory under ner/models)")
    parser.add_argument("--held-out", nargs="*", default=[], help="gold files to score and record in the card")
    parser.add_argument("--command", default="", help="the ner train command that produced the run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    model, featurizer, config = checkpoint.load(args.run)
    extra = dict(config)  # save() rewrites the keys that describe the model from the model itself
    held_out = {}
    for path in args.held_out:
        scores = evaluate_sentences(model, featurizer, read_conll(path).sentences)
        held_out[Path(path).name] = scores
        summary = {k: scores[k] for k in ("precision", "recall", "f1", "sentences")}
        print(json.dumps({"file": path, **summary}))
    metrics = extra.get("metrics", {})
    extra["metrics"] = {**metrics, "held_out": {**metrics.get("held_out", {}), **held_out}}
    if args.command:
        extra["command"] = args.command
    target = checkpoint.SHIPPED / args.name
    checkpoint.save(model, featurizer, target, extra)
    size = sum(p.stat().st_size for p in target.iterdir())
    print(json.dumps({"shipped": str(target), "bytes": size}))


if __name__ == "__main__":
    main()
