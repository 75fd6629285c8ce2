"""Column-file reader: sentences, documents, schemes, encodings, and errors naming file and line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ner.conll import DataFormatError, format_conll, parse_lines, read_conll, write_conll
from ner.types import Sentence

FIXTURES = Path(__file__).parent / "fixtures"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ner.conll" and r.levelno == logging.WARNING]


# --- well-formed files -----------------------------------------------------------------------------


def test_iob1_four_columns_with_docstart(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ner.conll")
    path = FIXTURES / "conll_iob1.txt"
    corpus = read_conll(path)
    assert corpus.path == str(path)
    assert corpus.scheme == "iob1"
    assert corpus.types == ["LOC", "ORG", "PER"]
    assert corpus.slips == []
    assert corpus.sentences == [
        Sentence(
            ("Anna", "Lindqvist", "visited", "Oslo", "."),
            ("B-PER", "E-PER", "O", "S-LOC", "O"),
            doc_id=1,
            line=3,
        ),
        Sentence(
            ("Smith", "Jones", "met", "Acme", "Corp", "in", "Bergen", "Norway"),
            ("S-PER", "S-PER", "O", "B-ORG", "E-ORG", "O", "S-LOC", "S-LOC"),
            doc_id=1,
            line=9,
        ),
        Sentence(("Nothing", "here"), ("O", "O"), doc_id=2, line=20),
    ]
    assert all("-DOCSTART-" not in s.tokens for s in corpus.sentences)
    assert _warnings(caplog) == []


def test_bio_four_columns() -> None:
    corpus = read_conll(str(FIXTURES / "conll_bio.txt"))
    assert corpus.scheme == "bio"
    assert corpus.types == ["LOC", "ORG", "PER"]
    assert [s.tags for s in corpus.sentences] == [
        ("B-PER", "E-PER", "O", "S-ORG", "O", "S-LOC", "O"),
        ("S-LOC", "S-LOC"),
    ]
    assert [s.tokens[0] for s in corpus.sentences] == ["Maria", "Lima"]
    assert [(s.doc_id, s.line) for s in corpus.sentences] == [(1, 3), (1, 11)]


def test_chinese_chars_bmes() -> None:
    corpus = read_conll(FIXTURES / "chars_bmes.txt")
    assert corpus.scheme == "bmes"
    assert corpus.types == ["LOC", "PER"]
    assert corpus.sentences == [
        Sentence(
            tuple("张三丰在北京。"),
            ("B-PER", "I-PER", "E-PER", "O", "B-LOC", "E-LOC", "O"),
            doc_id=0,
            line=1,
        ),
        Sentence(tuple("他去沪"), ("O", "O", "S-LOC"), doc_id=0, line=9),
    ]


@pytest.mark.parametrize(("name", "scheme"), [("conll_bioes.txt", "bioes"), ("conll_bilou.txt", "bilou")])
def test_bioes_and_bilou_files(name: str, scheme: str) -> None:
    corpus = read_conll(FIXTURES / name)
    assert corpus.scheme == scheme
    assert corpus.types == ["LOC", "PER"]
    first, second = corpus.sentences
    assert first.tokens[:4] == ("Ada", "Lovelace", "and", "Turing")
    assert first.tags[:4] == ("B-PER", "E-PER", "O", "S-PER")
    assert first.tags[-1] == "S-LOC"
    assert second.tags[-3:] == ("B-LOC", "I-LOC", "E-LOC")
    assert corpus.slips == []


def test_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(
        b"\xef\xbb\xbf-DOCSTART- -X- -X- O\r\n\r\n"
        b"Anna NNP B-NP B-PER\r\nSmith NNP I-NP I-PER\r\n\r\n"
        b"Oslo NNP B-NP B-LOC\r\n"
    )
    corpus = read_conll(path)
    assert corpus.sentences == [
        Sentence(("Anna", "Smith"), ("B-PER", "E-PER"), doc_id=1, line=3),
        Sentence(("Oslo",), ("S-LOC",), doc_id=1, line=6),
    ]


def test_bom_before_first_token(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeff北 B-LOC\r\n京 E-LOC\r\n".encode())
    corpus = read_conll(path)
    assert corpus.sentences == [Sentence(("北", "京"), ("B-LOC", "E-LOC"), doc_id=0, line=1)]


def test_scheme_override(caplog: pytest.LogCaptureFixture) -> None:
    """Reading the IOB1 file as BIO gives the same entities, but every I- opening is now a slip."""
    caplog.set_level(logging.WARNING, logger="ner.conll")
    path = FIXTURES / "conll_iob1.txt"
    as_iob1 = read_conll(path)
    caplog.clear()
    as_bio = read_conll(path, scheme="bio")
    assert as_bio.scheme == "bio"
    assert as_bio.sentences == as_iob1.sentences
    assert as_bio.slips == [3, 6, 9, 12, 15]
    (record,) = _warnings(caplog)
    assert " 5 " in record.getMessage()


def test_scheme_override_rejects_foreign_prefix() -> None:
    path = FIXTURES / "chars_bmes.txt"
    with pytest.raises(DataFormatError) as info:
        read_conll(path, scheme="bioes")
    assert info.value.line == 2  # the first M- tag
    assert str(info.value).startswith(f"{path}:2: ")


def test_parse_lines_strings() -> None:
    lines = ["\ufeffAnna B-PER\r\n", "Smith I-PER\r\n", "\r\n", "   \n", "-DOCSTART- O\n", "Oslo B-LOC"]
    corpus = parse_lines(lines)
    assert corpus.path == "<input>"
    assert corpus.scheme == "bio"
    assert corpus.sentences == [
        Sentence(("Anna", "Smith"), ("B-PER", "E-PER"), doc_id=0, line=1),
        Sentence(("Oslo",), ("S-LOC",), doc_id=1, line=6),
    ]


def test_parse_lines_scheme_argument_and_iterator() -> None:
    lines = iter(["a I-PER", "b I-PER"])
    corpus = parse_lines(lines, "mem.txt", "iob1")
    assert corpus.scheme == "iob1"
    assert corpus.sentences[0].tags == ("B-PER", "E-PER")
    assert corpus.path == "mem.txt"


def test_docstart_splits_without_blank_line_and_empty_documents() -> None:
    lines = ["-DOCSTART- O", "-DOCSTART- O", "a O", "-DOCSTART- O", "b S-PER", "c O"]
    corpus = parse_lines(lines)
    assert [(s.tokens, s.doc_id, s.line) for s in corpus.sentences] == [(("a",), 2, 3), (("b", "c"), 3, 5)]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    corpus = read_conll(path)
    assert corpus.sentences == []
    assert corpus.types == []


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_conll(tmp_path / "nope.txt")


def test_format_conll_reads_back() -> None:
    text = format_conll(["Anna", "Smith", "left"], ["B-PER", "E-PER", "O"])
    assert text == "Anna B-PER\nSmith E-PER\nleft O\n\n"
    corpus = parse_lines(text.splitlines(keepends=True))
    assert corpus.sentences == [Sentence(("Anna", "Smith", "left"), ("B-PER", "E-PER", "O"), 0, 1)]


def test_write_conll_reads_back_with_its_documents(tmp_path) -> None:
    sentences = read_conll(FIXTURES / "en_train.txt").sentences
    assert len({s.doc_id for s in sentences}) > 1
    path = tmp_path / "out.txt"
    write_conll(path, sentences)
    again = read_conll(path).sentences
    assert [(s.tokens, s.tags) for s in again] == [(s.tokens, s.tags) for s in sentences]
    starts = [i for i in range(1, len(sentences)) if sentences[i].doc_id != sentences[i - 1].doc_id]
    assert [i for i in range(1, len(again)) if again[i].doc_id != again[i - 1].doc_id] == starts


# --- slips -----------------------------------------------------------------------------------------


def test_slip_warning_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ner.conll")
    path = FIXTURES / "slips_bio.txt"
    corpus = read_conll(path)
    assert corpus.scheme == "bio"
    assert corpus.slips == [4, 8, 11]
    assert [s.tags for s in corpus.sentences] == [
        ("B-PER", "E-PER", "O", "S-LOC", "O"),
        ("O", "S-LOC", "O", "S-ORG", "S-LOC"),
    ]
    (record,) = _warnings(caplog)
    message = record.getMessage()
    assert " 3 " in message
    assert f"{path}:4" in message
    assert "bio" in message


def test_slip_warning_lists_at_most_five_positions(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ner.conll")
    lines = ["x B-PER", ""] + [line for _ in range(7) for line in ("y O", "z I-LOC", "")]
    corpus = parse_lines(lines, "many.txt")
    assert len(corpus.slips) == 7
    (record,) = _warnings(caplog)
    message = record.getMessage()
    assert " 7 " in message
    shown = [f"many.txt:{n}" for n in corpus.slips]
    assert all(s in message for s in shown[:5])
    assert shown[5] not in message and shown[6] not in message


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("bad_prefix.txt", 4, "X-LOC"),
        ("bad_columns.txt", 5, "columns"),
        ("one_column.txt", 3, "one column"),
        ("no_type.txt", 4, "B-"),
        ("mixed_schemes.txt", 8, "scheme"),
    ],
)
def test_errors_name_file_and_line(name: str, line: int, words: str) -> None:
    path = FIXTURES / name
    with pytest.raises(DataFormatError) as info:
        read_conll(path)
    err = info.value
    assert err.path == str(path)
    assert err.line == line
    assert str(err).startswith(f"{path}:{line}: ")
    assert words in str(err)
    assert isinstance(err, ValueError)


def test_mixed_schemes_across_sentences_point_at_first_conflict() -> None:
    lines = ["a B-PER", "b E-PER", "", "c O", "d U-LOC", "e M-LOC"]
    with pytest.raises(DataFormatError) as info:
        parse_lines(lines, "mix.txt")
    assert info.value.line == 5
    assert str(info.value).startswith("mix.txt:5: ")


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"Anna B-PER\nSmith I-PER\n\nZ\xfcrich B-LOC\n")
    with pytest.raises(DataFormatError) as info:
        read_conll(path)
    assert info.value.line == 4
    assert str(info.value).startswith(f"{path}:4: ")
    assert "UTF-8" in str(info.value)


def test_error_attributes() -> None:
    err = DataFormatError("f.txt", 7, "bad thing")
    assert (err.path, err.line, err.problem) == ("f.txt", 7, "bad thing")
    assert str(err) == "f.txt:7: bad thing"


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["", "-DOCSTART- -X- -X- O", "EU B-ORG", "x I-PER", "y E-LOC", "z M-", "w S-X", "a b c O"]),
            st.text(max_size=15),
        ),
        max_size=12,
    )
)
def test_reader_errors_are_data_format_errors_never_tracebacks(lines: list[str]) -> None:
    try:
        corpus = parse_lines(lines, "fuzz.txt")
    except DataFormatError as e:
        assert str(e).startswith("fuzz.txt:")
        return
    for sentence in corpus.sentences:
        assert len(sentence.tokens) == len(sentence.tags)
