"""Chinese character vectors from Baidu's LAC, as a vectors file for ``features.pretrained`` (``ner/vectors.py``).

LAC (Lexical Analysis of Chinese, Apache-2.0, https://pypi.org/project/LAC/) ships in its source distribution a
character BiGRU-CRF trained by Baidu on a large corpus to segment words, tag parts of speech and find persons,
places, organisations and times. Its input embedding (``lac_model/model/word_emb``, 58,224 rows of 128 floats, one
per line of ``lac_model/conf/word.dic``) is the only pretrained Chinese vector table on PyPI here: its characters
sit near the characters of the same role (surnames by surnames, 省 by 市/县/区, transliteration characters together).

This keeps the rows of single characters (the table also has rows for words, which a character tagger never looks
up), adds for each character of LAC's normaliser (``q2b.dic``: full-width forms, traditional characters) that the
table lacks the row of the character it normalises to, and writes them in float16 as a safetensors vectors file.
Nothing of LAC or PaddlePaddle is needed to read the result; LAC itself is not installed (pip cannot install its
source distribution without PaddlePaddle), the archive is read as it is downloaded from PyPI::

    curl -sO https://files.pythonhosted.org/packages/c3/88/966e99c95cac93730a7f3cdf92a17e2a0e924bea61b9a86ae7995feaa4fe/LAC-2.1.2.tar.gz
    python scripts/lac_char_vectors.py LAC-2.1.2.tar.gz --out ner/pretrained/vectors-lac-chars.safetensors

A parameter file of PaddlePaddle's is a small header (versions, level-of-detail info and a tensor description)
followed by the tensor's raw little-endian data; the data is the file's last ``rows × dim × 4`` bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from pathlib import Path

import numpy as np

from ner.vectors import save_vectors

MODEL = "LAC/lac_model"
ABOUT = (
    "Character vectors of LAC 2.1.2 (Baidu, https://github.com/baidu/lac, Apache License 2.0): the single-character "
    "rows of lac_model/model/word_emb, and the characters of its q2b.dic normaliser with the rows they normalise to; "
    "written by scripts/lac_char_vectors.py"
)
DIM = 128  # lac_model/conf/args.ini: word_emb_dim


def read_member(archive: Path, name: str) -> bytes:
    """One file of the LAC source distribution (a ``.tar.gz`` or the directory it unpacks to), by its path
    below the top folder (``LAC-2.1.2/``)."""
    if archive.is_dir():
        return (archive / name).read_bytes()
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.name.split("/", 1)[-1] == name:
                f = tar.extractfile(member)
                if f is not None:
                    return f.read()
    raise ValueError(f"{archive}: no {name} in it (is it LAC's source distribution?)")


def lines(data: bytes) -> list[list[str]]:
    """The tab-separated fields of each line of a LAC dictionary file."""
    return [line.split("\t") for line in data.decode("utf-8").split("\n") if line]


def char_vectors(archive: Path) -> tuple[list[str], np.ndarray]:
    """LAC's single characters and their vectors, then the normaliser's characters missing from the table with
    the vector of the character each normalises to."""
    vocab = [fields[1] if len(fields) > 1 else "" for fields in lines(read_member(archive, f"{MODEL}/conf/word.dic"))]
    raw = read_member(archive, f"{MODEL}/model/word_emb")
    size = len(vocab) * DIM * 4
    if len(raw) < size:
        raise ValueError(f"{archive}: word_emb holds {len(raw)} bytes, fewer than {len(vocab)} rows of {DIM} floats")
    table = np.frombuffer(raw[len(raw) - size :], dtype="<f4").reshape(len(vocab), DIM)
    row = {word: i for i, word in enumerate(vocab) if len(word) == 1 and not word.isspace()}
    words, rows = list(row), list(row.values())
    for fields in lines(read_member(archive, f"{MODEL}/conf/q2b.dic")):
        if len(fields) == 2 and len(fields[0]) == 1 and fields[0] not in row and fields[1] in row:
            row[fields[0]] = row[fields[1]]
            words.append(fields[0])
            rows.append(row[fields[1]])
    return words, table[rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, help="LAC-2.1.2.tar.gz from PyPI, or the folder it unpacks to")
    parser.add_argument("--out", type=Path, required=True, help="the vectors file to write (.safetensors)")
    args = parser.parse_args(argv)
    words, vectors = char_vectors(args.archive)
    save_vectors(args.out, words, vectors.astype(np.float16), about=ABOUT)
    print(json.dumps({"out": str(args.out), "characters": len(words), "dim": int(vectors.shape[1])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
