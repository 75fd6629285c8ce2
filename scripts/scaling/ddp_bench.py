"""Data-parallel training speed: seconds per epoch of 1 process against ``torchrun`` with 2 processes.

Every run trains the shipped English architecture (``configs/en.toml``: GloVe, char encoder, BiLSTM 200)
on the same first ``--sentences`` sentences of CoNLL train (``train.max_train_sentences``; the data
is read in place, never copied), one torch thread per process, for ``--epochs`` epochs. The epoch
time is ``train_seconds`` from rank 0's ``metrics.jsonl`` (training only; dev evaluation excluded).
The 1-process run is plain ``ner train``, not torchrun, so it is the unchanged single-process path.
Prints a Markdown table, writes JSON.

    python scripts/scaling/ddp_bench.py ../shared/data/conll2003/train.txt ../shared/data/conll2003/dev.txt \\
        --sentences 2000 --epochs 1 --json scaling-ddp.json
    python scripts/scaling/ddp_bench.py ../shared/data/conll2003/train.txt ../shared/data/conll2003/dev.txt \\
        --sentences 200 --epochs 1            # a quick check
    ... --set features.pretrained=none        # the same without GloVe: a small embedding to all-reduce

It also prints what DDP moves per step: every parameter's gradient (dense, float32) is all-reduced,
and the word embedding table (GloVe vocabulary x 50) is most of them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[2]


def run(procs: int, train: Path, dev: Path, out: Path, sentences: int, epochs: int, extra: list[str]) -> dict[str, Any]:
    launcher = [sys.executable, "-m", "ner.cli"]
    if procs > 1:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}"]
        launcher += ["-m", "ner.cli"]
    settings = [f"train.epochs={epochs}", f"train.patience={epochs}", f"train.max_train_sentences={sentences}"]
    settings += ["train.threads=1", *extra]
    command = [*launcher, "train", "--config", str(ROOT / "configs" / "en.toml"), "--lang", "en"]
    command += ["--train", str(train), "--dev", str(dev), "--out", str(out)]
    command += [a for s in settings for a in ("--set", s)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    with safe_open(str(out / "model" / "model.safetensors"), "pt") as f:
        shapes = {k: f.get_slice(k).get_shape() for k in f.keys()}
    return {
        "procs": procs,
        "epoch_seconds": statistics.mean(m["train_seconds"] for m in metrics),
        "sentences_per_second": statistics.mean(m["sentences_per_second"] for m in metrics),
        "loss": metrics[-1]["loss"],
        "dev_f1": metrics[-1]["dev_f1"],
        "wall_seconds": round(wall, 1),
        "shapes": shapes,
    }


def _allreduce_worker(rank: int, init: str, numel: int, reps: int, out: str) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        grads = torch.ones(numel)
        times = []
        for _ in range(reps + 2):
            dist.barrier()
            started = time.perf_counter()
            dist.all_reduce(grads)
            times.append(time.perf_counter() - started)
        if rank == 0:
            Path(out).write_text(json.dumps(times[2:]))  # the first two warm the connection up
    finally:
        dist.destroy_process_group()


def allreduce_seconds(numel: int, reps: int) -> float:
    """Median seconds of a gloo all-reduce of ``numel`` float32 between two local processes."""
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory(prefix="allreduce-") as tmp:
        out = f"{tmp}/times.json"
        mp.spawn(_allreduce_worker, args=(f"file://{tmp}/rendezvous", numel, reps, out), nprocs=2, join=True)
        return statistics.median(json.loads(Path(out).read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra config override")
    parser.add_argument("--allreduce-reps", type=int, default=20, help="timed all-reduces of the gradient size")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="ddp-bench-") as tmp:
        for procs in args.procs:
            out = Path(tmp) / f"p{procs}"
            results.append(run(procs, args.train, args.dev, out, args.sentences, args.epochs, args.overrides))
            print(f"{procs} process(es): {results[-1]['epoch_seconds']:.1f} s/epoch", file=sys.stderr)
    shapes = results[0].pop("shapes")
    for r in results[1:]:
        r.pop("shapes")
    params = {k: math.prod(v) for k, v in shapes.items()}
    total = sum(params.values())
    embed = params.get("word_embed.weight", 0)
    batch = 16  # configs/en.toml train.batch_size
    base = results[0]["epoch_seconds"]
    config = " ".join(["configs/en.toml", *args.overrides])
    print(f"\n{args.sentences} CoNLL train sentences, {config}, {args.epochs} epoch(s), 1 thread per process, "
          f"{os.cpu_count()} CPUs\n")  # fmt: skip
    print("| processes | s/epoch | speed-up | sentences/s | global batch | steps/rank | loss | dev F1 | wall s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        steps = -(-args.sentences // batch) // r["procs"]
        print(
            f"| {r['procs']} | {r['epoch_seconds']:.1f} | {base / r['epoch_seconds']:.2f} | "
            f"{r['sentences_per_second']:.0f} | {batch * r['procs']} | ~{steps} | {r['loss']:.3f} | "
            f"{r['dev_f1']:.3f} | {r['wall_seconds']:.0f} |"
        )
    print(f"\nall-reduced per step: {total:,} gradients = {4 * total / 2**20:.1f} MiB float32, of which the word "
          f"embedding {embed:,} ({100 * embed / max(total, 1):.0f}%)")  # fmt: skip
    allreduce = allreduce_seconds(total, args.allreduce_reps) if args.allreduce_reps else None
    step = results[0]["epoch_seconds"] / -(-args.sentences // batch)
    if allreduce is not None:
        print(f"gloo all-reduce of that size between 2 local processes: {1000 * allreduce:.1f} ms (median of "
              f"{args.allreduce_reps}); one 1-process training step: {1000 * step:.1f} ms")  # fmt: skip
    if args.json:
        report = {
            "sentences": args.sentences,
            "epochs": args.epochs,
            "overrides": args.overrides,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "parameters": total,
            "word_embedding_parameters": embed,
            "allreduce_mib_per_step": round(4 * total / 2**20, 2),
            "allreduce_seconds_2_local_processes": allreduce,
            "one_process_step_seconds": step,
            "results": results,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
