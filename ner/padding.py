"""Helpers for right-padded batches of sequences, shared by the tagger's BiLSTM and the character LM."""

from __future__ import annotations

import torch


def reverse_index(mask: torch.Tensor) -> torch.Tensor:
    """(B, T) positions that reverse each row's real tokens in place and leave its padding where it is.

    ``x.gather(1, idx)`` turns ``[a, b, c, pad]`` into ``[c, b, a, pad]``; applying it twice is the identity.
    """
    b, t = mask.shape
    lengths = mask.sum(dim=1, keepdim=True)
    pos = torch.arange(t, device=mask.device).expand(b, t)
    return torch.where(pos < lengths, lengths - 1 - pos, pos)
