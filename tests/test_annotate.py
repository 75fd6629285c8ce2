"""``ner annotate``: order, pass-through, windowed memory, errors with file and line, atomic output,
and the Ray engine giving the single-process output line for line."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ner.annotate import AnnotateError, annotate, annotate_stream
from ner.cli import app
from ner.conll import read_conll
from ner.pipeline import Tagger

from .conftest import EN_TRAIN

runner = CliRunner()
SENTENCES = [" ".join(s.tokens) for s in read_conll(EN_TRAIN).sentences]
BAD_LINES = {37: b"{not json", 500: b'{"id": 500}', 1234: b'{"text": "caf\xe9"}'}  # 1-based line numbers


def _texts(n: int) -> list[str]:
    """``n`` deterministic, mostly distinct lines made of two fixture sentences and a number."""
    k = len(SENTENCES)
    return [f"{SENTENCES[i % k]} {SENTENCES[(i * 7 // k) % k]} ({i})" for i in range(n)]


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load("en")


@pytest.fixture(scope="module")
def big_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 JSON lines with pass-through fields, three of them bad (see BAD_LINES)."""
    path = tmp_path_factory.mktemp("annotate") / "input.jsonl"
    records = [{"id": i + 1, "text": t, "meta": {"src": "fixture"}} for i, t in enumerate(_texts(3000))]
    lines = [json.dumps(r).encode() for r in records]
    for number, raw in BAD_LINES.items():
        lines[number - 1] = raw
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture(scope="module")
def local_output(big_jsonl: Path, tagger: Tagger) -> Path:
    out = big_jsonl.with_name("local.jsonl")
    summary = annotate(tagger, big_jsonl, out, batch_size=64, skip_errors=True, progress=False)
    assert (summary.lines, summary.errors) == (3000, len(BAD_LINES))
    return out


def test_local_output_is_one_record_per_line_in_order(local_output: Path) -> None:
    records = [json.loads(line) for line in local_output.read_text(encoding="utf-8").splitlines()]
    texts = _texts(3000)
    assert len(records) == 3000
    for number, record in enumerate(records, start=1):
        if number in BAD_LINES:
            assert record["line"] == number and record["error"]
            continue
        assert record["id"] == number and record["meta"] == {"src": "fixture"}  # passed through
        assert record["text"] == texts[number - 1]
        for e in record["entities"]:
            assert record["text"][e["start"] : e["end"]] == e["text"]
    assert {e["label"] for r in records for e in r.get("entities", [])} == {"PER", "LOC", "ORG", "MISC"}
    reasons = {r["line"]: r["error"] for r in records if "error" in r}
    assert reasons[37].startswith("invalid JSON") and reasons[500] == 'missing "text" field'
    assert reasons[1234].startswith("not UTF-8: byte 0xe9")


def test_ray_engine_output_equals_single_process(big_jsonl: Path, local_output: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from ner.annotate_ray import annotate_ray

    out = tmp_path / "ray.jsonl"
    summary = annotate_ray("en", big_jsonl, out, batch_size=64, skip_errors=True, workers=2, progress=False)
    assert (summary.lines, summary.errors) == (3000, len(BAD_LINES))
    ray_lines = out.read_bytes().split(b"\n")
    local_lines = local_output.read_bytes().split(b"\n")
    assert len(ray_lines) == len(local_lines) == 3001  # 3,000 lines and the final newline
    for number, (a, b) in enumerate(zip(ray_lines, local_lines), start=1):
        assert a == b, f"line {number} differs"


def test_only_one_window_is_read_ahead_of_the_output(tagger: Tagger) -> None:
    """Constant memory: the reader is never more than one window ahead of what has been written."""
    batch_size, pulled, lag = 16, [0], []

    def lines() -> Iterator[tuple[int, bytes]]:
        for number, text in enumerate(_texts(200), start=1):
            pulled[0] = number
            yield number, text.encode()

    class Out(io.StringIO):
        def write(self, s: str) -> int:
            written = self.getvalue().count("\n") + s.count("\n")
            lag.append(pulled[0] - written)
            return super().write(s)

    out = Out()
    written = annotate_stream(tagger, lines(), out, "text", batch_size)
    assert (written.lines, written.errors) == (200, 0)
    assert len(lag) == 200 // batch_size + 1 and max(lag) <= batch_size
    assert out.getvalue().count("\n") == 200


def _cli(*args: str, input: str | bytes | None = None):
    return runner.invoke(app, ["annotate", "--model", "en", *args], input=input)


def test_a_bad_line_fails_with_file_and_line_and_leaves_no_output(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "Angela Merkel visited Paris."}\n{"text": "IBM"}\n{"txt": "oops"}\n')
    out = tmp_path / "out.jsonl"
    out.write_text("the previous output\n")
    result = _cli("--input", str(src), "--output", str(out))
    assert result.exit_code == 2
    assert f'error: {src}:3: missing "text" field' in result.output
    assert "Traceback" not in result.output
    assert out.read_text() == "the previous output\n"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]  # no temporary left


@pytest.mark.parametrize(
    ("content", "fmt", "reason"),
    [
        (b"ok\n\xff\xfe broken\n", "text", "not UTF-8: byte 0xff at byte 1 of the line"),
        (b'{"text": "a"}\n[1, 2]\n', "jsonl", 'expected a JSON object with a "text" field, got list'),
        (b'{"text": "a"}\n{"text": 7}\n', "jsonl", '"text" must be a string, got int'),
        (b'{"text": "a"}\n\n', "jsonl", "empty line"),
        (b'{"text": "a"}\n{"text": "\\ud800"}\n', "jsonl", "lone UTF-16 surrogate"),
        (b'{"text": "a"}\n{"text": "a",\n', "jsonl", "invalid JSON"),
    ],
)
def test_each_kind_of_bad_line_is_named(tmp_path: Path, content: bytes, fmt: str, reason: str) -> None:
    src = tmp_path / "in.data"
    src.write_bytes(content)
    with pytest.raises(AnnotateError) as err:
        annotate("en", src, tmp_path / "out.jsonl", fmt=fmt, progress=False)
    assert err.value.line == 2 and reason in err.value.reason and str(err.value).startswith(f"{src}:2: ")
    assert not (tmp_path / "out.jsonl").exists()


def test_skip_errors_writes_an_error_record_and_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"text": "Angela Merkel visited Paris."}\n{"text": null}\n{"text": "IBM hired him.", "n": 3}\n')
    result = _cli("--input", str(src), "--output", str(tmp_path / "out.jsonl"), "--skip-errors")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert records[1] == {"line": 2, "error": '"text" must be a string, got NoneType'}
    assert records[2]["n"] == 3 and [e["text"] for e in records[2]["entities"]] == ["IBM"]
    assert json.loads(result.stderr.splitlines()[-1])["errors"] == 1


def test_text_lines_from_stdin_to_stdout_keep_blank_lines_and_drop_crlf() -> None:
    result = _cli("--input", "-", "--output", "-", input=b"Angela Merkel visited Paris.\r\n\nIBM hired him.\n")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == ["Angela Merkel visited Paris.", "", "IBM hired him."]
    assert records[1]["entities"] == [] and set(records[0]) == {"text", "entities"}


def test_ray_engine_says_how_to_install_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.txt"
    src.write_text("IBM hired him.\n")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    result = _cli("--input", str(src), "--output", str(tmp_path / "out.jsonl"), "--engine", "ray")
    assert result.exit_code == 2
    assert "pip install -e '.[ray]'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_ray_engine_refuses_stdin_and_local_refuses_address(tmp_path: Path) -> None:
    ray_stdin = _cli("--input", "-", "--output", "-", "--engine", "ray", input="IBM\n")
    assert ray_stdin.exit_code == 2 and "give a file path, not -" in ray_stdin.output
    local_address = _cli("--input", "-", "--output", "-", "--address", "auto", input="IBM\n")
    assert local_address.exit_code == 2 and "--address needs --engine ray" in local_address.output


def test_missing_input_and_missing_output_directory_are_named(tmp_path: Path) -> None:
    missing = _cli("--input", str(tmp_path / "nope.txt"), "--output", str(tmp_path / "out.jsonl"))
    assert missing.exit_code == 2 and f"error: {tmp_path / 'nope.txt'}: no such input file" in missing.output
    src = tmp_path / "in.txt"
    src.write_text("IBM hired him.\n")
    no_dir = _cli("--input", str(src), "--output", str(tmp_path / "missing" / "out.jsonl"))
    assert no_dir.exit_code == 2 and f"error: {tmp_path / 'missing'}: no such directory" in no_dir.output
