"""Hot reload under load: answers must never change, fail or mix up while a model is swapped.

Starts ``ner serve`` with an admin key (or uses ``--url`` and ``--api-key``; the server must see this
machine's files), computes the expected answer to a fixed set of requests for both models, then keeps
several client threads sending them and comparing every answer with the expected one, while the main
thread reloads the model ``--reloads`` times, alternating between the shipped checkpoint and a copy of
it in a temporary directory (same weights, another path: any changed or failed answer is a bug). A
few reloads of a corrupted copy (``model.safetensors`` truncated) are interleaved; each must be
refused with 422 ``checkpoint_rejected`` while the answers stay right. The run ends on the shipped
checkpoint.

    python scripts/reliability/reload_under_load.py --reloads 20 --out reload.json

Prints a Markdown table, writes the figures as JSON, and exits 1 on any failed or mismatched
request or any reload that did not end as expected.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from serve_process import production_env, rss_kib, serve
from soak import entities_problem, fmt_ms, percentile

# Requests whose answers are fixed before the run: short texts, a long text and a batch per model.
EN_TEXTS = [
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday, Reuters said.",
    "Barack Obama spoke in Chicago.",
    "IBM and Siemens signed an agreement in Berlin worth 3 billion euros.",
    "Police in Cairo said 12 people were injured when a bus crashed on Monday.",
    "Lionel Messi scored twice as Real Madrid beat Barcelona 3-1 in Madrid.",
    "",
]
ZH_TEXTS = [
    "张三在北京大学工作，昨天去了上海。",
    "中国外交部发言人在上海表示，双方将于5月3日举行会谈。",
    "李明和王芳于1998年在深圳创办了一家公司。",
    "据新华社报道，武汉今年第2季度经济增长6.5%。",
    "来自成都的周杰伦获得了本届比赛的冠军！",
]
REQUESTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    lang: [
        *(("/v1/ner", {"text": t}) for t in texts),
        ("/v1/ner", {"text": " ".join(texts * 12) if lang == "en" else "".join(texts * 20)}),
        ("/v1/ner/batch", {"texts": texts * 5}),
    ]
    for lang, texts in (("en", EN_TEXTS), ("zh", ZH_TEXTS))
}


@dataclass(frozen=True)
class Call:
    began: float  # time.monotonic()
    ended: float
    model: str
    status: int  # 0: no response
    mismatch: bool
    error: str


@dataclass(frozen=True)
class Reload:
    began: float
    ended: float
    model: str
    kind: str  # "shipped", "copy" or "corrupt"
    status: int
    ok: bool  # ended as expected: 200 with the right path and digest, or 422 for a corrupt copy
    detail: str


def _texts(body: dict[str, Any]) -> list[str]:
    return body["texts"] if "texts" in body else [body["text"]]


def _entity_lists(answer: dict[str, Any]) -> list[Any]:
    return [r["entities"] for r in answer["results"]] if "results" in answer else [answer["entities"]]


def expected_answers(client: httpx.Client, models: Sequence[str]) -> dict[tuple[str, int], dict[str, Any]]:
    """Each request's answer before any reload, asked twice: the service must be deterministic."""
    expected: dict[tuple[str, int], dict[str, Any]] = {}
    for model in models:
        for i, (path, body) in enumerate(REQUESTS[model]):
            answers = [client.post(path, json={**body, "model": model}) for _ in range(2)]
            for a in answers:
                a.raise_for_status()
            if answers[0].json() != answers[1].json():
                raise RuntimeError(f"{model} request {i}: the same request gave two different answers")
            answer = answers[0].json()
            for text, entities in zip(_texts(body), _entity_lists(answer)):
                if problem := entities_problem(text, entities):
                    raise RuntimeError(f"{model} request {i}: {problem}")
            expected[model, i] = answer
    return expected


def client_loop(
    url: str, models: Sequence[str], expected: dict[tuple[str, int], dict[str, Any]], offset: int,
    stop: threading.Event, calls: list[Call], mismatches: list[str],
) -> None:  # fmt: skip
    """Send the fixed requests round-robin over both models until ``stop``; record every call."""
    plan = [(m, i) for m in models for i in range(len(REQUESTS[m]))]
    n = offset
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            model, i = plan[n % len(plan)]
            n += 1
            path, body = REQUESTS[model][i]
            began = time.monotonic()
            status, mismatch, error = 0, False, ""
            try:
                response = client.post(path, json={**body, "model": model})
                status = response.status_code
                if status != 200:
                    error = f"HTTP {status}: {response.text[:200]}"
                elif response.json() != expected[model, i]:
                    mismatch = True
                    mismatches.append(f"{model} request {i}: got {response.text[:300]}")
            except (httpx.HTTPError, ValueError) as e:  # no answer, or one that is not JSON
                error = f"{type(e).__name__}: {e}"
            calls.append(Call(began, time.monotonic(), model, status, mismatch, error))


def reload(
    client: httpx.Client, key: str, model: str, kind: str, path: Path, digest: str, last_good: dict[str, str]
) -> Reload:
    """Ask for one reload and check its outcome (and, after a refusal, that the old model still serves)."""
    began = time.monotonic()
    try:
        response = client.post(f"/v1/models/{model}/reload", json={"path": str(path)}, headers={"X-API-Key": key})
    except httpx.HTTPError as e:
        return Reload(began, time.monotonic(), model, kind, 0, False, f"{type(e).__name__}: {e}")
    ended = time.monotonic()
    status = response.status_code
    try:
        answer = response.json()
    except ValueError:
        return Reload(began, ended, model, kind, status, False, f"not JSON: {response.text[:200]}")
    if kind == "corrupt":
        code = answer.get("error", {}).get("code")
        serving = next(m for m in client.get("/v1/models").json()["models"] if m["name"] == model)
        ok = status == 422 and code == "checkpoint_rejected" and serving["path"] == last_good[model]
        detail = f"{code}; still serving {serving['path']}"
    else:
        loaded = answer.get("model", {})
        ok = status == 200 and loaded.get("path") == str(path.resolve()) and loaded.get("digest") == digest
        detail = f"{loaded.get('path')} {str(loaded.get('digest'))[:19]}" if status == 200 else response.text[:300]
        if ok:
            last_good[model] = str(path.resolve())
    return Reload(began, ended, model, kind, status, ok, detail)


def schedule(models: Sequence[str], reloads: int, corrupt: int) -> list[tuple[str, str]]:
    """(model, kind) per reload: good reloads alternate copy/shipped and end on the shipped checkpoint;
    the corrupt ones are spread evenly between them."""
    good = [(models[i % len(models)], "shipped" if (reloads - i) % 2 == 1 else "copy") for i in range(reloads)]
    plan = list(good)
    for k in range(corrupt, 0, -1):
        at = round(k * reloads / (corrupt + 1))
        plan.insert(at, (models[k % len(models)], "corrupt"))
    return plan


def prepare_checkpoints(shipped: Path, models: Sequence[str], tmp: Path) -> dict[tuple[str, str], Path]:
    """The shipped checkpoint, a byte-identical copy and a truncated copy, per model."""
    paths: dict[tuple[str, str], Path] = {}
    for model in models:
        paths[model, "shipped"] = shipped / model
        paths[model, "copy"] = Path(shutil.copytree(shipped / model, tmp / f"{model}-copy"))
        corrupt = Path(shutil.copytree(shipped / model, tmp / f"{model}-corrupt"))
        weights = corrupt / "model.safetensors"
        with open(weights, "r+b") as f:
            f.truncate(weights.stat().st_size // 2)
        paths[model, "corrupt"] = corrupt
    return paths


def summarise(calls: list[Call], reloads: list[Reload], mismatches: list[str]) -> dict[str, Any]:
    def latency(selected: list[Call]) -> dict[str, Any]:
        ms = [1000 * (c.ended - c.began) for c in selected]
        return {"requests": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p99_ms": round(percentile(ms, 99), 1)}

    def during_reload(c: Call) -> bool:
        return any(c.began < r.ended and c.ended > r.began for r in reloads)

    failures = [c for c in calls if c.status != 200]
    errors: dict[str, int] = {}
    for c in failures:
        errors[c.error[:160]] = errors.get(c.error[:160], 0) + 1
    reload_ms = [1000 * (r.ended - r.began) for r in reloads if r.kind != "corrupt"]
    return {
        "requests": len(calls),
        "requests_by_model": {m: sum(c.model == m for c in calls) for m in sorted({c.model for c in calls})},
        "failures": len(failures),
        "mismatches": sum(c.mismatch for c in calls),
        "reloads_ok": sum(r.ok and r.kind != "corrupt" for r in reloads),
        "reloads_refused": sum(r.ok and r.kind == "corrupt" for r in reloads),
        "reloads_unexpected": [r.__dict__ for r in reloads if not r.ok],
        "reload_ms": {"p50": round(percentile(reload_ms, 50)), "max": round(max(reload_ms, default=0))},
        "latency": {
            "all": latency(calls),
            "during_reloads": latency([c for c in calls if during_reload(c)]),
            "between_reloads": latency([c for c in calls if not during_reload(c)]),
        },
        "error_kinds": errors,
        "mismatch_examples": mismatches[:5],
    }


def markdown(s: dict[str, Any], planned: int, corrupt: int, threads: int, seconds: float) -> str:
    lat = s["latency"]
    by_model = ", ".join(f"{m} {n}" for m, n in s["requests_by_model"].items())
    lines = [
        f"## Reload under load: {planned} reloads + {corrupt} corrupt, {threads} client threads, {seconds:.0f} s",
        "",
        "| figure | value |",
        "|---|---|",
        f"| requests | {s['requests']} ({by_model}) |",
        f"| failures (non-200 or no answer) | {s['failures']} |",
        f"| mismatches (200 but not the expected answer) | {s['mismatches']} |",
        f"| reloads ok | {s['reloads_ok']} of {planned} (p50 {s['reload_ms']['p50']} ms, "
        f"max {s['reload_ms']['max']} ms) |",
        f"| corrupt reloads refused with 422 | {s['reloads_refused']} of {corrupt} |",
        f"| reloads not as expected | {len(s['reloads_unexpected'])} |",
    ]
    rss = s.get("rss_kib", {})
    if rss.get("before") and rss.get("after"):
        before, after = rss["before"] / 1024, rss["after"] / 1024
        change = f"{before:.0f} → {after:.0f} MiB ({after - before:+.0f} MiB)"
        lines.append(f"| server RSS before → after the reloads | {change} |")
    for name, key in (("all", "all"), ("during reloads", "during_reloads"), ("between reloads", "between_reloads")):
        row = lat[key]
        lines.append(
            f"| latency {name} (n={row['requests']}) | p50 {fmt_ms(row['p50_ms'])} ms, p99 {fmt_ms(row['p99_ms'])} ms |"
        )
    for error, count in s["error_kinds"].items():
        lines.append(f"\n- {count}× {error}")
    for example in s["mismatch_examples"]:
        lines.append(f"\n- mismatch: {example}")
    for r in s["reloads_unexpected"]:
        lines.append(f"\n- unexpected reload: {r['model']} {r['kind']} → HTTP {r['status']}: {r['detail']}")
    return "\n".join(lines)


@contextmanager
def _server(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[str, str, int | None]]:
    if args.url:
        yield args.url.rstrip("/"), args.api_key, args.pid
    else:
        key = secrets.token_urlsafe(16)
        with serve(production_env(NER_API_KEY=key), workdir / "serve.log") as server:
            url, pid = server.url, server.pid
            yield url, key, pid


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="use this running service (it must read this machine's files)")
    parser.add_argument("--api-key", help="with --url: its NER_API_KEY")
    parser.add_argument("--pid", type=int, help="with --url: the server's pid, for its RSS before and after")
    parser.add_argument("--reloads", type=int, default=20, help="good reloads (alternating copy / shipped)")
    parser.add_argument("--corrupt", type=int, default=3, help="reloads of a truncated checkpoint (must be 422)")
    parser.add_argument("--models", default="en", help="models to reload, comma-separated, taken in turn")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between reloads")
    parser.add_argument("--out", type=Path, default=Path("reload_under_load.json"), help="JSON report")
    args = parser.parse_args(argv)
    if args.url and not args.api_key:
        parser.error("--url needs --api-key")
    from ner.checkpoint import SHIPPED  # imports torch: only once the arguments are known

    reload_models = [m.strip() for m in args.models.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="reload-") as tmp:
        paths = prepare_checkpoints(SHIPPED, reload_models, Path(tmp))
        with _server(args, Path(tmp)) as (url, key, pid), httpx.Client(base_url=url, timeout=300) as admin:
            served = {m["name"]: m for m in admin.get("/v1/models").json()["models"]}
            digests = {m: served[m]["digest"] for m in reload_models}
            last_good = {m: served[m]["path"] for m in reload_models}
            expected = expected_answers(admin, list(REQUESTS))
            stop, calls, mismatches = threading.Event(), [], []  # list.append is atomic: no lock needed
            threads = [
                threading.Thread(
                    target=client_loop, args=(url, list(REQUESTS), expected, 3 * t, stop, calls, mismatches)
                )
                for t in range(args.threads)
            ]
            rss_before = rss_kib(pid) if pid else None
            began = time.monotonic()
            for t in threads:
                t.start()
            reloads: list[Reload] = []
            try:
                time.sleep(1.0)  # the load is running before the first swap
                for model, kind in schedule(reload_models, args.reloads, args.corrupt):
                    reloads.append(reload(admin, key, model, kind, paths[model, kind], digests[model], last_good))
                    time.sleep(args.interval)
                time.sleep(1.0)
            finally:
                stop.set()
                for t in threads:
                    t.join()
            seconds = time.monotonic() - began
            rss_after = rss_kib(pid) if pid else None
    summary = summarise(calls, reloads, mismatches)
    summary["rss_kib"] = {"before": rss_before, "after": rss_after}
    report = {"reloads_planned": args.reloads, "corrupt_planned": args.corrupt, "threads": args.threads}
    args.out.write_text(json.dumps({**report, "seconds": round(seconds, 1), **summary}, indent=2) + "\n")
    print(markdown(summary, args.reloads, args.corrupt, args.threads, seconds))
    print(f"\nJSON: {args.out}")
    bad = summary["failures"] or summary["mismatches"] or summary["reloads_unexpected"]
    return 1 if bad or summary["reloads_ok"] != args.reloads or summary["reloads_refused"] != args.corrupt else 0


if __name__ == "__main__":
    sys.exit(main())
