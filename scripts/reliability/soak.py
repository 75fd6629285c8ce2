"""Load and soak run: a constant request rate of the mix in ``locustfile.py`` for minutes on end.

Starts ``ner serve`` with production settings (default limits, both shipped models) on a free port,
or drives a running service (``--url``; pass ``--pid`` for its memory figures). After a warm-up at the
same rate it measures, from one sample per request: throughput, p50/p95/p99 latency overall and per
request type, errors (non-200 or malformed entities), the server's RSS after warm-up and at the end,
and latency drift (p50/p95 of the first minute against the last minute). Prints a Markdown table and
writes the figures as JSON.

    python scripts/reliability/soak.py --minutes 5 --rate 20 --out soak.json

The default rate, 20 requests/s, is what a 2-core machine sustains with this mix before requests
queue (about 1.3 in flight on average, short texts answered in their idle time of ~10-20 ms); at 30/s
four are in flight and p50 triples, and about 40/s saturates it.

Exit status: 0; 1 when any request failed; 2 with ``--strict`` when RSS grew by ``--max-rss-growth``
percent or more or latency drifted by more than ``--max-drift``.

Also the shared helpers of the reliability scripts (server start, entity checks, percentiles); it
imports nothing heavy, so ``locustfile.py`` and ``reload_under_load.py`` import it.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from serve_process import production_env, rss_kib, serve  # this directory is on sys.path (script, locust)

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "locustfile.py"


# ---- shared helpers ---------------------------------------------------------------------------


def entities_problem(text: str, entities: Any) -> str | None:
    """What is wrong with the entities the service gave for ``text``, or ``None`` when well-formed:
    a list of {text, label, start, end, score} with ``text[start:end] == text``, sorted, non-overlapping."""
    if not isinstance(entities, list):
        return "entities is not a list"
    previous_end = 0
    for e in entities:
        if not isinstance(e, dict):
            return f"entity {e!r} is not an object"
        start, end, label, score = e.get("start"), e.get("end"), e.get("label"), e.get("score")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
            return f"entity {e} has bad offsets for a text of {len(text)} characters"
        if text[start:end] != e.get("text"):
            return f"entity {e} does not match text[{start}:{end}] = {text[start:end]!r}"
        if start < previous_end:
            return f"entity {e} overlaps or is out of order (previous ends at {previous_end})"
        if not isinstance(label, str) or not label:
            return f"entity {e} has no label"
        if not isinstance(score, int | float) or not 0.0 <= score <= 1.0:
            return f"entity {e} has a score outside [0, 1]"
        previous_end = end
    return None


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time ``pid`` has used so far, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


def fmt_ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


# ---- the soak ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    start: float  # epoch seconds the request was sent
    name: str  # request type (locust task name)
    ms: float
    ok: bool
    error: str


def read_samples(path: Path) -> list[Sample]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [Sample(float(r["start"]), r["name"], float(r["ms"]), r["ok"] == "1", r["error"]) for r in rows]


def latency_row(samples: Sequence[Sample], seconds: float) -> dict[str, Any]:
    ms = [s.ms for s in samples]
    return {
        "requests": len(samples),
        "rate": round(len(samples) / seconds, 2) if seconds > 0 else math.nan,
        "errors": sum(not s.ok for s in samples),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else math.nan,
    }


def prewarm(url: str) -> None:
    """One request of each kind before the clock starts, so first-call costs stay out of the figures."""
    en, zh = "Angela Merkel visited Paris on Monday, Reuters said.", "张三在北京大学工作，昨天去了上海。"
    with httpx.Client(base_url=url, timeout=120) as client:
        for model, text in (("en", en), ("zh", zh)):
            for body in ({"text": text}, {"text": (text + " ") * 60}, {"texts": [text] * 32}):
                path = "/v1/ner/batch" if "texts" in body else "/v1/ner"
                response = client.post(path, json={**body, "model": model})
                response.raise_for_status()


def run_locust(
    url: str, rate: float, users: int, seconds: float, workdir: Path, pid: int | None
) -> tuple[Path, list[tuple[float, int]], dict[str, float]]:
    """Run the locust mix headless; return the samples file, RSS readings (epoch, KiB) and CPU use."""
    samples = workdir / "samples.csv"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
        "-u", str(users), "-r", str(users),  # all users at once: each waits a random phase first
        "-t", f"{math.ceil(seconds)}s", "--stop-timeout", "60", "--user-rate", f"{rate / users:g}",
        "--samples", str(samples), "--csv", str(workdir / "locust"), "--csv-full-history",
        "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    rss: list[tuple[float, int]] = []
    log = workdir / "locust.log"
    busy0, total0 = machine_busy()
    server_cpu0 = cpu_seconds(pid) if pid else None
    began, locust_cpu = time.monotonic(), 0.0
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=HERE)
        while process.poll() is None:
            if pid is not None and (kib := rss_kib(pid)) is not None:
                rss.append((time.time(), kib))
            locust_cpu = cpu_seconds(process.pid) or 0.0
            time.sleep(1.0)
    wall = time.monotonic() - began
    if pid is not None and (kib := rss_kib(pid)) is not None:
        rss.append((time.time(), kib))
    busy1, total1 = machine_busy()
    if not samples.exists():
        raise RuntimeError(f"locust wrote no samples (exit {process.returncode}):\n{log.read_text()[-3000:]}")
    cores = os.cpu_count() or 1
    cpu = {
        "machine_busy_pct": round(100 * (busy1 - busy0) / (total1 - total0), 1),  # of all cores
        "locust_cores": round(locust_cpu / wall, 2),
        "cores": cores,
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }
    if server_cpu0 is not None and (server_cpu1 := cpu_seconds(pid)) is not None:  # type: ignore[arg-type]
        cpu["server_cores"] = round((server_cpu1 - server_cpu0) / wall, 2)
    return samples, rss, cpu


def summarise(
    samples: list[Sample], rss: list[tuple[float, int]], warmup: float, minutes: float, window: float
) -> dict[str, Any]:
    t0 = min(s.start for s in samples)
    begin, end = t0 + warmup, t0 + warmup + minutes * 60
    measured = [s for s in samples if begin <= s.start < end]
    seconds = min(end, max(s.start for s in samples)) - begin
    names = sorted({s.name for s in samples})
    window = min(window, seconds / 3)
    first = [s.ms for s in measured if s.start < begin + window]
    last = [s.ms for s in measured if s.start >= begin + seconds - window]
    after_warmup = [kib for t, kib in rss if t >= begin]
    rss_start = after_warmup[0] if after_warmup else None
    rss_end = rss[-1][1] if rss else None
    errors: dict[str, int] = {}
    for s in samples:
        if not s.ok:
            key = f"{s.name}: {s.error[:160]}"
            errors[key] = errors.get(key, 0) + 1
    return {
        "measured_seconds": round(seconds, 1),
        # Little's law: requests in the server on average; near 1 or above means requests queue.
        "mean_in_flight": round(sum(s.ms for s in measured) / 1000 / seconds, 2) if seconds > 0 else None,
        "overall": latency_row(measured, seconds),
        "per_type": {n: latency_row([s for s in measured if s.name == n], seconds) for n in names},
        "errors_total": sum(errors.values()),  # warm-up included: a failure is a failure
        "warmup_requests": sum(s.start < begin for s in samples),
        "error_kinds": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:10]),
        "rss_kib": {
            "start": rss_start,
            "end": rss_end,
            "growth_pct": round(100 * (rss_end - rss_start) / rss_start, 2) if rss_start and rss_end else None,
            "max": max(after_warmup) if after_warmup else None,
            "series": [(round(t - begin, 1), kib) for t, kib in rss][:: max(1, len(rss) // 120)],
        },
        "drift": {
            "window_seconds": round(window, 1),
            "first": {"requests": len(first), "p50_ms": percentile(first, 50), "p95_ms": percentile(first, 95)},
            "last": {"requests": len(last), "p50_ms": percentile(last, 50), "p95_ms": percentile(last, 95)},
        },
    }


def verdicts(summary: dict[str, Any], rate: float, max_rss_growth: float, max_drift: float) -> dict[str, bool]:
    drift = summary["drift"]
    ratios = [drift["last"][k] / drift["first"][k] for k in ("p50_ms", "p95_ms") if drift["first"][k] > 0]
    growth = summary["rss_kib"]["growth_pct"]
    return {
        "no_errors": summary["errors_total"] == 0,
        "rate_sustained": summary["overall"]["rate"] >= 0.95 * rate,
        "rss_growth_ok": growth is None or growth < max_rss_growth,
        "no_latency_drift": all(r <= 1 + max_drift for r in ratios),
    }


def markdown(report: dict[str, Any]) -> str:
    s, v = report["summary"], report["verdicts"]
    lines = [
        f"## Soak: {report['target_rate']:g} req/s for {s['measured_seconds']:.0f} s "
        f"(after {report['warmup_seconds']:g} s warm-up), {report['users']} users",
        "",
        "| request type | requests | req/s | errors | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in [("**all**", s["overall"]), *s["per_type"].items()]:
        cells = [fmt_ms(row[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")]
        counts = f"| {name} | {row['requests']} | {row['rate']:.2f} | {row['errors']} | "
        lines.append(counts + " | ".join(cells) + " |")
    rss, drift, cpu = s["rss_kib"], s["drift"], report["cpu"]

    def mib(kib: int | None) -> str:
        return "–" if kib is None else f"{kib / 1024:.1f} MiB"

    growth = "–" if rss["growth_pct"] is None else f"{rss['growth_pct']:+.2f}%"
    first, last = drift["first"], drift["last"]
    ok = {True: "ok", False: "**FAIL**"}
    lines += [
        "",
        "| check | value | target |",
        "|---|---|---|",
        f"| errors (incl. warm-up) | {s['errors_total']} | 0: {ok[v['no_errors']]} |",
        f"| throughput | {s['overall']['rate']:.2f} req/s of {report['target_rate']:g} | ≥95%: "
        f"{ok[v['rate_sustained']]} |",
        f"| server RSS start → end | {mib(rss['start'])} → {mib(rss['end'])} ({growth}; max {mib(rss['max'])}) "
        f"| <{report['max_rss_growth']:g}%: {ok[v['rss_growth_ok']]} |",
        f"| p50 first → last {drift['window_seconds']:g} s | {fmt_ms(first['p50_ms'])} → {fmt_ms(last['p50_ms'])} ms "
        f"| ≤+{report['max_drift']:.0%}: {ok[v['no_latency_drift']]} |",
        f"| p95 first → last {drift['window_seconds']:g} s | {fmt_ms(first['p95_ms'])} → {fmt_ms(last['p95_ms'])} ms "
        "| (same) |",
        f"| mean requests in flight (rate × mean latency) | {s['mean_in_flight']} | |",
        f"| CPU | server {cpu.get('server_cores', '–')} cores, locust {cpu['locust_cores']} cores, "
        f"machine {cpu['machine_busy_pct']}% of {cpu['cores']} cores busy | |",
    ]
    for kind, count in s["error_kinds"].items():
        lines.append(f"\n- {count}× {kind}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="drive this running service instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid, for RSS and CPU figures")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="KEY=VALUE",
        help="extra environment for the server started here, e.g. NER_TORCH_THREADS=1 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--minutes", type=float, default=5.0, help="measured duration (after warm-up)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, all users together")
    parser.add_argument("--users", type=int, help="locust users (default: 3 per req/s, at least 2)")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds at the same rate before measuring")
    parser.add_argument("--window", type=float, default=60.0, help="seconds compared for drift (first vs last)")
    parser.add_argument("--max-rss-growth", type=float, default=10.0, help="percent")
    parser.add_argument("--max-drift", type=float, default=0.25, help="allowed rise of p50/p95, as a fraction")
    parser.add_argument("--strict", action="store_true", help="exit 2 when the RSS or drift target is missed")
    parser.add_argument("--out", type=Path, default=Path("soak.json"), help="JSON report")
    parser.add_argument("--keep", type=Path, help="keep locust's CSVs, per-request samples and logs here")
    args = parser.parse_args(argv)
    users = args.users or max(2, math.ceil(3 * args.rate))

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with _server(args, workdir) as (url, pid):
            prewarm(url)
            seconds = args.warmup + args.minutes * 60
            samples_file, rss, cpu = run_locust(url, args.rate, users, seconds, workdir, pid)
        samples = read_samples(samples_file)
        if not samples:
            print("locust sent no requests", file=sys.stderr)
            return 1
        summary = summarise(samples, rss, args.warmup, args.minutes, args.window)
    report = {
        "url": args.url or "ner serve (started here, production settings)",
        "server_env": args.server_env,
        "target_rate": args.rate,
        "users": users,
        "warmup_seconds": args.warmup,
        "minutes": args.minutes,
        "max_rss_growth": args.max_rss_growth,
        "max_drift": args.max_drift,
        "cpu": cpu,
        "summary": summary,
        "verdicts": verdicts(summary, args.rate, args.max_rss_growth, args.max_drift),
    }
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(markdown(report))
    print(f"\nJSON: {args.out}")
    if summary["errors_total"]:
        return 1
    v = report["verdicts"]
    return 2 if args.strict and not (v["rss_growth_ok"] and v["no_latency_drift"]) else 0


@contextmanager
def _server(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[str, int | None]]:
    if args.url:
        yield args.url.rstrip("/"), args.pid
    else:
        extra = dict(item.split("=", 1) for item in args.server_env)
        with serve(production_env(**extra), workdir / "serve.log", args=["--log-level", "warning"]) as server:
            url, pid = server.url, server.pid
            yield url, pid


if __name__ == "__main__":
    sys.exit(main())
