"""Memory of one ``ner serve`` replica with both models, for container requests and limits.

Starts ``ner serve`` (production defaults plus the given torch threads and inference workers),
then drives it through the heaviest requests the default limits allow, one stage at a time, and
prints resident memory (VmRSS) after each stage and the peak (VmHWM):

    python scripts/scaling/serve_memory.py --threads 1 --workers 1 --out memory.json

Stages: ready; 200 short sentences (en and zh); a 100,000-character text in each language (the
``NER_MAX_CHARS`` limit); a batch of 256 texts of 1,000 characters in each language (``NER_MAX_BATCH``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from scripts.reliability.serve_process import production_env, rss_kib, serve, status_kib  # noqa: E402

EN = "Angela Merkel met Emmanuel Macron in Paris on Tuesday, said Reuters. "
ZH = "张三在北京大学工作。中国外交部发言人在上海表示。"


def peak_kib(pid: int) -> int | None:
    """Peak resident set size of ``pid`` in KiB (``VmHWM``), or ``None`` if unreadable."""
    return status_kib(pid, "VmHWM")


def _repeat(sentence: str, chars: int) -> str:
    return (sentence * (chars // len(sentence) + 1))[:chars]


def stages() -> list[tuple[str, list[tuple[str, dict[str, object]]]]]:
    """(stage name, [(path, JSON body)]) in the order they run."""
    short = [("/v1/ner", {"text": EN, "model": "en"}), ("/v1/ner", {"text": ZH, "model": "zh"})] * 100
    long = [
        ("/v1/ner", {"text": _repeat(EN, 100_000), "model": "en"}),
        ("/v1/ner", {"text": _repeat(ZH, 100_000), "model": "zh"}),
    ]
    batch = [
        ("/v1/ner/batch", {"texts": [_repeat(EN, 1000)] * 256, "model": "en"}),
        ("/v1/ner/batch", {"texts": [_repeat(ZH, 1000)] * 256, "model": "zh"}),
    ]
    return [
        ("200 short sentences", short),
        ("100,000-char text, en and zh", long),
        ("batch of 256 × 1,000 chars, en and zh", batch),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="NER_TORCH_THREADS (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="NER_INFERENCE_WORKERS (default 1)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    env = production_env(
        NER_MODELS="en,zh",
        NER_TORCH_THREADS=str(args.threads),
        NER_INFERENCE_WORKERS=str(args.workers),
        MALLOC_ARENA_MAX="2",  # as the Dockerfile sets it
    )
    rows: list[dict[str, object]] = []
    with serve(env) as server, httpx.Client(base_url=server.url, timeout=300) as client:
        for name, requests in [("ready (en, zh loaded)", []), *stages()]:
            for path, body in requests:
                reply = client.post(path, json=body)
                if reply.status_code != 200:
                    raise SystemExit(f"{path} answered {reply.status_code}: {reply.text[:300]}")
            rows.append({"stage": name, "rss_kib": rss_kib(server.pid), "peak_kib": peak_kib(server.pid)})
    print(f"ner serve, models en+zh, NER_TORCH_THREADS={args.threads}, NER_INFERENCE_WORKERS={args.workers}\n")
    print("| after | RSS MiB | peak RSS MiB |\n|---|---|---|")
    for row in rows:
        print(f"| {row['stage']} | {row['rss_kib'] / 1024:.0f} | {row['peak_kib'] / 1024:.0f} |")  # type: ignore[operator]
    if args.out:
        args.out.write_text(json.dumps({"threads": args.threads, "workers": args.workers, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
