"""Pretraining a character language model (:mod:`ner.charlm`) on raw text, for ``features.char_lm``.

Sentences come from labelled files (their tags are ignored) and from plain text files (one paragraph per
line, split into sentences as served text is), each sentence's tokens joined as the tagger will join them.
The forward model learns to predict each next character and the backward model each previous one, with an
adaptive softmax (Grave et al. 2017) over large vocabularies; a small share of the sentences is held out,
and the file keeps the weights with the lowest held-out loss.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ner.charlm import BOUNDARY, SEPARATORS, CharLM, CharLMSpec, save_char_lm
from ner.conll import read_conll
from ner.unlabelled import read_unlabelled
from ner.vocab import Vocab

logger = logging.getLogger(__name__)

CUTOFFS = (1000, 4000)  # adaptive softmax clusters (by frequency rank), where the vocabulary is larger


@dataclass(frozen=True)
class PretrainConfig:
    """Settings of one pretraining run (recorded in the file's training log, not in the model)."""

    embed_dim: int = 64
    hidden_size: int = 192  # per direction; tagging cost grows with it (docs/ACCURACY.md)
    min_count: int = 2  # characters seen fewer times read <unk>
    max_chars: int = 250  # longer sentences are cut into pieces of at most this many characters
    batch_size: int = 64
    lr: float = 0.002
    clip: float = 1.0
    dropout: float = 0.1  # on the states, before the prediction heads
    epochs: int = 2
    minutes: float = 0.0  # stop (and keep the best weights so far) after this many minutes; 0: no limit
    held_out: float = 0.01  # share of the sentences held out for the loss that picks the weights
    log_every: int = 500  # batches
    seed: int = 1
    threads: int = 0  # torch threads; 0: torch's default


class _Head(nn.Module):
    """Log-loss of a character given a state: an adaptive softmax over a large vocabulary, a plain one otherwise."""

    def __init__(self, hidden: int, num_chars: int) -> None:
        super().__init__()
        cutoffs = [c for c in CUTOFFS if c < num_chars - 1]
        self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(hidden, num_chars, cutoffs, div_value=4.0) if cutoffs else None
        self.linear = None if cutoffs else nn.Linear(hidden, num_chars)

    def forward(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood (nats) of ``targets`` (N,) given ``states`` (N, H)."""
        if self.adaptive is not None:
            return self.adaptive(states, targets).loss
        assert self.linear is not None
        return nn.functional.cross_entropy(self.linear(states), targets)


class LMObjective(nn.Module):
    """The language model (``lm``) with a prediction head per direction; its loss is the mean of the two
    directions' per-character losses."""

    def __init__(self, spec: CharLMSpec, dropout: float = 0.0) -> None:
        super().__init__()
        self.lm = CharLM.for_spec(spec)
        self.next_head = _Head(spec.hidden_size, len(spec.chars))
        self.previous_head = _Head(spec.hidden_size, len(spec.chars))
        self.dropout = nn.Dropout(dropout)
        self.boundary = spec.chars[BOUNDARY]

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """``chars``: (B, S) right-padded ids."""
        mask = chars != 0
        forward, backward = self.lm.states(chars)
        b, s = chars.shape
        pad = chars.new_zeros(b, 1)
        following = torch.cat([chars[:, 1:], pad], dim=1)
        last = torch.arange(s, device=chars.device).unsqueeze(0) == (mask.sum(dim=1, keepdim=True) - 1)
        following = following.masked_fill(last, self.boundary)
        preceding = torch.cat([pad + self.boundary, chars[:, :-1]], dim=1)
        return (
            self.next_head(self.dropout(forward[mask]), following[mask])
            + self.previous_head(self.dropout(backward[mask]), preceding[mask])
        ) / 2


def read_sentences(lang: str, labelled: Sequence[str | Path] = (), text: Sequence[str | Path] = ()) -> list[str]:
    """The sentences of labelled files and plain text files, each as the text the language model reads."""
    separator = SEPARATORS[lang]
    sentences = [separator.join(s.tokens) for path in labelled for s in read_conll(path).sentences]
    sentences += [separator.join(s.tokens) for path in text for s in read_unlabelled(path, lang)]
    return [s for s in sentences if s]


def pieces(sentences: Sequence[str], max_chars: int) -> list[str]:
    """Sentences cut into pieces of at most ``max_chars`` characters."""
    return [s[i : i + max_chars] for s in sentences for i in range(0, len(s), max_chars)]


def build_spec(sentences: Sequence[str], lang: str, config: PretrainConfig) -> CharLMSpec:
    """A spec whose vocabulary holds the characters seen at least ``min_count`` times, most frequent first."""
    counts = Counter(c for s in sentences for c in s)
    counts[BOUNDARY] = len(sentences)
    chars = Vocab.build(counts, min_count=config.min_count)
    return CharLMSpec(chars, config.embed_dim, config.hidden_size, SEPARATORS[lang])


def _batches(ids: Sequence[list[int]], batch_size: int, rng: random.Random) -> list[torch.Tensor]:
    """Shuffled batches of sequences of similar length, each (B, S) right-padded."""
    order = list(range(len(ids)))
    rng.shuffle(order)
    pool = batch_size * 50
    out = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(ids[i]))
        for b in range(0, len(chunk), batch_size):
            rows = [ids[i] for i in chunk[b : b + batch_size]]
            width = max(map(len, rows))
            out.append(torch.tensor([r + [0] * (width - len(r)) for r in rows], dtype=torch.long))
    rng.shuffle(out)
    return out


@torch.no_grad()
def held_out_loss(objective: LMObjective, batches: Sequence[torch.Tensor]) -> float:
    """Mean per-character loss (nats) over ``batches``."""
    objective.eval()
    total = chars = 0.0
    for batch in batches:
        n = int((batch != 0).sum())
        total += objective(batch).item() * n
        chars += n
    objective.train()
    return total / max(chars, 1.0)


def pretrain(sentences: Sequence[str], lang: str, out: str | Path, config: PretrainConfig) -> dict[str, float]:
    """Pretrain on ``sentences`` and write the best weights to ``out``; return the last figures logged."""
    if lang not in SEPARATORS:
        raise ValueError(f"no character language model for language {lang!r}; known: {', '.join(SEPARATORS)}")
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    texts = pieces(sentences, config.max_chars)
    if len(texts) < 2:
        raise ValueError("pretraining a character language model needs at least two sentences")
    rng.shuffle(texts)
    n_held = max(1, int(len(texts) * config.held_out))
    held, train_texts = texts[:n_held], texts[n_held:]
    spec = build_spec(train_texts, lang, config)
    objective = LMObjective(spec, config.dropout)
    train_ids = [spec.chars.lookup(t) for t in train_texts]
    held_batches = _batches([spec.chars.lookup(t) for t in held], config.batch_size, random.Random(0))
    optimizer = torch.optim.Adam(objective.parameters(), lr=config.lr)
    logger.info(
        "%d training and %d held-out pieces (%d characters), %d characters in the vocabulary, %d parameters",
        len(train_texts),
        len(held),
        sum(map(len, train_texts)),
        len(spec.chars),
        sum(p.numel() for p in objective.parameters()),
    )
    started = time.perf_counter()
    best = math.inf
    figures: dict[str, float] = {}
    out_of_time = False
    for epoch in range(1, config.epochs + 1):
        running = seen = 0.0
        for step, batch in enumerate(_batches(train_ids, config.batch_size, rng), 1):
            loss = objective(batch)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(objective.parameters(), config.clip)
            optimizer.step()
            n = float((batch != 0).sum())
            running += loss.item() * n
            seen += n
            if step % config.log_every == 0:
                logger.info(
                    "epoch %d batch %d: %.3f bits/char, %.0f s",
                    epoch,
                    step,
                    running / seen / math.log(2),
                    time.perf_counter() - started,
                )
                running = seen = 0.0
            if config.minutes and time.perf_counter() - started > config.minutes * 60:
                out_of_time = True
                break
        loss = held_out_loss(objective, held_batches)
        figures = {
            "epoch": epoch,
            "held_out_bits_per_char": loss / math.log(2),
            "seconds": time.perf_counter() - started,
        }
        logger.info(
            "epoch %d: held-out %.3f bits/char, %.0f s", epoch, figures["held_out_bits_per_char"], figures["seconds"]
        )
        if loss < best:
            best = loss
            save_char_lm(out, spec, objective.state_dict())
            logger.info("saved %s (%s)", out, asdict(config))
        if out_of_time:
            logger.info("stopped by the time limit (%.0f minutes)", config.minutes)
            break
    return figures
