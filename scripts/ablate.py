"""Accuracy ablations: train every variant of a plan with several seeds and print dev F1 as mean ± std.

    python scripts/ablate.py configs/ablations/en.toml --data ../shared/data --out runs/ablate-en --jobs 2

A plan (TOML) names the base config (optional: without it, runs start from ``ner train``'s
defaults), the language, the train and dev files (relative to ``--data``),
the protocol overrides every run gets (e.g. fewer epochs), the seeds, and the variants, each a list
of ``section.key=value`` overrides on top::

    base = "configs/en.toml"
    lang = "en"
    train = "conll2003/train.txt"
    dev = "conll2003/dev.txt"        # optional: without it ner train holds out part of train
    protocol = ["train.epochs=10", "train.patience=10"]
    seeds = [1, 2, 3]

    [variants]
    baseline = []
    char_lstm = ["features.char_encoder=lstm"]

Each run is a plain ``ner train`` process (one torch thread each, ``--jobs`` at a time) writing to
OUT/VARIANT/seed-S; a run whose result is already there is not repeated, so an interrupted plan
resumes. Where the plan names a dev file, each run is also scored with every dev sentence tagged as a
text of its own (``ner evaluate --sentences-alone``, as one-sentence requests are served), which only a
document memory makes differ. The summary goes to stdout as Markdown and to OUT/summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    variant: str
    seed: int
    out: Path
    command: list[str]
    dev: Path | None = None  # the plan's dev file, if it names one


def plan_runs(plan: dict, data: Path, out: Path, only: set[str] | None) -> list[Run]:
    """Every (variant, seed) of the plan as a ``ner train`` command line."""
    runs = []
    for seed in plan["seeds"]:  # seed-major, so a partial plan already covers every variant
        for variant, overrides in plan["variants"].items():
            if only and variant not in only:
                continue
            run_out = out / variant / f"seed-{seed}"
            sets = [*plan.get("protocol", []), *overrides, f"train.seed={seed}", "train.threads=1"]
            command = [str(Path(sys.executable).with_name("ner")), "train", "--lang", plan["lang"]]
            if plan.get("base"):  # without one, the variants start from ner train's own defaults
                command += ["--config", plan["base"]]
            command += ["--train", str(data / plan["train"]), "--out", str(run_out), "--overwrite"]
            if plan.get("dev"):
                command += ["--dev", str(data / plan["dev"])]
            for s in sets:
                command += ["--set", s]
            runs.append(Run(variant, seed, run_out, command, data / plan["dev"] if plan.get("dev") else None))
    return runs


def run_one(run: Run) -> dict:
    """Train one run (or read its earlier result) and return its best dev F1 and timing."""
    result_path = run.out / "result.json"
    if result_path.exists():
        result = json.loads(result_path.read_text())
        if run.dev is not None and "dev_f1_alone" not in result:  # a run from before the column existed
            result["dev_f1_alone"] = alone_f1(run, result["dev_f1"])
            result_path.write_text(json.dumps(result, indent=2))
        return result
    run.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run.out / "train.log", "w") as log:
        proc = subprocess.run(run.command, stdout=subprocess.PIPE, stderr=log, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{run.variant} seed {run.seed} failed (exit {proc.returncode}); see {run.out}/train.log")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    result = {
        "variant": run.variant,
        "seed": run.seed,
        "dev_f1": summary["dev_f1"],
        "best_epoch": summary["best_epoch"],
        "epochs_run": summary["epochs_run"],
        "train_seconds": summary["seconds"],
        "wall_seconds": round(time.perf_counter() - start, 1),
        "command": " ".join(["ner", *run.command[1:]]),
    }
    if run.dev is not None:
        result["dev_f1_alone"] = alone_f1(run, result["dev_f1"])
    result_path.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("variant", "seed", "dev_f1", "best_epoch")}), file=sys.stderr, flush=True)
    return result


def alone_f1(run: Run, dev_f1: float) -> float:
    """Dev F1 of a trained run (whose plan names a dev file) with every sentence tagged as a text of its own
    (``ner evaluate --sentences-alone``), as one-sentence requests are served. Only a model with a document
    memory reads the other sentences of a dev document; for any other it is ``dev_f1``."""
    model = run.out / "model"
    if not json.loads((model / "config.json").read_text())["features"].get("doc_memory"):
        return dev_f1
    command = [run.command[0], "evaluate", "--model", str(model), "--data", str(run.dev), "--json", "--sentences-alone"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread, as the training runs
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{run.variant} seed {run.seed}: ner evaluate --sentences-alone failed: {proc.stderr.strip()}"
        )
    return json.loads(proc.stdout)["f1"]


def train_all(runs: list[Run], jobs: int) -> list[dict]:
    """Every run's result, ``jobs`` at a time; the first failure cancels the runs not yet started."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_one, run) for run in runs]
        try:
            return [f.result() for f in futures]
        except RuntimeError:
            for f in futures:
                f.cancel()
            raise


def summarize(results: list[dict], order: list[str]) -> list[dict]:
    """Mean and sample standard deviation of dev F1 per variant, in plan order."""
    rows = []
    for variant in order:
        f1s = [r["dev_f1"] for r in results if r["variant"] == variant]
        if not f1s:
            continue
        alone = [r["dev_f1_alone"] for r in results if r["variant"] == variant and "dev_f1_alone" in r]
        rows.append(
            {
                "variant": variant,
                "seeds": len(f1s),
                "dev_f1_mean": statistics.mean(f1s),
                "dev_f1_std": statistics.stdev(f1s) if len(f1s) > 1 else 0.0,
                "dev_f1": f1s,
                "best_epoch_mean": statistics.mean(r["best_epoch"] for r in results if r["variant"] == variant),
                "train_seconds_mean": statistics.mean(r["train_seconds"] for r in results if r["variant"] == variant),
                # every sentence a text of its own (one-sentence requests): only a document memory makes it differ
                "dev_f1_alone": alone if len(alone) == len(f1s) else None,
            }
        )
    return rows


def markdown(rows: list[dict], plan: dict) -> str:
    """The summary as a Markdown table; Δ is against the first variant of the plan."""
    base = rows[0]["dev_f1_mean"] if rows else 0.0
    alone = any(r.get("dev_f1_alone") for r in rows)  # a column only where the plan has a dev file
    lines = [
        "| variant | overrides | dev F1 (mean ± std) | Δ | seeds | best epoch | s/run |"
        + (" sentences alone (mean ± std) |" if alone else ""),
        "|---|---|---|---:|---:|---:|---:|" + ("---|" if alone else ""),
    ]
    for r in rows:
        overrides = " ".join(plan["variants"][r["variant"]]) or "(base)"
        line = (
            f"| {r['variant']} | `{overrides}` | {100 * r['dev_f1_mean']:.2f} ± {100 * r['dev_f1_std']:.2f} "
            f"| {100 * (r['dev_f1_mean'] - base):+.2f} | {r['seeds']} | {r['best_epoch_mean']:.1f} "
            f"| {r['train_seconds_mean']:.0f} |"
        )
        if alone:
            f1s = r.get("dev_f1_alone")
            std = statistics.stdev(f1s) if f1s and len(f1s) > 1 else 0.0
            line += f" {100 * statistics.mean(f1s):.2f} ± {100 * std:.2f} |" if f1s else " |"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plan", type=Path, help="ablation plan (TOML)")
    parser.add_argument("--data", type=Path, required=True, help="folder the plan's train/dev paths are under")
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs and summary.json")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (one torch thread each)")
    parser.add_argument("--only", nargs="*", help="run only these variants")
    parser.add_argument("--summary-only", action="store_true", help="summarise finished runs, train nothing")
    args = parser.parse_args()

    plan = tomllib.loads(args.plan.read_text())
    runs = plan_runs(plan, args.data, args.out, set(args.only) if args.only else None)
    if args.summary_only:
        results = [json.loads((r.out / "result.json").read_text()) for r in runs if (r.out / "result.json").exists()]
    else:
        try:
            results = train_all(runs, args.jobs)
        except RuntimeError as e:
            sys.exit(f"error: {e}")
    rows = summarize(results, list(plan["variants"]))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps({"plan": str(args.plan), "rows": rows}, indent=2))
    print(markdown(rows, plan))


if __name__ == "__main__":
    main()
