"""Bulk annotation: a file of text lines or JSON lines in, one JSON line of entities out per input line.

Lines are read as bytes, numbered, and cut into *windows* of ``batch_size`` lines; each window is
decoded, parsed, tagged and serialised by :func:`annotate_window`, then written in input order. Only
one window (plus the writer's buffer) is in memory at a time, whatever the size of the input. The
Ray engine (:mod:`ner.annotate_ray`) runs the same :func:`annotate_window` on the same windows in
actors and writes through the same :func:`write_windows`, so both engines give the same bytes.

Output records are the input record with ``entities`` added (``{"text", "entities"}`` for plain
text; for JSON lines every other field is passed through, and an ``entities`` field in the input is
replaced). A line that cannot be read (not UTF-8, not a JSON object, no string ``text``) stops the run
with ``FILE:LINE: reason``; with ``skip_errors`` it becomes ``{"line": N, "error": reason}`` and the
run goes on. The output file appears only when the run completes: it is written to a hidden
temporary file next to it and renamed into place (``-`` writes to stdout as it goes).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

from tqdm import tqdm

from ner.pipeline import Tagger

Format = Literal["text", "jsonl"]
FORMATS: tuple[str, ...] = ("text", "jsonl")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
STDIO = "-"

Line = tuple[int, bytes]  # (1-based line number, the line's bytes without its b"\n")


class AnnotateError(ValueError):
    """An input line that cannot be annotated: ``str(e)`` is ``FILE:LINE: reason``."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source, self.line, self.reason = source, line, reason


@dataclass
class Window:
    """The output of one window of input lines, in input order."""

    first_line: int
    records: list[str]  # one serialised JSON object per input line (an error record for a bad one)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason) of bad lines


@dataclass(frozen=True)
class Written:
    """What :func:`write_windows` wrote, and when its first window arrived (``time.perf_counter()``)."""

    lines: int = 0
    errors: int = 0
    first_window_at: float = 0.0


@dataclass(frozen=True)
class Summary:
    """What an annotation run did. ``warmup_seconds`` is the wait for the first window to be written
    (for Ray: scheduling, and the actors starting and loading the model)."""

    lines: int
    errors: int
    seconds: float
    warmup_seconds: float = 0.0

    @classmethod
    def of(cls, written: Written, started: float) -> Summary:
        warmup = written.first_window_at - started if written.lines else 0.0
        return cls(written.lines, written.errors, time.perf_counter() - started, warmup)

    @property
    def lines_per_second(self) -> float:
        return self.lines / max(self.seconds, 1e-9)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "lines_per_second": round(self.lines_per_second, 1),
            "warmup_seconds": round(self.warmup_seconds, 3),
        }


def detect_format(path: str | Path, fmt: str | None) -> Format:
    """``fmt`` if given, else ``jsonl`` for ``.jsonl``/``.ndjson`` files and ``text`` otherwise."""
    if fmt is None:
        return "jsonl" if str(path).lower().endswith(JSONL_SUFFIXES) else "text"
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt  # type: ignore[return-value]


def parse_record(raw: bytes, fmt: Format) -> dict[str, Any]:
    """The input record of one line (``{"text": line}`` for plain text).

    Raises:
        ValueError: the line is not UTF-8, not a JSON object, or has no string ``text``.
    """
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8: byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the line") from None
    if line.endswith("\r"):
        line = line[:-1]  # CRLF files
    if fmt == "text":
        return {"text": line}
    if not line.strip():
        raise ValueError('empty line: JSON lines need one object per line, e.g. {"text": "..."}')
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e.msg} at column {e.colno}") from None
    if not isinstance(record, dict):
        raise ValueError(f'expected a JSON object with a "text" field, got {type(record).__name__}')
    if "text" not in record:
        raise ValueError('missing "text" field')
    if not isinstance(record["text"], str):
        raise ValueError(f'"text" must be a string, got {type(record["text"]).__name__}')
    if "\\u" in line:  # only an escape can smuggle in a lone surrogate, which UTF-8 output cannot hold
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a string holds a lone UTF-16 surrogate (e.g. \\ud800): not a character") from None
    return record


def error_record(line: int, reason: str) -> str:
    """The output line that stands for an input line skipped with ``skip_errors``."""
    return json.dumps({"line": line, "error": reason}, ensure_ascii=False)


def annotate_window(tagger: Tagger, lines: Sequence[Line], fmt: Format) -> Window:
    """Parse, tag and serialise one window of numbered lines (bad lines become error records)."""
    parsed: list[dict[str, Any] | None] = []
    errors: list[tuple[int, str]] = []
    for number, raw in lines:
        try:
            parsed.append(parse_record(raw, fmt))
        except ValueError as e:
            parsed.append(None)
            errors.append((number, str(e)))
    good = [record for record in parsed if record is not None]
    found = iter(tagger.predict([record["text"] for record in good]))
    reasons = iter(reason for _, reason in errors)
    records = []
    for (number, _), record in zip(lines, parsed):
        if record is None:
            records.append(error_record(number, next(reasons)))
        else:
            entities = [e.to_dict() for e in next(found)]
            records.append(json.dumps({**record, "entities": entities}, ensure_ascii=False))
    return Window(lines[0][0] if lines else 0, records, errors)


def read_lines(stream: BinaryIO) -> Iterator[Line]:
    """Numbered lines of a binary stream, without their ``\\n``; a file never holds them all."""
    for number, raw in enumerate(stream, start=1):
        yield number, raw[:-1] if raw.endswith(b"\n") else raw


def windows(lines: Iterable[Line], size: int) -> Iterator[list[Line]]:
    """Consecutive windows of at most ``size`` lines, pulled from ``lines`` one window at a time."""
    if size < 1:
        raise ValueError(f"batch size must be positive, got {size}")
    it = iter(lines)
    while window := list(islice(it, size)):
        yield window


def count_lines(path: str | Path) -> int | None:
    """The number of lines of a regular file (a fast pass over its bytes), or ``None`` for a pipe."""
    if str(path) == STDIO or not Path(path).is_file():
        return None
    count, last = 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


@contextmanager
def open_input(path: str | Path) -> Iterator[BinaryIO]:
    """The input as a binary stream: ``-`` is stdin."""
    if str(path) == STDIO:
        yield sys.stdin.buffer
        return
    if Path(path).is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not an input file")
    with open(path, "rb") as f:
        yield f


@contextmanager
def atomic_output(path: str | Path) -> Iterator[IO[str]]:
    """A text stream whose content appears at ``path`` only if the block completes.

    It writes to a hidden temporary file in the output's directory (so the final rename stays on one
    file system), flushes and fsyncs it, then renames it over ``path``. On any error the temporary
    file is removed and an existing ``path`` is left untouched. ``-`` is stdout, written as it goes.
    """
    if str(path) == STDIO:
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{target}: is a directory, not an output file")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{target.parent}: no such directory for the output")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an output is meant to be read by others
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_windows(
    results: Iterable[Window], out: IO[str], source: str, skip_errors: bool, bar: tqdm | None = None
) -> Written:
    """Write windows in order.

    Raises:
        AnnotateError: the first bad line, unless ``skip_errors`` (then its error record is written).
    """
    lines = errors = 0
    first_at = 0.0
    for window in results:
        if window.errors and not skip_errors:
            raise AnnotateError(source, *window.errors[0])
        out.write("".join(record + "\n" for record in window.records))
        if not lines:
            first_at = time.perf_counter()
        lines += len(window.records)
        errors += len(window.errors)
        if bar is not None:
            bar.update(len(window.records))
    return Written(lines, errors, first_at)


def progress_bar(path: str | Path, progress: bool | None) -> tqdm:
    """A lines/s bar on stderr, with a total when the input is a regular file (``None``: on a terminal)."""
    return tqdm(
        total=count_lines(path),
        unit=" lines",
        unit_scale=True,
        desc="annotate",
        disable=(not progress) if progress is not None else None,
        file=sys.stderr,
    )


def annotate(
    model: str | Path | Tagger,
    input_path: str | Path,
    output_path: str | Path,
    fmt: str | None = None,
    batch_size: int = 64,
    skip_errors: bool = False,
    threads: int = 1,
    progress: bool | None = None,
) -> Summary:
    """Annotate ``input_path`` into ``output_path`` in this process, one window of lines at a time.

    Args:
        model: a shipped model name, a checkpoint directory, or a loaded :class:`Tagger`.
        input_path: text or JSON lines; ``-`` is stdin.
        output_path: JSON lines, one per input line, in input order; ``-`` is stdout.
        fmt: ``text`` or ``jsonl``; ``None`` detects it from the input's suffix.
        batch_size: lines per window (the unit of batching and of memory).
        skip_errors: write an error record for a bad line and go on, instead of failing.
        threads: torch intra-op threads (0 keeps torch's default).
        progress: show a progress bar (``None``: only on a terminal).
    """
    import torch

    form = detect_format(input_path, fmt)
    if str(input_path) != STDIO and not Path(input_path).exists():
        raise FileNotFoundError(f"{input_path}: no such input file")  # before the model load, not after
    if threads:
        torch.set_num_threads(threads)
    tagger = model if isinstance(model, Tagger) else Tagger.load(model)
    started = time.perf_counter()
    with open_input(input_path) as stream, atomic_output(output_path) as out, progress_bar(input_path, progress) as bar:
        numbered = read_lines(stream)
        written = annotate_stream(tagger, numbered, out, form, batch_size, skip_errors, str(input_path), bar)
    return Summary.of(written, started)


def annotate_stream(
    tagger: Tagger,
    lines: Iterable[Line],
    out: IO[str],
    fmt: Format,
    batch_size: int,
    skip_errors: bool = False,
    source: str = "<input>",
    bar: tqdm | None = None,
) -> Written:
    """Annotate numbered ``lines`` into ``out``, pulling one window from ``lines`` only after the
    previous one is written."""
    results = (annotate_window(tagger, w, fmt) for w in windows(lines, batch_size))
    return write_windows(results, out, source, skip_errors, bar)
