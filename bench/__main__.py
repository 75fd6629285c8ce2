"""``python -m bench``: the performance harness. Prints Markdown tables and writes the figures as JSON.

Sections (``--sections``): ``inprocess`` (our Python API against spaCy ``en_core_web_sm`` NER-only,
interleaved), ``rest`` (``ner serve`` against a FastAPI + spaCy reference under wrk), ``training``
(seconds per epoch of the shipped English configuration), ``ceiling`` (FLOPs per token against this
machine's matmul FLOP/s). docs/PERFORMANCE.md has the results from this machine and what they mean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from bench import ceiling, inprocess, rest, training
from bench.corpora import Texts, load_texts
from bench.peer import load_spacy_ner
from ner.config import CHAR_ENCODER_NAMES
from ner.pipeline import Tagger, _length_batches

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SECTIONS = ("inprocess", "rest", "training", "ceiling")


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--en", type=Path, default=DATA / "conll2003" / "dev.txt", help="English CoNLL file to tag")
    p.add_argument("--zh", type=Path, default=DATA / "msra" / "test.txt", help="Chinese file to tag")
    p.add_argument("--train", type=Path, default=DATA / "conll2003" / "train.txt", help="English training file")
    p.add_argument("--limit", type=int, default=None, help="use only the first N sentences of each file")
    p.add_argument("--batches", type=_ints, default=[1, 32, 256], help="texts per call, e.g. 1,32,256")
    p.add_argument("--passes", type=int, default=3, help="timed passes per measurement (median reported)")
    p.add_argument("--threads", type=int, default=0, help="torch threads in this process; 0 keeps torch's default")
    p.add_argument("--int8", action="store_true", help="also time our English model int8-quantised (NER_QUANTIZE)")
    p.add_argument("--connections", type=_ints, default=[1, 8, 32], help="wrk connections, single sentences")
    p.add_argument("--batch-connections", type=_ints, default=[1, 8], help="wrk connections, batches of 32")
    p.add_argument("--seconds", type=float, default=15.0, help="seconds per measured REST run")
    p.add_argument("--train-epochs", type=int, default=1, help="epochs of the timed training run")
    p.add_argument("--train-config", type=Path, default=Path("configs/en.toml"), help="config of the timed run")
    p.add_argument("--train-set", action="append", default=[], help="extra KEY=VALUE for the timed run's config")
    p.add_argument("--out", type=Path, default=Path("bench-results.json"), help="where the JSON goes")
    args = p.parse_args(argv)
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections: {', '.join(sorted(unknown))}")
    return args


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def model_only_tokens_per_s(tagger: Tagger, corpus: Texts, batch: int, passes: int) -> float:
    """Tokens/s of the network alone (features → emissions → Viterbi → forward-backward) at ``batch``."""
    sentences = [[t.text for s in tagger.tokenize(x) for t in s] for x in corpus.texts]
    batches = [b for _, _, b in _length_batches(tagger.featurizer, sentences, batch)]
    tokens = sum(map(len, sentences))
    model = tagger.model.eval()
    times = []
    with torch.inference_mode():
        for i in range(passes + 1):
            began = time.perf_counter()
            for b in batches:
                model.decode_with_posteriors(b)
            if i:
                times.append(time.perf_counter() - began)
    return tokens / statistics.median(times)


def section_inprocess(args: argparse.Namespace, en: Texts, zh: Texts | None, report: dict) -> list[str]:
    nlp = load_spacy_ner()
    tagger_en = Tagger.load("en")
    systems = {
        "ours": lambda texts, b: inprocess.ours(tagger_en, texts, b),
        "spaCy": lambda texts, b: inprocess.spacy_pipe(nlp, texts, b),
    }
    if args.int8:
        tagger_int8 = Tagger.load("en", quantize=True)
        systems["ours int8"] = lambda texts, b: inprocess.ours(tagger_int8, texts, b)
    speeds = inprocess.compare(systems, en, args.batches, args.passes)
    if zh is not None:
        tagger_zh = Tagger.load("zh")
        speeds += inprocess.compare(
            {"ours": lambda texts, b: inprocess.ours(tagger_zh, texts, b)}, zh, args.batches, args.passes
        )
    report["inprocess"] = [s.to_dict() for s in speeds]
    lines = [
        "## In-process tagging (public Python API, tokenisation and offsets included)",
        "",
        "| corpus | batch | ours sent/s | ours tokens/s | spaCy sent/s | spaCy tokens/s | ours/spaCy |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in speeds:
        if s.system == "spaCy":
            continue
        peer = next((p for p in speeds if p.system == "spaCy" and p.batch == s.batch and p.corpus == s.corpus), None)
        cells = [
            s.corpus + (" (int8)" if s.system == "ours int8" else ""),
            str(s.batch),
            f"{s.sentences_per_s:,.0f}",
            f"{s.tokens_per_s:,.0f}",
        ]
        if peer:
            cells += [
                f"{peer.sentences_per_s:,.0f}",
                f"{peer.tokens_per_s:,.0f}",
                f"{s.tokens_per_s / peer.tokens_per_s:.2f}×",
            ]
        else:
            cells += ["–", "–", "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def section_rest(args: argparse.Namespace, en: Texts, report: dict) -> list[str]:
    loads = [rest.Load(c) for c in args.connections] + [rest.Load(c, 32) for c in args.batch_connections]
    results = rest.compare(en.texts, loads, args.seconds)
    report["rest"] = [r.to_dict() for r in results]
    lines = [
        "## REST (wrk, one thread; `ner serve --model en`, production settings, vs FastAPI + spaCy)",
        "",
        "| load | service | req/s | sentences/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.load} | {r.service} | {r.requests_per_s:,.1f} | {r.sentences_per_s:,.0f} | "
            f"{r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |"
        )
    return lines


def section_training(args: argparse.Namespace, report: dict) -> list[str]:
    measured = training.measure_epochs(args.train, args.en, args.train_config, args.train_epochs, args.train_set)
    shipped = training.shipped_training("en")
    report["training"] = {"measured": measured, "shipped": shipped}
    return [
        "## Training (CoNLL-2003 train, shipped English configuration)",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| seconds per epoch (measured, {measured['epochs']} epoch(s)) | {measured['seconds_per_epoch']:.1f} |",
        f"| training sentences/s (measured) | {measured['sentences_per_s']:,.0f} |",
        f"| wall clock of that run (loading, vocabulary, dev eval included) | {measured['wall_seconds']:.0f} s |",
        f"| shipped model: training seconds to its best epoch ({shipped['best_epoch']}), as recorded "
        f"| {shipped['train_seconds']:,.0f} s ({shipped['train_seconds'] / 60:.0f} min) |",
    ]


def section_ceiling(args: argparse.Namespace, en: Texts, report: dict) -> list[str]:
    tagger = Tagger.load("en")
    words = [w for t in en.texts for w in t.split()]
    chars_per_token = sum(min(len(w), tagger.featurizer.config.char_max_len) for w in words) / max(len(words), 1)
    count = ceiling.flops_per_token(tagger.model, chars_per_token)
    square = ceiling.matmul_flops(1024, 1024, 1024)
    h = tagger.model.config.hidden_size
    recurrent = ceiling.matmul_flops(256, h, 4 * h)  # one LSTM step at batch 256
    enc = CHAR_ENCODER_NAMES[tagger.model.features.char_encoder]
    model_tps = model_only_tokens_per_s(tagger, en, 256, args.passes)
    e2e = next(
        (
            s["tokens_per_s"]
            for s in report.get("inprocess", [])
            if s["system"] == "ours" and s["batch"] == 256 and s["corpus"] == en.name
        ),
        None,
    )
    achieved_model = count.total * model_tps
    report["ceiling"] = {
        "flops_per_token": count.to_dict(),
        "chars_per_token": chars_per_token,
        "matmul_flops_1024": square,
        "matmul_flops_lstm_step_256": recurrent,
        "model_only_tokens_per_s_256": model_tps,
        "end_to_end_tokens_per_s_256": e2e,
    }
    lines = [
        "## Ceiling (FLOPs counted from the configuration; multiply-add = 2)",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| FLOPs per token: word BiLSTM | {count.word_lstm / 1e6:.3f} M |",
        f"| FLOPs per token: char {enc} ({chars_per_token:.1f} chars/token) | {count.char_encoder / 1e6:.3f} M |",
        f"| FLOPs per token: emissions + CRF | {(count.emission + count.crf) / 1e6:.3f} M |",
        f"| FLOPs per token: total | {count.total / 1e6:.3f} M |",
        f"| matmul FLOP/s, 1024×1024×1024, {torch.get_num_threads()} threads | {square / 1e9:.1f} G |",
        f"| matmul FLOP/s, one LSTM step at batch 256 (256×{h}×{4 * h}) | {recurrent / 1e9:.1f} G |",
        f"| model only, batch 256: tokens/s | {model_tps:,.0f} |",
        f"| model only, batch 256: achieved FLOP/s | {achieved_model / 1e9:.2f} G "
        f"({achieved_model / square:.0%} of 1024³ matmul) |",
    ]
    if e2e:
        lines.append(
            f"| end to end, batch 256: achieved FLOP/s | {count.total * e2e / 1e9:.2f} G "
            f"({count.total * e2e / square:.0%} of 1024³ matmul) |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sections = args.sections.split(",")
    report: dict[str, Any] = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}
    en = load_texts(args.en, "en", args.limit)
    zh = load_texts(args.zh, "zh", args.limit) if args.zh and args.zh.exists() else None
    out = [
        f"# Benchmark: {report['machine']['cpu']}, {report['machine']['cores']} cores, torch "
        f"{report['machine']['torch']}, {report['machine']['torch_threads']} torch threads",
        "",
        f"English: {en.name}, {len(en.texts)} sentences, {en.tokens} tokens"
        + (f"; Chinese: {zh.name}, {len(zh.texts)} sentences, {zh.tokens} characters" if zh else ""),
        "",
    ]
    if "inprocess" in sections:
        out += section_inprocess(args, en, zh, report) + [""]
    if "ceiling" in sections:
        out += section_ceiling(args, en, report) + [""]
    if "rest" in sections:
        out += section_rest(args, en, report) + [""]
    if "training" in sections:
        out += section_training(args, report) + [""]
    print("\n".join(out), flush=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"figures written to {args.out}")


if __name__ == "__main__":
    main()
