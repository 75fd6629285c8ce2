"""features.pretrained = NAME or PATH: vectors files (safetensors or word2vec text), the shipped LAC characters."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ner import checkpoint
from ner.config import load_config
from ner.train import train
from ner.vectors import load_vectors, save_vectors

from .conftest import TINY, ZH_TRAIN, load_script


def test_a_safetensors_vectors_file_reads_back_its_words_in_order_as_float32(tmp_path: Path) -> None:
    vectors = np.arange(12, dtype=np.float16).reshape(3, 4)
    save_vectors(tmp_path / "v.safetensors", ["北", "京", "1"], vectors, about="test")
    words, got = load_vectors(tmp_path / "v.safetensors")
    assert words == ["北", "京", "1"]
    assert got.dtype == np.float32 and np.array_equal(got, vectors.astype(np.float32))


def test_save_refuses_rows_and_words_that_do_not_match(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2 words"):
        save_vectors(tmp_path / "v.safetensors", ["a", "b"], np.zeros((3, 4)))
    with pytest.raises(ValueError, match="distinct"):
        save_vectors(tmp_path / "v.safetensors", ["a", "a"], np.zeros((2, 4)))


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("gz", [True, False])
def test_word2vec_text_files_with_or_without_a_header_and_gzipped(tmp_path: Path, header: bool, gz: bool) -> None:
    text = ("2 3\n" if header else "") + "paris 0.1 0.2 0.3\nrome -1 0 1e-2 \n"
    path = tmp_path / ("v.vec.gz" if gz else "v.vec")
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    words, vectors = load_vectors(path)
    assert words == ["paris", "rome"]
    assert np.allclose(vectors, [[0.1, 0.2, 0.3], [-1.0, 0.0, 0.01]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a 1 2\nb 1 2 3\n", "line 2: 3 components, the lines before have 2"),
        ("a 1 x\n", "line 1: a vector component is not a number"),
        ("a\n", "line 1: expected a word and its vector"),
        ("", "no vectors"),
    ],
)
def test_a_bad_text_file_is_refused_with_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "v.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_vectors(path)


def test_an_unknown_name_lists_the_shipped_vectors() -> None:
    with pytest.raises(ValueError, match="shipped: lac-chars"):
        load_vectors("no-such-vectors")


def test_the_shipped_lac_characters_sit_near_characters_of_the_same_role() -> None:
    words, vectors = load_vectors("lac-chars")
    assert vectors.shape == (13474, 128)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    row = {w: unit[i] for i, w in enumerate(words)}
    assert row["张"] @ row["王"] > row["张"] @ row["省"]  # surnames together
    assert row["省"] @ row["市"] > row["省"] @ row["王"]  # administrative suffixes together
    assert np.array_equal(row["東"], row["东"]), "a traditional character reads its simplified one's vector"


def _lac_archive(path: Path, vocab: list[str], table: np.ndarray, q2b: list[tuple[str, str]]) -> Path:
    """A stand-in for LAC's source distribution: the three files the script reads, a paddle header before the data."""
    files = {
        "LAC/lac_model/conf/word.dic": "".join(f"{i}\t{w}\n" for i, w in enumerate(vocab)).encode(),
        "LAC/lac_model/conf/q2b.dic": "".join(f"{a}\t{b}\n" for a, b in q2b).encode(),
        "LAC/lac_model/model/word_emb": b"\0" * 29 + table.astype("<f4").tobytes(),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"LAC-2.1.2/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_the_lac_script_keeps_single_characters_and_adds_the_normalisers(tmp_path: Path) -> None:
    script = load_script("lac_char_vectors")
    table = np.random.default_rng(0).normal(size=(5, script.DIM)).astype(np.float32)
    vocab = [" ", "北", "北京", "东", "OOV"]
    archive = _lac_archive(tmp_path / "LAC.tar.gz", vocab, table, [("東", "东"), ("京", "北京")])
    assert script.main([str(archive), "--out", str(tmp_path / "v.safetensors")]) == 0
    words, vectors = load_vectors(tmp_path / "v.safetensors")
    assert words == ["北", "东", "東"], "no space, no word, no OOV; a normaliser's character only onto a character"
    expected = table[[1, 3, 3]].astype(np.float16).astype(np.float32)
    assert np.array_equal(vectors, expected)


def test_training_starts_characters_from_a_vectors_file_and_checks_its_size(tmp_path: Path) -> None:
    chars = sorted({line.split()[0] for line in ZH_TRAIN.read_text(encoding="utf-8").splitlines() if line.strip()})
    chars = [c for c in chars if not c.startswith("-")][:20] + ["龘"]  # 龘: a character the fixture never has
    vectors = np.random.default_rng(1).normal(size=(len(chars), 16)).astype(np.float32)
    path = save_vectors(tmp_path / "chars.safetensors", chars, vectors)
    sets = [*TINY, "train.epochs=1", "features.char_lm=", "features.pos_dim=0", f"features.pretrained={path}"]
    config = load_config("zh", overrides=[*sets, "features.word_dim=16"])
    result = train(config, ZH_TRAIN, tmp_path / "run", dev_path=ZH_TRAIN, progress=False)
    model, featurizer, saved = checkpoint.load(result.checkpoint)
    assert saved["features"]["pretrained"] == str(path)
    assert featurizer.fixed_words == 1 and featurizer.words.items[-1] == "龘", "unseen: carried fixed"
    got = model.word_vectors(torch.tensor([featurizer.words["龘"]]))[0].detach().numpy()
    assert np.allclose(got, vectors[-1], atol=np.abs(vectors[-1]).max() / 254 + 1e-6)
    wrong = load_config("zh", overrides=[*sets, "features.word_dim=12"])
    with pytest.raises(ValueError, match="16 components, features.word_dim is 12"):
        train(wrong, ZH_TRAIN, tmp_path / "run2", dev_path=ZH_TRAIN, progress=False)
