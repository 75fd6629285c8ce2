"""The ``ner`` command line: train, evaluate, predict, annotate, serve, retrain.

User errors (bad files, bad options, missing checkpoints) print one ``error:`` line naming the
problem and exit with status 2; they never print a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from ner.checkpoint import CheckpointError
from ner.conll import DataFormatError
from ner.tags import SCHEMES, TagError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Named-entity recognition with a char+word BiLSTM-CRF (English and Chinese).",
    epilog='Examples:\n\n  ner predict --model en "Angela Merkel visited Paris."\n\n  ner COMMAND --help',
)

USER_ERRORS = (
    DataFormatError,
    CheckpointError,
    TagError,
    ValueError,
    FileNotFoundError,
    IsADirectoryError,
    OSError,  # also a full disk (ENOSPC) or a permission problem; the message names the path
    ImportError,
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _examples(*lines: str) -> str:
    """A command's ``--help`` epilog: one example per paragraph (``[`` escaped from rich markup)."""
    return "Examples:\n\n" + "\n\n".join("  " + line.replace("[", "\\[") for line in lines)


def _read_lines(stream: BinaryIO, name: str) -> Iterator[str]:
    """Lines of a UTF-8 byte stream without their line ends; an undecodable line stops with its number."""
    for lineno, raw in enumerate(stream, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{name}:{lineno}: not valid UTF-8 (byte {raw[e.start]:#04x}); save it as UTF-8") from None
        yield (line.lstrip("\ufeff") if lineno == 1 else line).rstrip("\r\n")


def _check_scheme(scheme: str | None) -> None:
    if scheme is not None and scheme not in SCHEMES:
        _fail(f"--scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _setup_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)


def _training_setup(lang: str, scheme: str | None, config: Path | None, overrides: list[str] | None) -> tuple[Any, str]:
    """Shared by train and retrain: logging, option checks, the config, and the command line to record."""
    from ner.config import load_config

    _setup_logging(logging.INFO if os.environ.get("RANK", "0") == "0" else logging.WARNING)  # torchrun: rank 0 logs
    _check_scheme(scheme)
    if lang not in ("en", "zh"):
        _fail(f"--lang must be en or zh, got {lang!r}")
    try:
        cfg = load_config(lang, config, overrides or [])  # type: ignore[arg-type]
    except USER_ERRORS as e:
        _fail(str(e))
    return cfg, shlex.join(["ner", *sys.argv[1:]])


@app.command(
    epilog=_examples(
        "ner train --train train.txt --dev dev.txt --out runs/mine --lang en",
        "ner train --train train_bmes.txt --out runs/mine-zh --lang zh      # no --dev: 5% of train held out",
        "ner train --config configs/en.toml --set train.epochs=5 --train t.txt --dev d.txt --out runs/quick",
    )
)
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

    Shows a progress bar with ETA and a table row per epoch; OUT gets metrics.jsonl and, with matplotlib
    installed, learning_curve.png and per_type.png.
    """
    from ner.train import train as run_training

    cfg, command = _training_setup(lang, scheme, config, overrides)
    try:
        result = run_training(cfg, train_file, out, dev_file, scheme, command=command, overwrite=overwrite)  # type: ignore[arg-type]
    except USER_ERRORS as e:
        _fail(str(e))
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun, rank 0 reports
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


@app.command(
    name="pretrain-lm",
    epilog=_examples(
        "ner pretrain-lm --lang zh --labelled train.txt --text news.txt --out lm/zh.safetensors",
        "ner train --lang zh --train train.txt --out runs/mine --set features.char_lm=lm/zh.safetensors",
    ),
)
def pretrain_lm(
    out: Annotated[Path, typer.Option("--out", help="The language model file to write (safetensors).")],
    lang: Annotated[str, typer.Option("--lang", help="en or zh: how tokens are joined into text.")] = "zh",
    labelled: Annotated[
        list[Path] | None, typer.Option("--labelled", help="A labelled file whose sentences to read (tags ignored).")
    ] = None,
    text: Annotated[
        list[Path] | None, typer.Option("--text", help="A UTF-8 text file, one paragraph per line.")
    ] = None,
    hidden: Annotated[int, typer.Option("--hidden", min=1, help="LSTM size per direction.")] = 192,
    embed: Annotated[int, typer.Option("--embed", min=1, help="Character embedding size.")] = 64,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 2,
    minutes: Annotated[float, typer.Option("--minutes", min=0, help="Stop after this long; 0: no limit.")] = 0,
    threads: Annotated[int, typer.Option("--threads", min=0, help="Torch threads; 0: torch's default.")] = 0,
    seed: Annotated[int, typer.Option("--seed")] = 1,
) -> None:
    """Pretrain a character language model on raw text, for a tagger's features.char_lm (docs/ACCURACY.md).

    Keeps the weights with the lowest loss on 1% of the sentences held out; prints the last epoch's figures.
    """
    from ner.pretrain_lm import PretrainConfig, pretrain, read_sentences

    _setup_logging(logging.INFO)
    if lang not in ("en", "zh"):
        _fail(f"--lang must be en or zh, got {lang!r}")
    if not labelled and not text:
        _fail("give at least one --labelled or --text file")
    config = PretrainConfig(
        embed_dim=embed, hidden_size=hidden, epochs=epochs, minutes=minutes, threads=threads, seed=seed
    )
    try:
        sentences = read_sentences(lang, labelled or [], text or [])
        figures = pretrain(sentences, lang, out, config)
    except USER_ERRORS as e:
        _fail(str(e))
    typer.echo(json.dumps({"out": str(out), **figures}))


@app.command(
    epilog=_examples(
        "ner evaluate --model en --data dev.txt                     # per-type table",
        "ner evaluate --model zh --data test_bmes.txt --json        # one JSON object",
        "ner evaluate --model runs/mine --data dev.txt --report reports/mine-dev   # + report.md",
        "ner evaluate --model en --data dev.txt --sentences-alone   # as one-sentence requests are served",
        "ner evaluate --model en --data dev.txt --sentences-per-text 3   # as requests of 3 sentences are",
    )
)
def evaluate(
    model: Annotated[str, typer.Option("--model", help="Shipped model name (en, zh) or checkpoint directory.")],
    data: Annotated[Path, typer.Option("--data", help="Gold file in any supported format and scheme.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
    scheme: Annotated[str | None, typer.Option("--scheme", help="Tag scheme of the file; default: detect.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 128,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write DIR/report.md (scores, type confusion, error patterns, sample of wrong sentences) "
            "and DIR/per_type.png.",
        ),
    ] = None,
    sample: Annotated[int, typer.Option("--sample", min=0, help="Wrong sentences shown in the report.")] = 20,
    quantize: Annotated[
        bool, typer.Option("--quantize", help="Score the int8-quantised model (what NER_QUANTIZE=true serves).")
    ] = False,
    sentences_alone: Annotated[
        bool,
        typer.Option(
            "--sentences-alone",
            help="Tag every sentence as a text of its own, as a request of one sentence is served, instead of "
            "within its -DOCSTART- document (it changes only the scores of a model with a document memory).",
        ),
    ] = False,
    sentences_per_text: Annotated[
        int,
        typer.Option(
            "--sentences-per-text",
            min=0,
            help="Tag each run of N consecutive sentences of a -DOCSTART- document as a text of its own, as "
            "requests of N sentences are served (0: whole documents; 1: as --sentences-alone).",
        ),
    ] = 0,
) -> None:
    """Entity-level precision, recall and F1 (seqeval, strict, IOBES) of a model on a gold file."""
    from ner.checkpoint import load
    from ner.conll import read_conll
    from ner.evaluate import as_texts, format_table, predict_sequences, score

    _setup_logging(logging.WARNING)
    _check_scheme(scheme)
    if sentences_alone and sentences_per_text not in (0, 1):
        _fail("--sentences-alone tags texts of one sentence: it cannot go with --sentences-per-text above 1")
    if sentences_alone:
        sentences_per_text = 1
    try:
        corpus = read_conll(data, scheme)  # type: ignore[arg-type]
        net, featurizer, _ = load(model)
        if quantize:
            net = net.quantized()
        sentences = corpus.sentences
        if sentences_per_text:
            sentences = as_texts(sentences, sentences_per_text)
        sequences, predicted = predict_sequences(net, featurizer, sentences, batch_size)
        result = score([s.tags for s in sequences], predicted)
        result["sentences"] = len(corpus.sentences)
        result["tokens"] = sum(len(s.tokens) for s in corpus.sentences)
        if report is not None:
            from ner.report import ReportInput, write_report

            inp = ReportInput(
                model,
                str(data),
                featurizer.config.lang,
                result,
                [s.tokens for s in sequences],
                [s.tags for s in sequences],
                predicted,
                [s.line for s in sequences],
            )
            written = write_report(report, inp, sample_size=sample)
    except USER_ERRORS as e:
        _fail(str(e))
    if report is not None:
        typer.echo(f"report: {', '.join(str(p) for p in written)}", err=True)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(format_table(result))
        typer.echo(f"{result['sentences']} sentences, {result['tokens']} tokens")


@app.command(
    epilog=_examples(
        "ner plot runs/mine                          # runs/mine/learning_curve.png, per_type.png",
        "ner plot runs/mine --out docs/training/mine",
    )
)
def plot(
    run: Annotated[Path, typer.Argument(help="Training output directory (holds metrics.jsonl and model/).")],
    out: Annotated[Path | None, typer.Option("--out", help="Directory for the PNGs; default: RUN.")] = None,
    title: Annotated[str, typer.Option("--title", help="Plot title; default: the run's name.")] = "",
) -> None:
    """Draw a training run's learning curve (loss, dev P/R/F1 per epoch) and per-type dev scores as PNGs."""
    from ner.plots import render_run

    _setup_logging(logging.WARNING)
    try:
        written = render_run(run, out, title)
    except USER_ERRORS as e:
        _fail(str(e))
    if not written:
        _fail("no plots written: matplotlib is not installed (pip install matplotlib)")
    typer.echo("\n".join(str(p) for p in written))


@app.command(
    epilog=_examples(
        'ner predict --model en "Angela Merkel visited Paris."',
        'echo "张三在北京大学工作。" | ner predict --model zh                 # one text per stdin line',
        "ner predict --model en --input news.txt --output news.jsonl",
        "ner predict --model en --input news.txt --format conll          # TOKEN TAG lines, BIOES",
        "ner predict --model en --input news.txt --format spacy > ents.jsonl   # for displacy.render(manual=True)",
    )
)
def predict(
    model: Annotated[
        str, typer.Option("--model", help="Shipped model name (en, zh), checkpoint or training output directory.")
    ],
    texts: Annotated[
        list[str] | None, typer.Argument(help="Texts to tag; default: one text per line of --input or stdin.")
    ] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input", "-i", help="UTF-8 file with one text per line (instead of stdin).")
    ] = None,
    output_file: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="jsonl: {text, entities} per text; conll: TOKEN TAG lines (BIOES), blank line after each "
            "sentence; spacy: {text, ents: [{start, end, label}]} per text, as displaCy renders.",
        ),
    ] = "jsonl",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
) -> None:
    """Tag texts: from arguments, from --input FILE, or one text per stdin line.

    Offsets (start, end) are Python string indices (code points) into each text.
    """
    from ner import formats
    from ner.pipeline import load

    _setup_logging(logging.WARNING)
    if fmt not in formats.FORMATS:
        _fail(f"--format must be one of {', '.join(formats.FORMATS)}, got {fmt!r}")
    if texts and input_file is not None:
        _fail("give texts as arguments or with --input FILE, not both")
    with contextlib.ExitStack() as stack:
        inputs: Iterator[str] | list[str] = texts or _read_lines(sys.stdin.buffer, "<stdin>")
        if input_file is not None:
            try:
                inputs = _read_lines(stack.enter_context(open(input_file, "rb")), str(input_file))
            except OSError as e:
                _fail(f"cannot read --input {input_file}: {e.strerror or e}")
        try:
            tagger = load(model)
        except USER_ERRORS as e:
            _fail(str(e))
        out = None
        if output_file is not None:
            try:
                out = stack.enter_context(open(output_file, "w", encoding="utf-8"))
            except OSError as e:
                _fail(f"cannot write --output {output_file}: {e.strerror or e}")

        def write(text: str) -> None:
            if out is None:
                typer.echo(text, nl=False)
            else:
                out.write(text)

        chunk: list[str] = []

        def flush() -> None:
            for text, entities in zip(chunk, tagger.predict(chunk, batch_size)):
                if fmt == "conll":
                    write(formats.conll_record(tagger.tokenize(text), entities))
                elif fmt == "spacy":
                    write(formats.spacy_record(text, entities))
                else:
                    write(formats.jsonl_record(text, entities))
            chunk.clear()

        try:
            for text in inputs:
                chunk.append(text)
                if len(chunk) >= batch_size:
                    flush()
            flush()
        except USER_ERRORS as e:
            _fail(str(e))


@app.command(
    epilog=_examples(
        "ner annotate --model en --input news.txt --output news.entities.jsonl",
        "ner annotate --model zh --input docs.jsonl --output docs.ner.jsonl --skip-errors",
        "ner annotate --model en --input big.txt --output big.jsonl --engine ray --workers 4",
    )
)
def annotate(
    model: Annotated[str, typer.Option("--model", help="Shipped model name (en, zh) or checkpoint directory.")],
    input_file: Annotated[str, typer.Option("--input", help="Text lines or JSON lines with a text field; - is stdin.")],
    output_file: Annotated[str, typer.Option("--output", help="JSON lines, one per input line; - is stdout.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="text or jsonl; default: jsonl for .jsonl/.ndjson inputs.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Lines per batch (and in memory).")] = 64,
    skip_errors: Annotated[
        bool, typer.Option("--skip-errors", help='Write {"line", "error"} for a bad line and go on.')
    ] = False,
    engine: Annotated[str, typer.Option("--engine", help="local (this process) or ray (an actor pool).")] = "local",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Ray actors, each with its own model.")] = 2,
    threads: Annotated[int, typer.Option("--threads-per-worker", min=1, help="Torch threads per worker.")] = 1,
    address: Annotated[
        str | None, typer.Option("--address", help="Existing Ray cluster (auto, HOST:6379); default: start one.")
    ] = None,
) -> None:
    """Annotate a file line by line in batches; the output appears only once it is complete."""
    from ner.annotate import annotate as run_local
    from ner.annotate_ray import annotate_ray

    _setup_logging(logging.WARNING)
    if engine not in ("local", "ray"):
        _fail(f"--engine must be local or ray, got {engine!r}")
    if engine == "local" and address is not None:
        _fail("--address needs --engine ray")
    try:
        if engine == "ray":
            summary = annotate_ray(
                model, input_file, output_file, fmt, batch_size, skip_errors, workers, threads, address
            )
        else:
            summary = run_local(model, input_file, output_file, fmt, batch_size, skip_errors, threads)
    except USER_ERRORS as e:
        _fail(str(e))
    typer.echo(json.dumps({"output": output_file, "engine": engine, **summary.to_dict()}), err=True)


@app.command(
    epilog=_examples(
        "ner serve                                   # en and zh on http://127.0.0.1:8000",
        "ner serve --model en --port 8080",
        "NER_MODEL_DIR=$PWD/model-store NER_API_KEY=change-me ner serve --host 0.0.0.0",
    )
)
def serve(
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help="Models to serve, comma-separated or repeated; default NER_MODELS or en,zh."),
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Bind address; default NER_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port; default NER_PORT or 8000.")] = None,
    model_dir: Annotated[
        Path | None, typer.Option("--model-dir", help="Store of retrained models; default NER_MODEL_DIR.")
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Serve models over REST (POST /v1/ner). Other settings come from NER_* environment variables."""
    import uvicorn
    from pydantic import ValidationError

    from api import Settings, create_app
    from api.registry import ModelLoadError, ModelRegistry

    overrides: dict[str, object] = {}
    if models:
        overrides["models"] = ",".join(models)
    for key, value in (("host", host), ("port", port), ("model_dir", model_dir)):
        if value is not None:
            overrides[key] = value
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        _fail("; ".join(f"{'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}" for err in e.errors()))
    from api.logs import configure_logging

    # JSON lines (NER_LOG_FORMAT) for every logger, uvicorn's included; api.access replaces uvicorn's access log.
    configure_logging(settings.log_format, getattr(logging, log_level.upper(), logging.INFO))
    # Load (and validate) every model before listening: a typo or a broken checkpoint stops here with
    # one clear line, instead of a process that runs but never becomes ready.
    registry = ModelRegistry(model_dir=settings.model_dir, quantize=settings.quantize)
    for name in settings.models:
        try:
            registry.reload(name)
        except ModelLoadError as e:
            _fail(f"model {name}: {e}")
    # On SIGTERM uvicorn stops accepting, drains the requests in flight (at most NER_SHUTDOWN_TIMEOUT
    # seconds), then raises SIGTERM again to end the process; this handler makes that a clean exit 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        create_app(settings, registry),
        host=settings.host,
        port=settings.port,
        log_level=log_level.lower(),
        log_config=None,
        access_log=False,
        # h11, not httptools even where it is installed: h11 refuses oversized request headers (431),
        # httptools accepts a 1 MB header (tests/test_hostile_http.py).
        http="h11",
        timeout_graceful_shutdown=settings.shutdown_timeout,
        limit_concurrency=settings.max_connections,
    )


@app.command(
    epilog=_examples(
        "ner retrain --name en --lang en --train train.txt --dev dev.txt --model-dir model-store --min-f1 0.85",
        "ner retrain --name en --train t.txt --dev d.txt --model-dir store --min-f1 0.85 --url http://127.0.0.1:8000",
    )
)
def retrain(
    name: Annotated[str, typer.Option("--name", help="Model name to (re)train, e.g. en or my-products.")],
    train_file: Annotated[Path, typer.Option("--train", help="Training file (any supported format and scheme).")],
    dev_file: Annotated[Path, typer.Option("--dev", help="Dev file: decides promotion.")],
    model_dir: Annotated[
        Path, typer.Option("--model-dir", envvar="NER_MODEL_DIR", help="Versioned model store (NER_MODEL_DIR).")
    ],
    min_f1: Annotated[
        float, typer.Option("--min-f1", min=0.0, max=1.0, help="Promote only if dev entity F1 reaches this.")
    ],
    lang: Annotated[str, typer.Option("--lang", help="Language defaults: en or zh.")] = "en",
    config: Annotated[Path | None, typer.Option("--config", help="TOML config, as for `ner train`.")] = None,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a config key.")] = None,
    scheme: Annotated[str | None, typer.Option("--scheme", help="Tag scheme of the files; default: detect.")] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Running service to reload after promotion, e.g. http://host:8000.")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="NER_API_KEY", help="Admin key for --url (NER_API_KEY).")
    ] = None,
) -> None:
    """Train NAME into a new store version, make it current if dev F1 >= --min-f1, reload the service.

    The new version becomes current only if its dev F1 reaches --min-f1; then the service at --url is asked
    to reload it. Exit 0 when promoted, 1 when below the threshold.
    """
    from ner.retrain import request_reload
    from ner.retrain import retrain as run_retrain

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        _fail("retrain does not run under torchrun (every rank would write to the store): use `ner train` there")
    cfg, command = _training_setup(lang, scheme, config, overrides)
    try:
        result = run_retrain(cfg, name, model_dir, train_file, dev_file, min_f1, scheme, command)  # type: ignore[arg-type]
    except USER_ERRORS as e:
        _fail(str(e))
    summary = result.summary()
    if result.promoted and url:
        try:
            reply = request_reload(url, name, api_key)
            summary["reloaded"] = reply["model"]["digest"]
        except RuntimeError as e:
            typer.echo(json.dumps(summary))
            _fail(f"promoted {result.version}, but the service did not reload: {e}")
    typer.echo(json.dumps(summary))
    if not result.promoted:
        typer.echo(
            f"not promoted: dev F1 {result.dev_f1:.4f} < --min-f1 {min_f1}; the current model is unchanged "
            f"(this run is kept at {result.version})",
            err=True,
        )
        raise typer.Exit(code=1)


@app.command(
    epilog=_examples(
        "ner promote --name en --version 20261123T150218Z --model-dir model-store",
        "ner promote --name en --version 20261123T150218Z --model-dir model-store --url http://127.0.0.1:8000",
    )
)
def promote(
    name: Annotated[str, typer.Option("--name", help="Model name in the store.")],
    version: Annotated[str, typer.Option("--version", help="Version directory name under NAME/versions.")],
    model_dir: Annotated[
        Path, typer.Option("--model-dir", envvar="NER_MODEL_DIR", help="Versioned model store (NER_MODEL_DIR).")
    ],
    url: Annotated[str | None, typer.Option("--url", help="Running service to reload afterwards.")] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="NER_API_KEY", help="Admin key for --url.")] = None,
) -> None:
    """Make a stored version current (e.g. roll back), atomically; optionally reload the service."""
    from ner import store
    from ner.retrain import request_reload

    try:
        path = store.promote(model_dir, name, Path(model_dir) / name / store.VERSIONS / version)
    except USER_ERRORS as e:
        known = ""
        with contextlib.suppress(ValueError):
            known = ", ".join(p.name for p in store.versions(model_dir, name))
        _fail(f"{e} (versions of {name}: {known or 'none'})")
    summary: dict[str, object] = {"name": name, "current": str(path)}
    if url:
        try:
            summary["reloaded"] = request_reload(url, name, api_key)["model"]["digest"]
        except RuntimeError as e:
            _fail(f"{name} now points to {path}, but the service did not reload: {e}")
    typer.echo(json.dumps(summary))


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
