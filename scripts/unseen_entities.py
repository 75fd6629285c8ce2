"""Entity F1 split by whether an entity's words occur in the training file (Augenstein et al., 2017).

    python scripts/unseen_entities.py --train ../shared/data/conll2003/train.txt \
        --data ../shared/data/conll2003/dev.txt --model en --model runs/en/model

An entity (gold or predicted) is *unseen* when at least one of its words, in the model's lookup form
(lower-cased, digits as 0), never occurs in the training file, and *seen* otherwise, so the groups are
the same for every model trained on that file. ``--train`` may be given more than once: what any of the files has
counts as seen (a corpus and the silver-labelled text beside it). Precision, recall and F1 are computed within each
group with strict matching (exact span and type); ``covered`` is the share of unseen gold entities whose unseen words
all have a vector in the model (a pretrained row rather than ``<unk>``).
With ``--mentions``, an entity is *unseen* when its exact token string and type never occur as an entity in the
training file (for Chinese, whose "words" are characters, this is the split that tells names apart). With
``--dictionary`` besides, it also gives the recall of the gold entities of each type, seen and unseen, by their
kind in jieba's dictionary (person nr*, place ns*, organisation nt*, other, or ``none`` when the dictionary lacks
the mention): what the lexicon features tell the model about them. Prints one JSON line per model.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence

from seqeval.metrics.sequence_labeling import get_entities

from ner import augment, checkpoint
from ner.conll import read_conll
from ner.evaluate import predict_sequences
from ner.features import Featurizer


def _entities(tags: Sequence[Sequence[str]]) -> set[tuple[int, str, int, int]]:
    """(sequence, type, first token, last token) of every entity in BIOES tag sequences."""
    return {(i, label, start, end) for i, seq in enumerate(tags) for label, start, end in get_entities(list(seq))}


def _unseen_words(
    entity: tuple[int, str, int, int], tokens: Sequence[Sequence[str]], seen: set[str], f: Featurizer
) -> list[str]:
    """The words of an entity, in lookup form, that the training file never has."""
    i, _, start, end = entity
    return [k for k in (f.word_key(t) for t in tokens[i][start : end + 1]) if k not in seen]


def _mention(entity: tuple[int, str, int, int], tokens: Sequence[Sequence[str]]) -> tuple[str, tuple[str, ...]]:
    """An entity's identity across files, as :func:`ner.augment.mentions` gives it: its type and tokens."""
    i, label, start, end = entity
    return label, tuple(tokens[i][start : end + 1])


def _recall_by_dictionary(
    gold: set[tuple[int, str, int, int]],
    pred: set[tuple[int, str, int, int]],
    tokens: Sequence[Sequence[str]],
    seen_mentions: set[tuple[str, tuple[str, ...]]],
) -> dict[str, dict]:
    """Recall of the gold entities grouped by type, seen or unseen mention, and kind in jieba's dictionary."""
    from ner.lexicon import LEXICON_GROUPS, JiebaFeatures

    jieba = JiebaFeatures()
    counts: dict[str, list[int]] = {}
    for entity in gold:
        mention = _mention(entity, tokens)
        group = jieba.group_of("".join(mention[1]))
        kind = "none" if group is None else LEXICON_GROUPS[group]
        key = f"{mention[0]}/{'seen' if mention in seen_mentions else 'unseen'}/{kind}"
        counts.setdefault(key, [0, 0])
        counts[key][0] += 1
        counts[key][1] += entity in pred
    return {key: {"gold": n, "recall": found / n} for key, (n, found) in sorted(counts.items())}


def breakdown(
    model_path: str, train_paths: Sequence[str], data_path: str, mentions: bool = False, dictionary: bool = False
) -> dict:
    """Scores of one model on ``data_path`` for entities seen and unseen in the files ``train_paths`` (by their
    words, or with ``mentions`` by the whole mention and its type)."""
    model, featurizer, _ = checkpoint.load(model_path)
    train = [sentence for path in train_paths for sentence in read_conll(path).sentences]
    sequences, predicted = predict_sequences(model, featurizer, read_conll(data_path).sentences)
    tokens = [s.tokens for s in sequences]
    gold, pred = _entities([s.tags for s in sequences]), _entities(predicted)
    if mentions:
        seen_mentions = {m for s in train for m in augment.mentions(s)}
        new = {e for e in gold | pred if _mention(e, tokens) not in seen_mentions}
        unseen_of = {e: list(_mention(e, tokens)[1]) if e in new else [] for e in gold | pred}
    else:
        seen = {featurizer.word_key(t) for s in train for t in s.tokens}
        unseen_of = {e: _unseen_words(e, tokens, seen, featurizer) for e in gold | pred}
    groups: dict[str, dict] = {}
    for name, unseen in (("seen", False), ("unseen", True)):
        g = {e for e in gold if bool(unseen_of[e]) == unseen}
        p = {e for e in pred if bool(unseen_of[e]) == unseen}
        tp = len(g & p)
        precision = tp / len(p) if p else 0.0
        recall = tp / len(g) if g else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        groups[name] = {"gold": len(g), "predicted": len(p), "precision": precision, "recall": recall, "f1": f1}
    if not mentions:
        unseen_gold = [unseen_of[e] for e in gold if unseen_of[e]]
        covered = sum(all(k in featurizer.words for k in words) for words in unseen_gold)
        groups["unseen"]["covered"] = covered / len(unseen_gold) if unseen_gold else 0.0
    result = {"model": model_path, "data": data_path, "unseen_by": "mention" if mentions else "word", "groups": groups}
    if mentions and dictionary:
        result["recall_by_dictionary"] = _recall_by_dictionary(gold, pred, tokens, seen_mentions)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--train", action="append", required=True, help="a training file whose words count as seen (repeatable)"
    )
    parser.add_argument("--data", required=True, help="gold file to score")
    parser.add_argument("--model", action="append", required=True, help="model name or checkpoint (repeatable)")
    parser.add_argument("--mentions", action="store_true", help="unseen: the mention and type, not a word, is new")
    parser.add_argument(
        "--dictionary", action="store_true", help="with --mentions: recall by kind in jieba's dictionary too"
    )
    args = parser.parse_args()
    if args.dictionary and not args.mentions:
        parser.error("--dictionary needs --mentions")
    logging.basicConfig(level=logging.WARNING)
    for path in args.model:
        print(json.dumps(breakdown(path, args.train, args.data, args.mentions, args.dictionary)))


if __name__ == "__main__":
    main()
