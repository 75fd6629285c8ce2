"""How many of a model's misses are names it gets right elsewhere in the same document.

    python scripts/repeated_mentions.py --data ../shared/data/conll2003/dev.txt --model en --model runs/en/model

A gold entity is *missed* when no predicted entity has its exact span and type. It is *found elsewhere*
when another gold entity of the same document with the same words and type was predicted exactly: the
misses a document-level view of the text (``features.doc_memory``) could recover. Documents are the
file's ``-DOCSTART-`` sections. Prints one JSON line per model.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict

from seqeval.metrics.sequence_labeling import get_entities

from ner import checkpoint
from ner.conll import read_conll
from ner.evaluate import predict_sequences


def repeated_mentions(model_path: str, data_path: str) -> dict:
    """Gold entities, misses, and misses found elsewhere in their document, for one model."""
    model, featurizer, _ = checkpoint.load(model_path)
    sequences, predicted = predict_sequences(model, featurizer, read_conll(data_path).sentences)
    found: dict[tuple[int, str, str], int] = defaultdict(int)  # (document, words, type) -> exact hits
    gold: list[tuple[int, str, str, bool]] = []
    for seq, tags in zip(sequences, predicted):
        hits = set(get_entities(list(tags)))
        for label, start, end in get_entities(list(seq.tags)):
            key = (seq.doc_id, " ".join(seq.tokens[start : end + 1]), label)
            hit = (label, start, end) in hits
            found[key] += hit
            gold.append((*key, hit))
    missed = [key for *key, hit in gold if not hit]
    elsewhere = sum(found[tuple(key)] > 0 for key in missed)
    return {
        "model": model_path,
        "data": data_path,
        "gold": len(gold),
        "missed": len(missed),
        "found_elsewhere": elsewhere,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="gold file to score (documents marked by -DOCSTART-)")
    parser.add_argument("--model", action="append", required=True, help="model name or checkpoint (repeatable)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for path in args.model:
        print(json.dumps(repeated_mentions(path, args.data)))


if __name__ == "__main__":
    main()
