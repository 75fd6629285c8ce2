"""A linear-chain CRF whose forbidden transitions are pinned: pytorch-crf plus constraints.

:class:`ConstrainedCRF` subclasses ``torchcrf.CRF`` so the likelihood is pytorch-crf's own. The
raw parameters keep their names (``transitions``, ``start_transitions``, ``end_transitions``) in
the state dict, but every read goes through a property that overwrites the forbidden entries with
:data:`FORBIDDEN`. Forbidden entries therefore get no gradient and can never be learned, saved or
loaded into a legal score, and no decoding can emit an invalid BIOES sequence.

Shapes: B batch, T time steps, K tags. Inputs are batch-first.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchcrf import CRF

FORBIDDEN = -10000.0


class ConstrainedCRF(CRF):
    """``torchcrf.CRF`` (batch-first) with transitions restricted by boolean allow-masks."""

    def __init__(self, allowed_start: Sequence[bool], allowed_end: Sequence[bool], allowed: Sequence[Sequence[bool]]):
        super().__init__(len(allowed_start), batch_first=True)
        self.register_buffer("start_forbidden", ~torch.tensor(allowed_start, dtype=torch.bool), persistent=False)
        self.register_buffer("end_forbidden", ~torch.tensor(allowed_end, dtype=torch.bool), persistent=False)
        self.register_buffer("trans_forbidden", ~torch.tensor(allowed, dtype=torch.bool), persistent=False)

    def _pinned(self, name: str, forbidden: str) -> torch.Tensor:
        param = self._parameters.get(name)
        if param is None or forbidden not in self._buffers:
            # Still inside CRF.__init__: report "no such attribute" so registration goes ahead.
            raise AttributeError(name)
        return param.masked_fill(self._buffers[forbidden], FORBIDDEN)

    # The properties shadow the registered parameters of the same names; pytorch-crf reads these.
    @property  # type: ignore[override]
    def transitions(self) -> torch.Tensor:  # (K, K): score of moving from tag i to tag j
        return self._pinned("transitions", "trans_forbidden")

    @property  # type: ignore[override]
    def start_transitions(self) -> torch.Tensor:  # (K,)
        return self._pinned("start_transitions", "start_forbidden")

    @property  # type: ignore[override]
    def end_transitions(self) -> torch.Tensor:  # (K,)
        return self._pinned("end_transitions", "end_forbidden")

    def reset_parameters(self) -> None:
        for name in ("start_transitions", "end_transitions", "transitions"):
            torch.nn.init.uniform_(self._parameters[name], -0.1, 0.1)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per sentence. emissions (B, T, K), tags (B, T), mask (B, T) bool."""
        return -self(emissions, tags, mask=mask, reduction="mean")

    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Best tag path per sentence, decoded for the whole batch at once (backtracking included).

        Args:
            emissions: (B, T, K) scores.
            mask: (B, T) bool, each row a prefix of True values with the first one on.
        """
        b, t, _ = emissions.shape
        if t == 0:
            return [[] for _ in range(b)]
        trans = self.transitions
        # shape: (B, K): best score of any path ending in each tag at step 0
        score = self.start_transitions + emissions[:, 0]
        history = []
        for i in range(1, t):
            # shape: (B, K, K): extend every path ending in tag p (dim 1) with tag n (dim 2)
            candidates = score.unsqueeze(2) + trans + emissions[:, i].unsqueeze(1)
            best, idx = candidates.max(dim=1)
            # Padded steps keep the previous score, so each row ends at its own last token.
            score = torch.where(mask[:, i].unsqueeze(1), best, score)
            history.append(idx)
        score = score + self.end_transitions
        lengths = mask.sum(dim=1)
        # shape: (B,): the tag each path ends with
        last = score.argmax(dim=1)
        paths = torch.zeros(b, t, dtype=torch.long, device=emissions.device)
        rows = torch.arange(b, device=emissions.device)
        current = last
        for i in range(t - 1, -1, -1):
            # Rows shorter than i+1 have not started their backtrack yet: hold their final tag.
            active = i <= lengths - 1
            at_end = i == lengths - 1
            current = torch.where(at_end, last, current)
            paths[:, i] = torch.where(active, current, 0)
            if i > 0:
                prev = history[i - 1][rows, current]
                current = torch.where(active, prev, current)
        return [paths[r, : int(lengths[r])].tolist() for r in range(b)]
