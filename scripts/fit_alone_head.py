"""Give a trained document-memory model tag scores without its memory, for texts of few sentences.

    python scripts/fit_alone_head.py --model en --train ../shared/data/conll2003/train.txt \
        --dev ../shared/data/conll2003/dev.txt --out runs/en-alone-head --alone-head-sentences 2

What ``ner train`` does after training when ``model.alone_head = true`` (``ner/alone_head.py``), for a
checkpoint trained without it: everything the model had stays frozen, so tagging within documents is
unchanged except in memory windows of at most ``--alone-head-sentences`` sentences, which read the new
scores. Writes a new checkpoint to ``--out`` (its config keeps the original's training record, with the
fit and both dev scores added under ``metrics``) and prints one JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

from ner import checkpoint
from ner.alone_head import fit_and_score
from ner.config import TrainConfig
from ner.conll import read_conll
from ner.evaluate import evaluate_sentences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="shipped name or checkpoint directory")
    parser.add_argument("--train", required=True, type=Path, help="the model's training file")
    parser.add_argument("--dev", required=True, type=Path, help="dev file (selects the epoch)")
    parser.add_argument("--out", required=True, type=Path, help="new checkpoint directory (must not exist)")
    parser.add_argument(
        "--alone-head-sentences", type=int, help="windows tagged without the memory; default: the model's"
    )
    parser.add_argument("--epochs", type=int, help="default: the run's train.alone_head_epochs")
    parser.add_argument("--lr", type=float, help="default: the run's train.alone_head_lr")
    parser.add_argument("--batch-size", type=int, help="default: the run's train.batch_size")
    parser.add_argument("--seed", type=int, help="default: the run's train.seed")
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"{args.out} exists: choose a new directory")
    torch.set_num_threads(1)
    model, featurizer, saved = checkpoint.load(args.model)
    if model.memory is None:
        parser.error(f"{args.model} has no document memory: every sentence is tagged alone already")
    # what ner train would fit with: the run's own settings, the defaults where the run predates them
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    run = TrainConfig(**{k: v for k, v in saved.get("train", {}).items() if k in known})
    given = {"alone_head_epochs": args.epochs, "alone_head_lr": args.lr, "batch_size": args.batch_size}
    run = dataclasses.replace(run, **{k: v for k, v in {**given, "seed": args.seed}.items() if v is not None})
    if args.alone_head_sentences is not None:
        model.config = dataclasses.replace(model.config, alone_head_sentences=args.alone_head_sentences)
    train = read_conll(args.train).sentences
    if run.max_train_sentences:  # the run trained on the first N sentences: so does its fit
        train = train[: run.max_train_sentences]
    dev = read_conll(args.dev).sentences
    label_ids = {label: i for i, label in enumerate(model.labels)}
    examples = [(featurizer.encode(s.tokens), [label_ids[tag] for tag in s.tags]) for s in train]
    before = evaluate_sentences(model, featurizer, dev, run.eval_batch_size)  # this dev file, before the fit
    metrics = fit_and_score(model, featurizer, examples, dev, {**saved.get("metrics", {}), "dev": before}, run)
    fit = metrics["alone_head"]
    fit |= {"train": str(args.train), "dev": str(args.dev), "lr": run.alone_head_lr, "batch_size": run.batch_size}
    fit["seed"] = run.seed
    checkpoint.save(model, featurizer, args.out, {**saved, "metrics": metrics})  # the model's own keys win
    summary = {
        "out": str(args.out),
        "best_epoch": fit["best_epoch"],
        "dev_f1_alone_as_added": fit["epochs"][0]["dev_f1_alone"],
        "dev_f1_alone": fit["dev_f1_alone"],
        "dev_f1_before": before["f1"],
        "dev_f1": metrics["dev"]["f1"],
        "seconds": round(fit["seconds"], 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
