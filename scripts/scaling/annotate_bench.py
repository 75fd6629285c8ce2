"""Bulk annotation throughput: single process against Ray with 1 and 2 workers, one torch thread each.

The input is CoNLL-2003 dev as raw text, one sentence per line (tokens joined by spaces), written to
a temporary directory (never into the repository). Every configuration runs as its own
``ner annotate`` process, so each starts cold the way a user's run does, on two inputs: the
sentences once, and ``--scale`` times over. The outputs are checked to be identical across engines.
Prints a Markdown table, writes JSON.

    python scripts/scaling/annotate_bench.py ../shared/data/conll2003/dev.txt --json scaling-annotate.json
    python scripts/scaling/annotate_bench.py ../shared/data/conll2003/dev.txt --limit 300 --scale 2   # a quick check

Columns (medians over ``--repeat`` runs):
- *end-to-end sentences/s*: the large input's lines over the whole command's wall time (imports, model
  loads, Ray's start and stop included): what a user waiting for the file sees.
- *marginal sentences/s*: the extra lines of the large input over its extra wall time,
  ``(L_large - L_small) / (T_large - T_small)``: the fixed costs cancel, leaving the rate once running.
- *warm-up s*: from the start of the run to the first window written (for Ray: actors starting and
  loading the model), on the large input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ner.conll import read_conll  # noqa: E402


def run(engine: str, workers: int, src: Path, out: Path, model: str, batch_size: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "ner.cli", "annotate", "--model", model, "--input", str(src)]
    command += ["--output", str(out), "--batch-size", str(batch_size), "--threads-per-worker", "1"]
    if engine == "ray":
        command += ["--engine", "ray", "--workers", str(workers)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return {**summary, "wall_seconds": round(wall, 2), "sha256": digest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("conll", type=Path, help="CoNLL file whose sentences become the input lines")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N sentences (0: all)")
    parser.add_argument("--scale", type=int, default=4, help="the large input is the sentences this many times")
    parser.add_argument("--model", default="en")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray pool sizes to measure")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration and input (medians reported)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    if args.scale < 2:
        parser.error("--scale must be at least 2")

    sentences = read_conll(args.conll).sentences
    if args.limit:
        sentences = sentences[: args.limit]
    lines = [" ".join(s.tokens) + "\n" for s in sentences]
    configs = [("local", 1)] + [("ray", w) for w in args.workers]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="annotate-bench-") as tmp:
        inputs = {"small": Path(tmp) / "small.txt", "large": Path(tmp) / "large.txt"}
        inputs["small"].write_text("".join(lines), encoding="utf-8")
        inputs["large"].write_text("".join(lines * args.scale), encoding="utf-8")
        for engine, workers in configs:
            row: dict[str, Any] = {"engine": engine, "workers": workers}
            for size, src in inputs.items():
                out = Path(tmp) / f"{engine}-{workers}-{size}.jsonl"
                row[size] = [run(engine, workers, src, out, args.model, args.batch_size) for _ in range(args.repeat)]
            small = statistics.median(r["wall_seconds"] for r in row["small"])
            large = statistics.median(r["wall_seconds"] for r in row["large"])
            n_small, n_large = len(lines), len(lines) * args.scale
            row["end_to_end_sentences_per_second"] = n_large / large
            # Noise can make the large run no slower than the small one on a small input: no rate then.
            row["marginal_sentences_per_second"] = (n_large - n_small) / (large - small) if large > small else None
            row["warmup_seconds"] = statistics.median(r["warmup_seconds"] for r in row["large"])
            row["wall_seconds_small"], row["wall_seconds_large"] = small, large
            results.append(row)
            print(f"{engine} x{workers}: {row['end_to_end_sentences_per_second']:.0f} sentences/s", file=sys.stderr)
    digests = {(size, r["sha256"]) for row in results for size in ("small", "large") for r in row[size]}
    local = results[0]
    print(f"\n{len(lines)} sentences of {args.conll.name} (large input: x{args.scale}), model {args.model}, "
          f"batch {args.batch_size}, 1 torch thread per worker, {os.cpu_count()} CPUs, "
          f"median of {args.repeat}\n")  # fmt: skip
    print("| engine | workers | end-to-end sent/s | speed-up | marginal sent/s | speed-up | warm-up s | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in results:
        e2e, marginal = row["end_to_end_sentences_per_second"], row["marginal_sentences_per_second"]
        e2e_up = e2e / local["end_to_end_sentences_per_second"]
        marginal_cells = "n/a | n/a"
        if marginal is not None and local["marginal_sentences_per_second"] is not None:
            marginal_cells = f"{marginal:.0f} | {marginal / local['marginal_sentences_per_second']:.2f}"
        print(
            f"| {row['engine']} | {row['workers']} | {e2e:.0f} | {e2e_up:.2f} | {marginal_cells} | "
            f"{row['warmup_seconds']:.1f} | {row['wall_seconds_large']:.1f} |"
        )
    identical = len(digests) == 2  # one digest per input size, whatever the engine
    print(f"\noutputs identical across engines: {identical}")
    if args.json:
        report = {
            "sentences": len(lines),
            "scale": args.scale,
            "input": str(args.conll),
            "model": args.model,
            "batch_size": args.batch_size,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "outputs_identical": identical,
            "results": results,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if not identical:
        raise SystemExit("the engines' outputs differ")


if __name__ == "__main__":
    main()
