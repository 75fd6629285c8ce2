"""Bulk annotation throughput: single process against Ray with 1 and 2 workers, one torch thread each.

The input is CoNLL-2003 dev as raw text, one sentence per line (tokens joined by spaces), written to
a temporary directory (never into the repository). Every configuration runs as its own
``ner annotate`` process, so each starts cold the way a user's run does; its summary line gives
the rates, and the outputs are checked to be identical. Prints a Markdown table, writes JSON.

    python scripts/scaling/annotate_bench.py ../shared/data/conll2003/dev.txt --json scaling-annotate.json
    python scripts/scaling/annotate_bench.py ../shared/data/conll2003/dev.txt --limit 300   # a quick check

Columns: *sentences/s* is lines over the run's own time (after the process and model are up for the
local engine; including Ray's actor start for Ray), *steady* counts only the lines after the first
window (model loads excluded; meaningful only with many windows per worker), *wall* is the whole
command (imports, Ray start and stop included).
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
    parser.add_argument("--copies", type=int, default=1, help="repeat the sentences N times (amortises start-up)")
    parser.add_argument("--model", default="en")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray pool sizes to measure")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration (the median is reported)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()

    sentences = read_conll(args.conll).sentences
    if args.limit:
        sentences = sentences[: args.limit]
    sentences = sentences * args.copies
    configs = [("local", 1)] + [("ray", w) for w in args.workers]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="annotate-bench-") as tmp:
        src = Path(tmp) / "sentences.txt"
        src.write_text("".join(" ".join(s.tokens) + "\n" for s in sentences), encoding="utf-8")
        for engine, workers in configs:
            runs = [run(engine, workers, src, Path(tmp) / f"{engine}-{workers}.jsonl", args.model, args.batch_size)
                    for _ in range(args.repeat)]  # fmt: skip
            row: dict[str, Any] = {"engine": engine, "workers": workers, "runs": runs}
            for key in ("lines_per_second", "steady_lines_per_second", "warmup_seconds", "seconds", "wall_seconds"):
                row[key] = statistics.median(r[key] for r in runs)
            results.append(row)
            print(f"{engine} x{workers}: {row['lines_per_second']:.0f} sentences/s", file=sys.stderr)
    digests = {r["sha256"] for row in results for r in row["runs"]}
    base = results[0]["lines_per_second"]
    print(f"\n{len(sentences)} sentences of {args.conll.name}, model {args.model}, batch {args.batch_size}, "
          f"1 torch thread per worker, {os.cpu_count()} CPUs, median of {args.repeat}\n")  # fmt: skip
    print("| engine | workers | sentences/s | speed-up | steady sentences/s | warm-up s | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in results:
        print(
            f"| {row['engine']} | {row['workers']} | {row['lines_per_second']:.0f} | "
            f"{row['lines_per_second'] / base:.2f} | {row['steady_lines_per_second']:.0f} | "
            f"{row['warmup_seconds']:.1f} | {row['wall_seconds']:.1f} |"
        )
    print(f"\noutputs identical across engines: {len(digests) == 1}")
    if len(sentences) < 20 * args.batch_size * max(args.workers):
        print("note: fewer than 20 windows per worker: Ray's steady rate is not meaningful (windows finished during "
              "the warm-up arrive at once); use more sentences or --copies")  # fmt: skip
    if args.json:
        report = {
            "sentences": len(sentences),
            "input": str(args.conll),
            "model": args.model,
            "batch_size": args.batch_size,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "outputs_identical": len(digests) == 1,
            "results": results,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if len(digests) != 1:
        raise SystemExit("the engines' outputs differ")


if __name__ == "__main__":
    main()
