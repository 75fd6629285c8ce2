"""A versioned model store on disk, shared by ``ner retrain`` (writer) and the service (reader).

Layout under a root directory::

    ROOT/NAME/versions/20261123T150102Z/     one training output directory per retrain (model/, metrics.jsonl)
    ROOT/NAME/current -> versions/20261123T150102Z   a relative symlink: the version the service loads

Training writes only inside a new version directory; :func:`promote` then swaps the ``current`` link
with one ``rename``, so a reader sees the old version or the new one, never a mix, and an interrupted
retrain leaves ``current`` untouched. Old versions are never deleted here.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from ner import checkpoint

CURRENT = "current"
VERSIONS = "versions"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid model name (letters, digits, ``_.-``; no path separators)."""
    if not _NAME.match(name):
        raise ValueError(f"invalid model name {name!r}: use letters, digits, '_', '.', '-' (at most 64)")
    return name


def new_version(root: str | Path, name: str) -> Path:
    """Create and return an empty, uniquely named version directory for ``name``."""
    base = Path(root) / check_name(name) / VERSIONS
    base.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for i in range(1000):
        path = base / (stamp if i == 0 else f"{stamp}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"cannot create a new version directory under {base}")


def versions(root: str | Path, name: str) -> list[Path]:
    """Every version directory of ``name``, oldest first."""
    base = Path(root) / check_name(name) / VERSIONS
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def current(root: str | Path, name: str) -> Path | None:
    """The version directory ``current`` points to, or ``None`` when the name has no current version."""
    link = Path(root) / check_name(name) / CURRENT
    return link.resolve() if link.is_symlink() and link.exists() else None


def promote(root: str | Path, name: str, version: str | Path) -> Path:
    """Atomically make ``version`` (a directory under ``ROOT/NAME/versions``) the current model."""
    version = Path(version).resolve()
    base = (Path(root) / check_name(name)).resolve()
    if version.parent != base / VERSIONS or not version.is_dir():
        raise ValueError(f"{version} is not a version directory of {base}")
    checkpoint.resolve(version)  # refuse to point ``current`` at something that is not a checkpoint
    tmp = base / f".{CURRENT}.tmp-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(Path(VERSIONS) / version.name)
    os.replace(tmp, base / CURRENT)  # rename(2) over the old link: atomic on POSIX
    checkpoint.fsync_dir(base)
    return version


def resolve(name_or_path: str, root: str | Path | None = None) -> Path:
    """The checkpoint directory for a model name: the store's current version of ``name`` when ``root``
    has one, otherwise a shipped model or a checkpoint path (see :func:`ner.checkpoint.resolve`)."""
    if root is not None and _NAME.match(name_or_path):
        version = current(root, name_or_path)
        if version is not None:
            return checkpoint.resolve(version)
    return checkpoint.resolve(name_or_path)
