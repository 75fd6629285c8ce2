"""Files that ship with the library in ``ner/pretrained/`` (``KIND-NAME.SUFFIX``), found by name or by path."""

from __future__ import annotations

from pathlib import Path

PRETRAINED = Path(__file__).parent / "pretrained"


def shipped_file(name: str | Path, kind: str, suffix: str) -> Path | None:
    """The shipped ``KIND-NAME.SUFFIX`` in :data:`PRETRAINED`, or None when ``name`` is a path or none ships."""
    if not isinstance(name, str) or "/" in name:
        return None
    path = PRETRAINED / f"{kind}-{name}{suffix}"
    return path if path.is_file() else None


def resolve_shipped(name_or_path: str | Path, kind: str, suffix: str, what: str, option: str) -> Path:
    """``name_or_path`` if it is a file, else the shipped ``KIND-NAME.SUFFIX`` in :data:`PRETRAINED`.

    Raises ``ValueError`` naming both places, the config ``option`` and the shipped names when neither holds one
    (``what``: the kind of file in words)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_file(name_or_path, kind, suffix)
    if shipped is not None:
        return shipped
    names = sorted(p.name.removeprefix(f"{kind}-").removesuffix(suffix) for p in PRETRAINED.glob(f"{kind}-*{suffix}"))
    raise ValueError(
        f"{path}: no such {what} file, nor a shipped one of that name ({option}; shipped: {', '.join(names) or 'none'})"
    )
