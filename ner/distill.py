"""Training on the tag distribution of trained models (knowledge distillation, ``train.teachers``).

An ensemble of taggers is more accurate than its members when they disagree (Chinese MSRA: three models,
+0.76 F1 on test, docs/ACCURACY.md), but it costs each member's tagging time. Distillation moves part of
that gain into one model: besides the gold tags, the student learns the teachers' mean distribution over
tag paths. Each teacher is a linear-chain CRF, so the cross-entropy of a student path distribution P
against the teachers' mixture Q needs only Q's marginals of single tags and of tag pairs:

    -E_Q[log P(y)] = log Z  -  sum_t sum_k Q(y_t = k) e_t(k)  -  sum_t sum_{i,j} Q(y_t-1 = i, y_t = j) T(i, j)
                     - start and end terms,

the student's log-partition minus its expected path score (:func:`soft_nll`). The marginals are computed
once, before training, with every teacher's own features and document memory (:func:`teacher_marginals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ner import checkpoint
from ner.crf import ConstrainedCRF, Posteriors
from ner.features import memory_windows
from ner.pipeline import tag_posteriors
from ner.types import Sentence

# a teacher with a document memory computes the states of all the sentences it is given before any marginal
# (ner/pipeline.py): 1.6 kB a token for MSRA's, so the sentences go to it in runs of about this many
CHUNK_SENTENCES = 4096


@dataclass(frozen=True)
class SoftTargets:
    """The teachers' mean marginals for one sentence of n tokens and K tags (in the student's label order)."""

    unary: np.ndarray  # (n, K) float32: P(y_t = k)
    pairwise: np.ndarray  # (n, K, K) float16: P(y_t-1 = i, y_t = j), zeros at t = 0


def teacher_marginals(
    teachers: Sequence[str], sentences: Sequence[Sentence], labels: Sequence[str], batch_size: int = 64
) -> list[SoftTargets]:
    """The mean over ``teachers`` (shipped names or checkpoint folders) of each sentence's tag marginals.

    Every teacher must know exactly the student's ``labels`` (in any order): a teacher that cannot name a
    label has no distribution over it. Sentences are read as ``ner evaluate`` reads them, each in its
    document (``doc_id``) for teachers with a document memory.
    """
    if not teachers:
        raise ValueError("distillation needs at least one teacher")
    k = len(labels)
    scale = 1.0 / len(teachers)
    # Each teacher's share is added as it comes, the pairs straight in float16 (what training reads): float32
    # accumulators and their conversion took ~2.7 kB a token, 10 GB for MSRA train with 1.6M characters more.
    unary = [np.zeros((len(s.tokens), k), np.float32) for s in sentences]
    pairwise = [np.zeros((len(s.tokens), k, k), np.float16) for s in sentences]
    tokens = [s.tokens for s in sentences]
    docs = [s.doc_id for s in sentences]
    for name in teachers:
        model, featurizer, _ = checkpoint.load(name)
        if sorted(model.labels) != sorted(labels):
            raise ValueError(f"teacher {name} tags {sorted(model.labels)}; the training data needs {sorted(labels)}")
        order = np.array([model.labels.index(label) for label in labels])  # student tag -> teacher tag
        for chunk in _chunks(docs, featurizer.config.doc_memory):
            run = tag_posteriors(model, featurizer, [tokens[i] for i in chunk], [docs[i] for i in chunk], batch_size)
            for run_idx, post in run:
                _add(post, [chunk[j] for j in run_idx], tokens, order, scale, unary, pairwise)
    return [SoftTargets(u, p) for u, p in zip(unary, pairwise)]


def check_teacher_splits(teachers: Sequence[str], train_sha256: str, dev: dict[str, Any]) -> None:
    """Refuse teachers that were trained on this run's dev sentences.

    ``dev`` is the run's dev record (``config.json``'s ``data.dev``). When the run holds its dev split out of the
    training file, a teacher trained on the same file (same sha256) must have held out the same split (fraction,
    seed, block): otherwise its training sentences include this run's dev sentences, its soft targets carry
    their gold tags, and dev F1 is inflated. Teachers trained on other files, and runs given a dev file, are not
    checked (their overlap cannot be read off the records).

    Raises:
        ValueError: naming the teacher and both splits.
        CheckpointError: a teacher that cannot be found or read.
    """
    if "held_out_from_train" not in dev:
        return
    wanted = (dev["held_out_from_train"], dev.get("seed"), dev.get("block", 1))
    for name in teachers:
        data = checkpoint.read_config(name).get("data", {})
        if not isinstance(data.get("train"), dict) or data["train"].get("sha256") != train_sha256:
            continue
        held = data.get("dev", {})
        theirs = (held.get("held_out_from_train"), held.get("seed"), held.get("block", 1))
        if theirs != wanted:
            split = (
                f"held out {theirs[0]} (seed {theirs[1]}, block {theirs[2]})"
                if theirs[0] is not None
                else "was given a dev file and trained on all of it"
            )
            raise ValueError(
                f"teacher {name} was trained on the same file but {split}, and this run holds out {wanted[0]} "
                f"(seed {wanted[1]}, block {wanted[2]}): the teacher has seen this run's dev sentences, so dev F1 "
                "would be inflated. Train with the teachers' train.seed, train.dev_fraction and train.dev_block, "
                "or give --dev"
            )


def _chunks(docs: Sequence[object], doc_memory: int) -> list[list[int]]:
    """Sentence indices in runs of whole document-memory windows of about :data:`CHUNK_SENTENCES` sentences: a
    teacher with a memory holds a run's states at once, and its windows within a run are those over all sentences."""
    chunks: list[list[int]] = [[]]
    for window in memory_windows(docs, doc_memory):
        if len(chunks[-1]) >= CHUNK_SENTENCES:
            chunks.append([])
        chunks[-1].extend(window)
    return [chunk for chunk in chunks if chunk]


def _add(
    post: Posteriors,
    idx: Sequence[int],
    tokens: Sequence[Sequence[str]],
    order: np.ndarray,
    scale: float,
    unary: list[np.ndarray],
    pairwise: list[np.ndarray],
) -> None:
    """Add ``scale`` times one batch's marginals (rows: sentences ``idx``) to the sentences' sums."""
    marg = post.marginals().numpy()  # (B, T, K)
    alpha, beta, em = post.alpha.numpy(), post.beta.numpy(), post.emissions.numpy()
    trans, log_z = post.transitions.numpy(), post.log_z.numpy()
    # shape: (B, T-1, K, K): P(y_t-1 = i, y_t = j) = exp(alpha_t-1(i) + T(i,j) + e_t(j) + beta_t(j) - log Z)
    pair = np.exp(alpha[:, :-1, :, None] + trans[None, None] + (em + beta)[:, 1:, None, :] - log_z[:, None, None, None])
    for row, i in enumerate(idx):
        n = len(tokens[i])
        unary[i] += marg[row, :n][:, order] * scale
        pairwise[i][1:] += (pair[row, : n - 1][:, order][:, :, order] * scale).astype(np.float16)


def collate_targets(targets: Sequence[SoftTargets], length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch's soft targets padded to ``length`` tokens: (B, T, K) and (B, T, K, K), zeros at padding."""
    k = targets[0].unary.shape[1]
    unary = torch.zeros(len(targets), length, k)
    pairwise = torch.zeros(len(targets), length, k, k)
    for row, target in enumerate(targets):
        n = len(target.unary)
        unary[row, :n] = torch.from_numpy(target.unary)
        pairwise[row, :n] = torch.from_numpy(target.pairwise.astype(np.float32))
    return unary, pairwise


def soft_nll(
    crf: ConstrainedCRF,
    emissions: torch.Tensor,
    mask: torch.Tensor,
    unary: torch.Tensor,
    pairwise: torch.Tensor,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy of the CRF's path distribution against soft targets: the mean per sentence, or with
    ``reduction="none"`` each sentence's, (B,).

    Args:
        crf: the student's CRF (its pinned transitions: a forbidden pair has target probability 0).
        emissions: (B, T, K) the student's tag scores.
        mask: (B, T) bool, each row a prefix of True values with the first one on.
        unary: (B, T, K) target P(y_t = k), zeros at padding.
        pairwise: (B, T, K, K) target P(y_t-1 = i, y_t = j), zeros at t = 0 and at padding.
    """
    # shape: (B,): log-partition of each sentence (pytorch-crf's forward algorithm, time first)
    log_z = crf._compute_normalizer(emissions.transpose(0, 1), mask.transpose(0, 1))
    lengths = mask.sum(dim=1)
    rows = torch.arange(mask.shape[0])
    expected = (
        (unary * emissions).sum(dim=(1, 2))
        + (pairwise * crf.transitions).sum(dim=(1, 2, 3))
        + unary[:, 0] @ crf.start_transitions
        + (unary[rows, lengths - 1] * crf.end_transitions).sum(dim=1)
    )
    per_sentence = log_z - expected
    return per_sentence if reduction == "none" else per_sentence.mean()
