"""F1 of an ensemble of checkpoints: the mean of their tag marginals, decoded under the BIOES constraints.

    python scripts/ensemble_eval.py --data ../shared/data/conll2003/dev.txt \
        --model runs/en-att64-s1/model --model runs/en-att64-s2/model --model runs/en-att64-s3/model

Each model scores every sentence as ``ner evaluate`` does (documents and memory windows included); its
forward-backward marginals P(y_t = k | x) are averaged over the models, and the path with the highest sum of
log mean marginals among the valid BIOES paths is the ensemble's. Prints each model's F1, the F1 of every
ensemble of two or more of them in the given order (the first 2, the first 3, ...), and one JSON line each.
An ensemble costs the sum of its models' tagging time: it measures what distilling it could be worth.
``--dev-split SEED`` scores the 5% of a training file that ``ner train`` holds out with that seed instead.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from ner import checkpoint
from ner.conll import read_conll
from ner.crf import ConstrainedCRF
from ner.evaluate import score
from ner.features import pack_sentences
from ner.pipeline import tag_posteriors
from ner.tags import allowed_transitions
from ner.train import split_dev


def marginals(name: str, sentences: list) -> tuple[list[str], list[np.ndarray]]:
    """The model's labels and its (T, K) tag marginals of each sentence."""
    model, featurizer, _ = checkpoint.load(name)
    tokens = [s.tokens for s in sentences]
    out: list[np.ndarray] = [np.zeros((0, len(model.labels))) for _ in sentences]
    for idx, posteriors in tag_posteriors(model, featurizer, tokens, [s.doc_id for s in sentences]):
        p = posteriors.marginals().numpy()
        for row, i in enumerate(idx):
            out[i] = p[row, : len(tokens[i])]
    return list(model.labels), out


def constrained_decode(log_p: np.ndarray, labels: list[str]) -> list[str]:
    """The valid BIOES path with the highest sum of ``log_p`` (T, K): the project's constrained Viterbi
    (:class:`~ner.crf.ConstrainedCRF`) with every allowed transition scored 0."""
    crf = ConstrainedCRF(*allowed_transitions(labels))
    for name in ("transitions", "start_transitions", "end_transitions"):
        torch.nn.init.zeros_(crf._parameters[name])
    path = crf.viterbi(torch.from_numpy(log_p)[None], torch.ones(1, len(log_p), dtype=torch.bool))[0]
    return [labels[k] for k in path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--dev-split", type=int, default=None, help="score ner train's held-out 5%% of --data")
    parser.add_argument(
        "--entity-bias", type=float, nargs="+", default=[0.0], help="added to the log marginal of every tag but O"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    sentences = read_conll(args.data).sentences
    if args.dev_split is not None:
        sentences = split_dev(sentences, 0.05, args.dev_split, 1)[1]
    sequences = pack_sentences(sentences, 0)
    gold = [s.tags for s in sequences]
    labels, per_model = None, []
    for name in args.model:
        model_labels, p = marginals(name, sequences)
        if labels is None:
            labels = model_labels
        order = [model_labels.index(label) for label in labels]
        per_model.append([m[:, order] for m in p])
    bias = np.array([0.0 if label == "O" else 1.0 for label in labels])
    runs = [[i] for i in range(len(per_model))] + [list(range(n)) for n in range(2, len(per_model) + 1)]
    for members in runs:
        mean = [sum(per_model[j][i] for j in members) / len(members) for i in range(len(sequences))]
        for b in args.entity_bias:
            pred = [constrained_decode(np.log(m + 1e-12) + b * bias, labels) if len(m) else [] for m in mean]
            result = score(gold, pred)
            row = {"models": [args.model[j] for j in members], "entity_bias": b}
            row.update({k: round(result[k], 4) for k in ("f1", "precision", "recall")})
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
