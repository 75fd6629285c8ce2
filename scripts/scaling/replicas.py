"""Serving throughput with 1 and 2 replicas behind nginx, measured with wrk.

Starts ``ner serve --model en`` replicas (``NER_TORCH_THREADS=1``, ``NER_INFERENCE_WORKERS=1`` each),
then for each setup runs wrk with ``ner_post.lua`` (single-sentence ``POST /v1/ner``, six fixed news
sentences in turn) at a fixed concurrency: a warm-up run that is thrown away, then the measured run.
Setups: one replica called directly (no nginx: the balancer's cost), then 1, 2, ... replicas behind
nginx running ``deploy/nginx.conf`` (rendered for loopback ports by ``nginx_lb.py``). Prints a
Markdown table and writes JSON:

    python scripts/scaling/replicas.py --replicas 1,2 --duration 30 --connections 8 --out replicas.json

Every process shares this machine's cores: on a 2-core machine wrk, nginx and the replicas compete,
so read the figures with the core count printed above the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from scripts.reliability.serve_process import Server, free_port, production_env, serve  # noqa: E402
from scripts.scaling import nginx_lb  # noqa: E402

LUA = Path(__file__).resolve().parent / "ner_post.lua"
_JSON = re.compile(r"^WRK_JSON (\{.*\})$", re.MULTILINE)


def run_wrk(url: str, duration: float, connections: int, threads: int) -> dict[str, object]:
    """One wrk run against ``url``/v1/ner; the figures its Lua ``done()`` printed, plus req/s."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={duration:g}s",
        "--timeout=30s",
        f"--script={LUA}",
        f"{url}/v1/ner",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    found = _JSON.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures: dict[str, object] = json.loads(found.group(1))
    figures["requests_per_s"] = figures["requests"] / (figures["duration_us"] / 1e6)  # type: ignore[operator]
    return figures


def measure(url: str, args: argparse.Namespace) -> dict[str, object]:
    run_wrk(url, args.warmup, args.connections, args.wrk_threads)  # warm-up: caches, allocator, keep-alive pools
    return run_wrk(url, args.duration, args.connections, args.wrk_threads)


def _address(server: Server) -> str:
    return server.url.removeprefix("http://")


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| setup | replicas | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lat: dict[str, float] = row["latency_us"]  # type: ignore[assignment]
        errors = sum(row["errors"].values())  # type: ignore[attr-defined]
        lines.append(
            f"| {row['setup']} | {row['replicas']} | {row['requests_per_s']:.1f} | {lat['p50'] / 1000:.1f} | "
            f"{lat['p90'] / 1000:.1f} | {lat['p99'] / 1000:.1f} | {lat['max'] / 1000:.1f} | {errors} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", default="1,2", help="replica counts behind nginx, comma-separated (default 1,2)")
    parser.add_argument("--duration", type=float, default=30, help="seconds per measured run (default 30)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of discarded warm-up per setup (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections kept busy (default 8)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--nginx-workers", type=int, default=1, help="nginx worker processes (default 1)")
    parser.add_argument("--no-direct", action="store_true", help="skip the one-replica-without-nginx baseline")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    counts = [int(c) for c in args.replicas.split(",") if c.strip()]
    if not counts or min(counts) < 1:
        parser.error("--replicas takes positive counts, e.g. 1,2")
    if nginx_lb.nginx_binary() is None:
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx)")

    env = production_env(NER_TORCH_THREADS="1", NER_INFERENCE_WORKERS="1", MALLOC_ARENA_MAX="2")
    rows: list[dict[str, object]] = []
    with ExitStack() as stack:
        # Started once; a setup with fewer replicas leaves the others idle (an idle replica uses no CPU).
        servers = [stack.enter_context(serve(env, args=["--model", "en"])) for _ in range(max(counts))]
        if not args.no_direct:
            rows.append({"setup": "direct (no nginx)", "replicas": 1, **measure(servers[0].url, args)})
        for count in counts:
            upstreams = [_address(s) for s in servers[:count]]
            with nginx_lb.balance(upstreams, free_port(), worker_processes=args.nginx_workers) as lb:
                rows.append({"setup": "nginx", "replicas": count, **measure(lb.url, args)})

    load = os.getloadavg()
    print(
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), load average before the end "
        f"{load[0]:.2f}; wrk {args.connections} connections, {args.wrk_threads} thread(s), {args.duration:g} s "
        f"after {args.warmup:g} s warm-up; replicas: ner serve --model en, NER_TORCH_THREADS=1, "
        f"NER_INFERENCE_WORKERS=1; nginx worker_processes {args.nginx_workers}\n"
    )
    print(table(rows))
    if args.out:
        settings = {k: v for k, v in vars(args).items() if k != "out"}
        args.out.write_text(json.dumps({"cpus": os.cpu_count(), "settings": settings, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
