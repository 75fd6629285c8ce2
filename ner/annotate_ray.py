"""Bulk annotation on Ray Data: the windows of :mod:`ner.annotate`, tagged by a pool of actors.

``read (a Datasource: one row per window of lines) → map_batches(Annotator, actor pool) → driver``.
Each actor loads the model once, in ``__init__``, and pins torch to ``threads_per_worker`` threads. Read
tasks cut the input at window boundaries found by one pass of the driver over the file (the offsets
of every ``WINDOWS_PER_READ``-th window: a few integers per thousand lines), so the windows are the
single-process engine's windows and the output, written by the driver in input order (Ray Data's
``preserve_order``), is byte for byte the single-process output.

The input must be a file the workers can read at the same path (on a cluster: shared storage); the
model must be loadable on every node (a shipped name, or a checkpoint on shared storage).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ner.annotate import (
    STDIO,
    Format,
    Summary,
    Window,
    annotate_window,
    atomic_output,
    detect_format,
    progress_bar,
    read_lines,
    windows,
    write_windows,
)

if TYPE_CHECKING:
    import numpy as np

WINDOWS_PER_READ = 16  # windows per read task: small enough to keep memory flat, large enough to amortise a task
INSTALL_HINT = "the Ray engine needs Ray: pip install -e '.[ray]' -c constraints.txt (or pip install 'ray[data]')"


def require_ray() -> Any:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (ray without the data extra lacks pandas/pyarrow pieces)
    except ImportError as e:
        raise ImportError(f"{INSTALL_HINT} ({e})") from None
    return ray


def read_offsets(path: str | Path, lines_per_read: int) -> list[tuple[int, int, int]]:
    """``(first line number, byte offset, line count)`` of each read task's stretch of the file."""
    stretches: list[tuple[int, int, int]] = []
    offset = 0
    with open(path, "rb") as f:
        first = 1
        while True:
            start, count = offset, 0
            for raw in f:
                offset += len(raw)
                count += 1
                if count == lines_per_read:
                    break
            if not count:
                return stretches
            stretches.append((first, start, count))
            first += count


def _read_task(path: str, first: int, offset: int, count: int, batch_size: int) -> list[Any]:
    """A one-row block per window (first line number, the window's lines joined by ``\\n``), so that
    Ray can hand each window to whichever actor is free."""
    import pyarrow as pa

    with open(path, "rb") as f:
        f.seek(offset)
        numbered = ((first + i, raw) for i, (_, raw) in zip(range(count), read_lines(f)))
        return [
            pa.table({"first_line": [w[0][0]], "lines": pa.array([b"\n".join(raw for _, raw in w)], pa.binary())})
            for w in windows(numbered, batch_size)
        ]


def _datasource(path: str, batch_size: int) -> Any:
    """A Ray Data datasource over the windows of ``path`` (the class is built here: Ray is optional)."""
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask

    class LineWindows(Datasource):
        def __init__(self) -> None:
            super().__init__()
            self.size = Path(path).stat().st_size

        def estimate_inmemory_data_size(self) -> int:
            return self.size

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None):
            tasks = []
            for first, offset, count in read_offsets(path, batch_size * WINDOWS_PER_READ):

                def read(first: int = first, offset: int = offset, count: int = count) -> list[Any]:
                    return _read_task(path, first, offset, count, batch_size)

                rows = -(-count // batch_size)
                meta = BlockMetadata(num_rows=rows, size_bytes=None, input_files=[path], exec_stats=None)
                tasks.append(ReadTask(read, meta))
            return tasks

    return LineWindows()


class Annotator:
    """A Ray Data actor: loads the model once, then annotates one window per row."""

    def __init__(self, model: str, fmt: Format, threads: int) -> None:
        import torch

        from ner.pipeline import Tagger

        torch.set_num_threads(threads)  # explicit: an actor must not take every core of its node
        self.tagger = Tagger.load(model)
        self.fmt = fmt

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"first_line": [], "records": [], "errors": []}
        for first, joined in zip(batch["first_line"], batch["lines"]):
            lines = list(enumerate(bytes(joined).split(b"\n"), start=int(first)))
            window = annotate_window(self.tagger, lines, self.fmt)
            out["first_line"].append(window.first_line)
            out["records"].append("\n".join(window.records))
            out["errors"].append(json.dumps(window.errors, ensure_ascii=False))  # a plain column: no list types
        return out


def _windows_in_order(rows: Any) -> Any:
    """Windows from the driver's batches, checking they arrive in input order."""
    expected = 1
    for batch in rows:
        for first, records, errors in zip(batch["first_line"], batch["records"], batch["errors"]):
            if int(first) != expected:
                raise RuntimeError(f"Ray returned the window of line {first} where line {expected} was due")
            window = Window(int(first), str(records).split("\n"), [(n, r) for n, r in json.loads(str(errors))])
            expected += len(window.records)
            yield window


def annotate_ray(
    model: str | Path,
    input_path: str | Path,
    output_path: str | Path,
    fmt: str | None = None,
    batch_size: int = 64,
    skip_errors: bool = False,
    workers: int = 2,
    threads_per_worker: int = 1,
    address: str | None = None,
    progress: bool | None = None,
) -> Summary:
    """Annotate ``input_path`` into ``output_path`` with ``workers`` Ray actors.

    Args:
        model: a shipped model name or a checkpoint directory every worker can read.
        input_path: a text or JSON lines file every worker can read at this path (not stdin).
        output_path: written by this process through :func:`ner.annotate.atomic_output`; ``-`` is stdout.
        fmt, batch_size, skip_errors, progress: as for :func:`ner.annotate.annotate`.
        workers: actors in the pool, each holding one copy of the model.
        threads_per_worker: torch threads (and Ray CPUs) per actor.
        address: an existing Ray cluster (``auto``, ``HOST:6379``, ``ray://HOST:10001``); ``None`` starts a
            local one with ``workers * threads_per_worker`` CPUs and stops it afterwards.
    """
    if str(input_path) == STDIO:
        raise ValueError("--engine ray reads the input file from its workers: give a file path, not -")
    if not Path(input_path).is_file():
        raise FileNotFoundError(f"{input_path}: no such input file")
    if workers < 1 or threads_per_worker < 1 or batch_size < 1:
        raise ValueError("workers, threads per worker and batch size must be positive")
    from ner.checkpoint import resolve

    resolve(model)  # fail here, not in every actor, on a bad model name
    # A shipped name is resolved by each worker's own install; a directory is passed as an absolute path.
    model_arg = str(Path(model).resolve()) if Path(model).exists() else str(model)
    form = detect_format(input_path, fmt)
    ray = require_ray()
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # our bar and summary report progress
    if address is None:
        ray.init(
            address="local",  # a new instance, never one a stale `ray start` or RAY_ADDRESS points to
            num_cpus=workers * threads_per_worker,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    else:
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False  # ours counts lines
        path = str(Path(input_path).resolve())
        started = time.perf_counter()
        # Reading is light I/O: it must not wait for a CPU the actors hold, and one reader at a time keeps
        # up (each read task's worker process imports torch with ner: many at once would only compete).
        ds = ray.data.read_datasource(_datasource(path, batch_size), num_cpus=0, concurrency=1)
        ds = ds.map_batches(
            Annotator,
            fn_constructor_kwargs={"model": model_arg, "fmt": form, "threads": threads_per_worker},
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=threads_per_worker,
        )
        with atomic_output(output_path) as out, progress_bar(input_path, progress) as bar:
            rows = ds.iter_batches(batch_size=None, batch_format="numpy")
            written = write_windows(_windows_in_order(rows), out, str(input_path), skip_errors, bar)
        return Summary.of(written, started)
    finally:
        ray.shutdown()
