"""The command line's user experience: --help examples, predict's inputs and output formats,
`evaluate --report`, `plot`, and a clear one-line message (exit 2, no traceback) for every user error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ner.cli import app
from ner.conll import parse_lines
from ner.formats import conll_record, sentence_tags, spacy_record
from ner.pipeline import Entity
from ner.tags import to_spans
from ner.train import TrainResult
from ner.types import Token

from .conftest import EN_TRAIN

runner = CliRunner()
TEXT = "Angela Merkel visited Paris on Monday."


def _run(*args: str, input: str | bytes | None = None):
    return runner.invoke(app, list(args), input=input)


@pytest.mark.parametrize("command", ["train", "evaluate", "plot", "predict", "serve", "retrain", "promote"])
def test_every_command_help_shows_examples(command: str) -> None:
    result = _run(command, "--help")
    assert result.exit_code == 0
    examples = result.stdout.split("Examples:")[1]
    assert f"ner {command} " in examples


def test_top_level_help_lists_commands_with_an_example() -> None:
    result = _run("--help")
    assert result.exit_code == 0 and "Examples:" in result.stdout and "predict" in result.stdout


def test_sentence_tags_and_conll_record() -> None:
    tokens = [Token("New", 0, 3), Token("York", 4, 8), Token("is", 9, 11), Token("big", 12, 15)]
    entities = [Entity("New York", "LOC", 0, 8, 0.9), Entity("big", "MISC", 12, 15, 0.5)]
    assert sentence_tags(tokens, entities) == ["B-LOC", "E-LOC", "O", "S-MISC"]
    second = [Token("Hi", 16, 18)]
    assert conll_record([tokens, second], entities) == "New B-LOC\nYork E-LOC\nis O\nbig S-MISC\n\nHi O\n\n"
    record = json.loads(spacy_record("New York is big", entities))
    assert record == {
        "text": "New York is big",
        "ents": [{"start": 0, "end": 8, "label": "LOC"}, {"start": 12, "end": 15, "label": "MISC"}],
    }


def test_predict_input_file_output_file_and_formats(tiny_en: TrainResult, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(f"\ufeff{TEXT}\r\n\nApple\n", encoding="utf-8")
    model = str(tiny_en.checkpoint)
    out = tmp_path / "out.jsonl"
    result = _run("predict", "--model", model, "--input", str(source), "--output", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in records] == [TEXT, "", "Apple"]
    assert [(e["text"], e["label"]) for e in records[0]["entities"]] == [("Angela Merkel", "PER"), ("Paris", "LOC")]

    spacy = _run("predict", "--model", model, "--format", "spacy", "-i", str(source))
    ents = [json.loads(line) for line in spacy.stdout.splitlines()]
    assert ents[0] == {
        "text": TEXT,
        "ents": [{"start": e["start"], "end": e["end"], "label": e["label"]} for e in records[0]["entities"]],
    }

    conll = _run("predict", "--model", model, "--format", "conll", TEXT, "Apple")
    assert conll.exit_code == 0
    corpus = parse_lines(conll.stdout.split("\n"), "<stdout>", "bioes")
    assert [s.tokens for s in corpus.sentences] == [tuple(TEXT[:-1].split()) + (".",), ("Apple",)]
    spans = to_spans(corpus.sentences[0].tags, "bioes")[0]
    assert [(" ".join(corpus.sentences[0].tokens[s.start : s.end]), s.label) for s in spans] == [
        ("Angela Merkel", "PER"),
        ("Paris", "LOC"),
    ]


def test_spacy_output_renders_with_displacy(tiny_en: TrainResult) -> None:
    from spacy import displacy

    result = _run("predict", "--model", str(tiny_en.checkpoint), "--format", "spacy", TEXT)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    html = displacy.render(records, style="ent", manual=True, page=False, jupyter=False)
    assert "Angela Merkel" in html and "PER</span>" in html and "LOC</span>" in html


def test_predict_stdin_bytes(tiny_en: TrainResult) -> None:
    result = _run("predict", "--model", str(tiny_en.checkpoint), input=f"{TEXT}\n".encode())
    assert result.exit_code == 0 and json.loads(result.stdout)["text"] == TEXT


def _bad_utf8(tmp: Path) -> str:
    path = tmp / "latin1.txt"
    path.write_bytes("fine\ncaf\xe9\n".encode("latin-1"))
    return str(path)


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (["--input", "{tmp}/missing.txt"], None, "cannot read --input {tmp}/missing.txt: No such file or directory"),
        (["--input", "{tmp}"], None, "cannot read --input {tmp}: Is a directory"),
        (["--input", "{bad}"], None, "latin1.txt:2: not valid UTF-8 (byte 0xe9)"),
        ([], "ok\n\xff\n", "<stdin>:2: not valid UTF-8 (byte 0xff)"),
        (["--format", "xml", "x"], None, "--format must be one of jsonl, conll, spacy, got 'xml'"),
        (["--input", "{bad}", "x"], None, "give texts as arguments or with --input FILE, not both"),
        (["--output", "{tmp}/no/such/dir/out.jsonl", "x"], None, "cannot write --output {tmp}/no/such/dir/out.jsonl"),
    ],
)
def test_predict_user_errors(
    tiny_en: TrainResult, tmp_path: Path, args: list[str], stdin: str | None, needle: str
) -> None:
    bad = _bad_utf8(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)).replace("{bad}", bad) for a in args]
    data = stdin.encode("latin-1") if stdin is not None else None
    result = _run("predict", "--model", str(tiny_en.checkpoint), *args, input=data)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert needle.replace("{tmp}", str(tmp_path)) in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_predict_unknown_model_names_the_shipped_ones() -> None:
    result = _run("predict", "--model", "fr", "x")
    assert result.exit_code == 2
    assert (
        result.stderr == "error: no checkpoint at fr: expected a directory with config.json or a shipped "
        "model name (en, zh)\n"
    )


def test_evaluate_report_counts_known_errors(tiny_en: TrainResult, tmp_path: Path) -> None:
    # The tiny model reproduces its training tags exactly (F1 1.0), so editing the gold file plants
    # errors whose counts are known: a type error, a spurious and a missed entity, a boundary error.
    lines = EN_TRAIN.read_text().split("\n")
    edits = {3: "B-ORG", 4: "I-ORG", 6: "O", 8: "B-MISC", 24: "O"}  # 1-based line -> new gold tag
    for lineno, tag in edits.items():
        cols = lines[lineno - 1].split(" ")
        lines[lineno - 1] = " ".join([*cols[:-1], tag])
    assert lines[23].startswith("Corp ")
    gold = tmp_path / "edited.txt"
    gold.write_text("\n".join(lines))
    out = tmp_path / "report"
    result = _run("evaluate", "--model", str(tiny_en.checkpoint), "--data", str(gold), "--json", "--report", str(out))
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    text = (out / "report.md").read_text(encoding="utf-8")
    assert f"**{scores['f1']:.4f}**" in text
    for name, count in [
        ("type error, same boundaries", 1),
        ("boundary error, same type", 1),
        ("missed (no overlapping prediction)", 1),
        ("spurious (no overlapping gold span)", 1),
        ("boundary and type error", 0),
    ]:
        assert f"| {name} | {count} |" in text
    assert "## Wrong sentences (2 of 2" in text
    assert "edited.txt:3 |" in text and "edited.txt:19 |" in text
    assert "type: Angela Merkel/ORG → Angela Merkel/PER" in text
    assert "boundary: Acme/ORG → Acme Corp/ORG" in text
    assert (out / "per_type.png").read_bytes().startswith(b"\x89PNG")
    assert str(out / "report.md") in result.stderr


def test_evaluate_report_into_a_file_path_fails_cleanly(tiny_en: TrainResult, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _run("evaluate", "--model", str(tiny_en.checkpoint), "--data", str(EN_TRAIN), "--report", str(blocker))
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and str(blocker) in result.stderr


def test_plot_command(tiny_en: TrainResult, tmp_path: Path) -> None:
    run = tiny_en.checkpoint.parent
    result = _run("plot", str(run), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(tmp_path / "learning_curve.png"), str(tmp_path / "per_type.png")]
    missing = _run("plot", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "metrics.jsonl: no such file" in missing.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "metrics.jsonl").write_text('{"epoch": 1, "loss": 1.0, "dev_f1": 0.5}\n{oops\n')
    broken = _run("plot", str(bad))
    assert broken.exit_code == 2 and f"{bad / 'metrics.jsonl'}:2: not JSON" in broken.stderr
