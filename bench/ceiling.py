"""The ceiling: floating-point operations per token of the model, and this machine's matmul FLOP/s.

FLOPs are counted from the model's configuration, multiply-adds as two operations, for the matrix
products and convolutions that dominate (word BiLSTM, character CNN or BiLSTM, emission layer, CRF
recursions); elementwise work (activations, gates, masks) is left out, as is customary. The count
assumes each token's characters are encoded once per occurrence; deduplication within a batch
(ner/model.py) makes the real work smaller, so the achieved rate computed from it is an upper bound on
useful work only in that sense.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ner.model import BiLstmCrf


@dataclass(frozen=True)
class FlopCount:
    word_lstm: float
    char_encoder: float
    emission: float
    crf: float

    @property
    def total(self) -> float:
        return self.word_lstm + self.char_encoder + self.emission + self.crf

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"total": self.total}


def flops_per_token(model: BiLstmCrf, chars_per_token: float) -> FlopCount:
    """Matmul/conv FLOPs per token of one forward pass plus Viterbi and forward-backward."""
    f, cfg = model.features, model.config
    h = cfg.hidden_size
    d = model.lstm.input_size  # every feature the model concatenates, character encoder included
    char = 0.0
    if f.char_encoder == "cnn":
        char = 2 * f.char_dim * 3 * f.char_hidden * chars_per_token  # width-3 convolution per character
    elif f.char_encoder == "lstm":
        half = f.char_hidden // 2
        char = 2 * (2 * 4 * half * (f.char_dim + half)) * chars_per_token
    lstm = 0.0
    for layer in range(cfg.num_layers):
        inp = d if layer == 0 else 2 * h
        lstm += 2 * (2 * 4 * h * (inp + h))  # two directions, four gates, input and recurrent products
    k = len(model.labels)
    emission = 2 * 2 * h * k
    crf = 2 * k * k + 2 * (2 * k * k)  # Viterbi max-plus, then forward and backward matrix products
    return FlopCount(lstm, char, emission, crf)


def matmul_flops(m: int, k: int, n: int, seconds: float = 1.0) -> float:
    """Measured FLOP/s of ``(m×k) @ (k×n)`` in float32 with the current torch thread setting (median of runs)."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        torch.mm(a, b)
    rates = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(rates) < 5:
        began = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * m * k * n / (time.perf_counter() - began))
    return statistics.median(rates)
