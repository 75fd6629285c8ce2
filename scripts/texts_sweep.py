"""F1 of models with a document memory on texts of N sentences, as callers send them, and for a model with
tag scores without the memory (``model.alone_head``), at each setting of ``model.alone_head_sentences``.

    python scripts/texts_sweep.py --data ../shared/data/conll2003/dev.txt --texts 0 1 2 3 5 \
        --model en --model runs/en-head-s1/model --alone-head-sentences 0 1 2 3

Each run of N consecutive sentences of a ``-DOCSTART-`` document is tagged as a text of its own
(:func:`ner.evaluate.as_texts`; N = 0: whole documents, as ``ner evaluate`` scores). A model without
``model.alone_head`` is scored once per N. Prints one JSON line per (model, setting, N) and a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

import torch

from ner import checkpoint
from ner.conll import read_conll
from ner.evaluate import as_texts, evaluate_sentences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="gold file with -DOCSTART- documents")
    parser.add_argument("--model", action="append", required=True, help="shipped name or checkpoint (repeat)")
    parser.add_argument(
        "--texts", type=int, nargs="+", default=[0, 1, 2, 3, 5], help="sentences per text; 0: documents"
    )
    parser.add_argument("--alone-head-sentences", type=int, nargs="+", default=[1], help="settings to score")
    args = parser.parse_args(argv)
    if any(n < 0 for n in args.texts + args.alone_head_sentences):
        parser.error("--texts and --alone-head-sentences take numbers of 0 or more")
    torch.set_num_threads(1)
    sentences = read_conll(args.data).sentences
    texts = {n: as_texts(sentences, n) if n else sentences for n in args.texts}
    rows = []
    for name in args.model:
        model, featurizer, _ = checkpoint.load(name)
        settings = args.alone_head_sentences if model.emit_alone is not None else [None]
        for setting in settings:
            if setting is not None:
                model.config = dataclasses.replace(model.config, alone_head_sentences=setting)
            scores = {n: evaluate_sentences(model, featurizer, texts[n])["f1"] for n in args.texts}
            row = {"model": name, "alone_head_sentences": setting, "f1": scores}
            print(json.dumps(row), flush=True)
            rows.append(row)
    header = ["model", "alone_head_sentences"] + [f"{n} sentences" if n else "documents" for n in args.texts]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * 2 + "---:|" * len(args.texts))
    for row in rows:
        setting = "" if row["alone_head_sentences"] is None else str(row["alone_head_sentences"])
        cells = [f"{row['f1'][n]:.4f}" for n in args.texts]
        print("| " + " | ".join([row["model"], setting, *cells]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
