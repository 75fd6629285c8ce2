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
from dataclasses import dataclass

import numpy as np
import torch
from torchcrf import CRF

FORBIDDEN = -10000.0


@dataclass(frozen=True)
class Posteriors:
    """Forward-backward results for a batch: everything needed for marginals and span probabilities.

    ``alpha[b, t, k]``: log of the summed scores of all tag prefixes that end in tag k at step t (emission
    at t included). ``beta[b, t, k]``: log of the summed scores of all continuations from tag k at step t
    to the end of the sentence (emission at t excluded, end transition included). ``log_z[b]``: the
    log-partition function. Positions beyond a sentence's length hold meaningless values.
    """

    alpha: torch.Tensor  # (B, T, K)
    beta: torch.Tensor  # (B, T, K)
    log_z: torch.Tensor  # (B,)
    emissions: torch.Tensor  # (B, T, K)
    transitions: torch.Tensor  # (K, K)
    mask: torch.Tensor  # (B, T) bool

    def marginals(self) -> torch.Tensor:
        """P(y_t = k | x), (B, T, K); each real position sums to one, padding is zero."""
        # shape: (B, T, K)
        log_p = self.alpha + self.beta - self.log_z[:, None, None]
        return log_p.exp() * self.mask.unsqueeze(2)

    def segment_log_prob(self, row: int, start: int, tags: Sequence[int]) -> float:
        """log P(y[start : start + len(tags)] == tags | x) for sentence ``row`` of the batch.

        The probability, summed over every full tag path, that the given steps carry exactly these tags;
        for an entity's B..E (or S) tags it is the probability of that entity span with that label.
        """
        if not tags:
            raise ValueError("segment_log_prob needs at least one tag")
        end = start + len(tags) - 1
        score = self.alpha[row, start, tags[0]] + self.beta[row, end, tags[-1]] - self.log_z[row]
        for i in range(1, len(tags)):
            score = score + self.transitions[tags[i - 1], tags[i]] + self.emissions[row, start + i, tags[i]]
        return float(score.detach())

    def segment_log_probs(
        self, paths: torch.Tensor, rows: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor
    ) -> torch.Tensor:
        """:meth:`segment_log_prob` for many segments at once, each segment's tags read from ``paths``.

        Args:
            paths: (B, T) tag ids, e.g. the Viterbi paths of the batch.
            rows, starts, ends: (N,) the sentence of each segment and its steps ``start <= i < end``.
        Returns:
            (N,) log P(y[start:end] == paths[row, start:end] | x).
        """
        if len(rows) == 0:
            return self.log_z.new_zeros(0)
        # shape: (B, T): score of step i on the path, given step i-1 (step 0 scores nothing)
        emitted = self.emissions[:, 1:].gather(2, paths[:, 1:, None])[..., 0]
        step = self.transitions[paths[:, :-1], paths[:, 1:]] + emitted
        within = torch.cat([step.new_zeros(paths.shape[0], 1), step.cumsum(dim=1)], dim=1)
        last = ends - 1
        first_tag, last_tag = paths[rows, starts], paths[rows, last]
        return (
            self.alpha[rows, starts, first_tag]
            + self.beta[rows, last, last_tag]
            - self.log_z[rows]
            + within[rows, last]
            - within[rows, starts]
        )


def _numpy(t: torch.Tensor, dtype: np.dtype | type | None = None) -> np.ndarray:
    """A tensor's values as a NumPy array (on the CPU, outside autograd), optionally as ``dtype``."""
    a = t.detach().cpu().numpy()
    return a if dtype is None else a.astype(dtype, copy=False)


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

    def posteriors(self, emissions: torch.Tensor, mask: torch.Tensor) -> Posteriors:
        """Forward-backward over the batch (log space), under the same pinned transitions as decoding.

        Args:
            emissions: (B, T, K) scores.
            mask: (B, T) bool, each row a prefix of True values with the first one on.
        """
        # The recursions loop over time steps in NumPy, whose per-operation cost is a fraction of torch's:
        # it dominates for short sentences and small batches. Float64, because they run in scaled exp
        # space (a matrix product per step), where float32 would underflow for tags ~90 nats below the best.
        em = _numpy(emissions, np.float64)
        on = _numpy(mask)
        trans = _numpy(self.transitions, np.float64)
        end = _numpy(self.end_transitions, np.float64)
        b, t, k = em.shape
        alpha = np.empty((b, t, k))
        beta = np.empty((b, t, k))
        log_z = np.zeros(b)
        if t:
            weights = np.exp(trans)  # (K, K); forbidden transitions become exact zeros
            alpha[:, 0] = _numpy(self.start_transitions, np.float64) + em[:, 0]
            with np.errstate(divide="ignore"):  # log(0) = -inf for tags no allowed path reaches
                for i in range(1, t):
                    prev = alpha[:, i - 1]
                    top = prev.max(axis=1, keepdims=True)
                    # shape: (B, K): log sum over the previous tag of exp(prefix score + transition), plus emission
                    step = top + np.log(np.exp(prev - top) @ weights) + em[:, i]
                    # Padded steps carry the last real value forward, so alpha[:, -1] ends every row.
                    alpha[:, i] = np.where(on[:, i, None], step, prev)
                last = alpha[:, -1] + end
                top = last.max(axis=1)
                log_z = top + np.log(np.exp(last - top[:, None]).sum(axis=1))
                beta[:, -1] = end
                for i in range(t - 2, -1, -1):
                    after = em[:, i + 1] + beta[:, i + 1]
                    top = after.max(axis=1, keepdims=True)
                    # shape: (B, K): log sum over the next tag of exp(transition + its emission + continuation)
                    step = top + np.log(np.exp(after - top) @ weights.T)
                    # A row whose next step is padding ends here: only the end transition follows.
                    beta[:, i] = np.where(on[:, i + 1, None], step, end)
        return Posteriors(*(torch.from_numpy(a) for a in (alpha, beta, log_z, em, trans)), mask.detach().cpu())

    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Best tag path per sentence, decoded for the whole batch at once (backtracking included).

        Args:
            emissions: (B, T, K) scores.
            mask: (B, T) bool, each row a prefix of True values with the first one on.
        """
        paths = self.viterbi_paths(emissions, mask).tolist()
        return [row[:n] for row, n in zip(paths, mask.sum(dim=1).tolist())]

    def viterbi_paths(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """:meth:`viterbi` as a (B, T) tensor of tag ids, zeros beyond each row's length (NumPy inside,
        for the same reason as :meth:`posteriors`)."""
        em = _numpy(emissions)
        on = _numpy(mask)
        b, t, _ = em.shape
        if t == 0:
            return torch.zeros(b, 0, dtype=torch.long)
        trans = _numpy(self.transitions)
        # shape: (B, K): best score of any path ending in each tag at step 0
        score = _numpy(self.start_transitions) + em[:, 0]
        history = np.empty((t, b, em.shape[2]), dtype=np.int64)
        for i in range(1, t):
            # shape: (B, K, K): extend every path ending in tag p (dim 1) with tag n (dim 2)
            candidates = score[:, :, None] + trans
            history[i] = candidates.argmax(axis=1)
            best = np.take_along_axis(candidates, history[i][:, None, :], axis=1)[:, 0] + em[:, i]
            # Padded steps keep the previous score, so each row ends at its own last token.
            score = np.where(on[:, i, None], best, score)
        score = score + _numpy(self.end_transitions)
        lengths = on.sum(axis=1)
        # shape: (B,): the tag each path ends with
        last = score.argmax(axis=1)
        paths = np.zeros((b, t), dtype=np.int64)
        rows = np.arange(b)
        current = last
        for i in range(t - 1, -1, -1):
            # Rows shorter than i+1 have not started their backtrack yet: hold their final tag.
            active = i <= lengths - 1
            current = np.where(i == lengths - 1, last, current)
            paths[:, i] = np.where(active, current, 0)
            if i > 0:
                current = np.where(active, history[i][rows, current], current)
        return torch.from_numpy(paths)
