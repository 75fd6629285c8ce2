"""Unlabelled text for distillation (``train.unlabelled``): sentences the teachers tag and the student learns.

Distilling on the training sentences alone carries little of an ensemble's gain, because the teachers have fitted
them: their mixture there is nearly the gold tags. On text none of them has seen they disagree where the ensemble
gains (docs/ACCURACY.md). The file is plain UTF-8 text, one paragraph or document per line; each line is split into
sentences and tokens by the language's own tokenizer, as the service splits a request, and is a document of its
own for teachers with a document memory.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ner.tokenize import tokenizer_for
from ner.types import Sentence

# the tag of every unlabelled token: a placeholder the gold-tag loss never reads (ner/objective.py)
PLACEHOLDER = "O"


def read_unlabelled(path: str | Path, lang: str, first_doc: int = 0) -> list[Sentence]:
    """The sentences of ``path`` (one paragraph per line), tagged with :data:`PLACEHOLDER`.

    ``first_doc`` is the ``doc_id`` of the first line's sentences; each later line counts up from it, so the
    documents stay apart from those of the labelled data. Raises ``ValueError`` naming the file when it holds no
    text, and ``UnicodeDecodeError``'s message with the file when it is not UTF-8.
    """
    path = Path(path)
    tokenize = tokenizer_for(lang)
    sentences: list[Sentence] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err})") from err
    for number, line in enumerate(lines, 1):
        for tokens in tokenize(line):
            texts = tuple(token.text for token in tokens)
            sentences.append(Sentence(texts, (PLACEHOLDER,) * len(texts), first_doc + number - 1, number))
    if not sentences:
        raise ValueError(f"{path}: no text to distil on (train.unlabelled)")
    return sentences


def package_folder(package: str, install: str) -> Path:
    """Where an installed package keeps its files, found without importing it (scripts read text packages ship).

    Raises ``SystemExit`` with ``install``, the command that installs it, when ``package`` is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed: {install}")
    return Path(next(iter(spec.submodule_search_locations)))
