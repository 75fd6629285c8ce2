"""scripts/undocument.py: a documented column file becomes its sentences, shuffled, without document marks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ner.conll import read_conll

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "undocument.py"

SOURCE = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP I-LOC
1996-08-22 CD I-NP O

Germany NNP B-NP I-LOC
"""


def _sentences(path: Path) -> list[tuple[tuple[str, ...], tuple[str, ...], int]]:
    return [(s.tokens, s.tags, s.doc_id) for s in read_conll(path).sentences]


def test_sentences_survive_whole_in_a_seeded_order_without_documents(tmp_path: Path) -> None:
    source = tmp_path / "train.txt"
    source.write_text(SOURCE, encoding="utf-8")
    outputs = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        target = tmp_path / name / "train.txt"
        subprocess.run([sys.executable, str(SCRIPT), str(source), str(target), "--seed", str(seed)], check=True)
        assert "DOCSTART" not in target.read_text(encoding="utf-8")
        outputs.append(_sentences(target))
    original = _sentences(source)
    assert {doc for _, _, doc in original} == {1, 2}
    for sentences in outputs:
        assert {doc for _, _, doc in sentences} == {0}, "one document: no marks left"
        whole = sorted((t, g) for t, g, _ in original)
        assert sorted((t, g) for t, g, _ in sentences) == whole, "every sentence, whole"
    assert outputs[0] == outputs[1], "the same seed, the same order"
    assert outputs[0] != outputs[2], "another seed, another order"
    assert [t for t, _, _ in outputs[0]] != [t for t, _, _ in original], "shuffled"
