"""The ``ner`` command line: train, evaluate, predict.

User errors (bad files, bad options, missing checkpoints) print one ``error:`` line naming the
problem and exit with status 2; they never print a traceback.
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from ner.checkpoint import CheckpointError
from ner.conll import DataFormatError
from ner.tags import SCHEMES, TagError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Named-entity recognition with a char+word BiLSTM-CRF (English and Chinese).",
)

USER_ERRORS = (
    DataFormatError,
    CheckpointError,
    TagError,
    ValueError,
    FileNotFoundError,
    IsADirectoryError,
    ImportError,
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _check_scheme(scheme: str | None) -> None:
    if scheme is not None and scheme not in SCHEMES:
        _fail(f"--scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")


def _setup_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)


@app.command()
def train(
    train_file: Annotated[Path, typer.Option("--train", help="Training file (CoNLL columns or CHAR TAG lines).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory: model/ and metrics.jsonl.")],
    dev_file: Annotated[
        Path | None, typer.Option("--dev", help="Dev file for model selection; default: hold out part of train.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language defaults: en or zh.")] = "en",
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config with [features], [model], [train].")
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config key, e.g. --set model.hidden_size=300.")
    ] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="Tag scheme of the files; default: detect.")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Allow replacing a checkpoint already in OUT.")
    ] = False,
) -> None:
    """Train a tagger; the best checkpoint (by dev entity F1) is saved to OUT/model.

    Example: ner train --train train.txt --dev dev.txt --out runs/my-model --lang en
    """
    from ner.config import load_config
    from ner.train import train as run_training

    _setup_logging(logging.INFO)
    _check_scheme(scheme)
    if lang not in ("en", "zh"):
        _fail(f"--lang must be en or zh, got {lang!r}")
    try:
        cfg = load_config(lang, config, overrides or [])  # type: ignore[arg-type]
        command = shlex.join(["ner", *sys.argv[1:]])
        result = run_training(cfg, train_file, out, dev_file, scheme, command=command, overwrite=overwrite)  # type: ignore[arg-type]
    except USER_ERRORS as e:
        _fail(str(e))
    typer.echo(
        json.dumps(
            {
                "checkpoint": str(result.checkpoint),
                "best_epoch": result.best_epoch,
                "dev_f1": result.dev.get("f1"),
                "epochs_run": result.epochs_run,
                "seconds": round(result.seconds, 1),
                "train_sentences_per_second": round(result.train_sentences_per_second, 1),
            }
        )
    )


@app.command()
def evaluate(
    model: Annotated[str, typer.Option("--model", help="Shipped model name (en, zh) or checkpoint directory.")],
    data: Annotated[Path, typer.Option("--data", help="Gold file in any supported format and scheme.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
    scheme: Annotated[str | None, typer.Option("--scheme", help="Tag scheme of the file; default: detect.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 128,
) -> None:
    """Entity-level precision, recall and F1 (seqeval, strict, IOBES) of a model on a gold file.

    Example: ner evaluate --model en --data dev.txt --json
    """
    from ner.checkpoint import load
    from ner.conll import read_conll
    from ner.evaluate import evaluate_sentences, format_table

    _setup_logging(logging.WARNING)
    _check_scheme(scheme)
    try:
        corpus = read_conll(data, scheme)  # type: ignore[arg-type]
        net, featurizer, _ = load(model)
        result = evaluate_sentences(net, featurizer, corpus.sentences, batch_size)
    except USER_ERRORS as e:
        _fail(str(e))
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(format_table(result))
        typer.echo(f"{result['sentences']} sentences, {result['tokens']} tokens")


@app.command()
def predict(
    model: Annotated[str, typer.Option("--model", help="Shipped model name (en, zh) or checkpoint directory.")],
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to tag; default: one text per stdin line.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
) -> None:
    """Print one JSON object per input text: {"text", "entities": [{"text", "label", "start", "end"}]}.

    Offsets are Python string indices (code points) into the text.

    Example: echo "Angela Merkel visited Paris." | ner predict --model en
    """
    from ner.pipeline import load

    _setup_logging(logging.WARNING)
    try:
        tagger = load(model)
    except USER_ERRORS as e:
        _fail(str(e))
    inputs = texts if texts else (line.rstrip("\r\n") for line in sys.stdin)
    chunk: list[str] = []

    def flush() -> None:
        for text, entities in zip(chunk, tagger.predict(chunk, batch_size)):
            record = {"text": text, "entities": [e.to_dict() for e in entities]}
            typer.echo(json.dumps(record, ensure_ascii=False))
        chunk.clear()

    for text in inputs:
        chunk.append(text)
        if len(chunk) >= batch_size:
            flush()
    flush()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
