"""Data-parallel training under ``torchrun``: the process group, sharding, and rank-0-only side effects.

``torchrun`` starts one process per rank and sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`process_group` joins them with the gloo backend (CPU) when ``WORLD_SIZE > 1``
and gives a :class:`World` (rank 0 of 1 otherwise, touching nothing). Every rank builds the same data,
vocabularies and initial weights from the same files and seed (DDP also broadcasts rank 0's weights
when it wraps the model), walks the same shuffled list of batches each epoch, and trains on its own
slice of it (:meth:`World.shard`): the global batch is ``batch_size * world_size`` and the learning
rate applies to the gradient averaged over it. Rank 0 alone evaluates, logs and saves; the others
wait for its early-stopping decision (:meth:`World.broadcast_flag`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that evaluates, logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def shard(self, batches: Sequence[T]) -> list[T]:
        """This rank's batches: every ``size``-th from ``rank`` on, after dropping the last
        ``len(batches) % size`` so that every rank takes the same number of steps (DDP's all-reduce
        is collective: a rank with one step more would wait forever)."""
        usable = len(batches) - len(batches) % self.size
        return list(batches[self.rank : usable : self.size])

    def sum(self, value: float) -> float:
        """``value`` summed over all ranks (every rank gets the total)."""
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return float(t.item())

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's ``flag`` on every rank (also a synchronisation point: the others wait for rank 0)."""
        if not self.distributed:
            return flag
        t = torch.tensor([int(flag)], dtype=torch.int64)
        dist.broadcast(t, src=0)
        return bool(t.item())

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def wrap(self, model: nn.Module, seed: int) -> nn.Module:
        """``model`` itself in one process; else a DDP wrapper whose ``loss(batch)`` all-reduces gradients.

        DDP broadcasts rank 0's weights here, so every rank starts from the same model. Afterwards each
        rank's random stream is reseeded with ``seed + rank``: dropout masks differ between ranks, as
        they would between the batches of one process.
        """
        if not self.distributed:
            return model
        # Buffers (the CRF's transition masks, the fixed pretrained word rows) are constants built
        # identically on every rank: broadcasting them at every step would only cost time.
        net = _DataParallelLoss(_LossOf(model), broadcast_buffers=False)
        torch.manual_seed(seed + self.rank)
        return net


class _LossOf(nn.Module):
    """The model's ``loss`` as ``forward``: DDP hooks its gradient all-reduce onto ``forward`` only."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> torch.Tensor:
        return self.model.loss(batch)


class _DataParallelLoss(DistributedDataParallel):
    """DDP over :class:`_LossOf`, with the ``loss(batch)`` method the training loop calls."""

    def loss(self, batch: Any) -> torch.Tensor:
        return self(batch)


def world_from_env() -> World:
    """Rank and world size from torchrun's ``RANK`` and ``WORLD_SIZE`` (rank 0 of 1 without them)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"RANK={rank} must lie in [0, WORLD_SIZE={size})")
    return World(rank, size)


def current_world() -> World:
    """The :class:`World` of the process group in force (rank 0 of 1 when there is none)."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


@contextmanager
def process_group() -> Iterator[World]:
    """The training processes' :class:`World`, with a gloo process group while ``WORLD_SIZE > 1``.

    A group someone else already started (a test, a launcher) is used as it is and left running;
    one started here is destroyed on the way out, also after an error.
    """
    if dist.is_available() and dist.is_initialized():
        yield current_world()
        return
    world = world_from_env()
    if not world.distributed:
        yield world
        return
    dist.init_process_group(backend="gloo", rank=world.rank, world_size=world.size)  # env:// rendezvous
    try:
        yield world
        dist.barrier()  # nobody leaves while another rank still needs the group
    finally:
        dist.destroy_process_group()


def in_process_group(fn: Callable[P, T]) -> Callable[P, T]:
    """Run ``fn`` inside :func:`process_group` (``fn`` finds its rank with :func:`current_world`)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with process_group():
            return fn(*args, **kwargs)

    return run
