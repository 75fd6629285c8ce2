"""Screenshots of the demo page for the README: the English and the Chinese example, tagged.

Starts ``ner serve`` (shipped ``en`` and ``zh`` models, default settings) on a free loopback port, or
uses a running service (``--url``), opens the page in Debian's Chromium through Playwright (never a
downloaded browser), clicks each example, submits it, waits for the highlighted entities and saves
a PNG per example:

    python scripts/screenshot_demo.py                       # docs/demo.png and docs/demo-zh.png
    python scripts/screenshot_demo.py --url http://127.0.0.1:8000 --examples en --out-dir /tmp

Prints one JSON line per screenshot: file, size in pixels and bytes, and the entities the page shows. The
Chinese text needs a CJK font (Debian: ``apt-get install fonts-wqy-microhei`` or ``fonts-noto-cjk``);
without one Chromium draws empty boxes.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: scripts.reliability is found from the repository root

from scripts.reliability.serve_process import production_env, serve  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
# Headless and quiet: no GPU, no sandbox (CI runs as root), no calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The file each example's screenshot is written to, under --out-dir.
FILES = {"en": "demo.png", "zh": "demo-zh.png"}
TIMEOUT_MS = 30_000


@contextmanager
def service(url: str | None) -> Iterator[str]:
    """``url`` as is, or a fresh ``ner serve --model en,zh`` on default settings, stopped on exit."""
    if url:
        yield url.rstrip("/")
        return
    with serve(production_env(), args=["--model", "en,zh"], timeout=180) as running:
        yield running.url


def shoot(page: Page, url: str, example: str, out: Path, full_page: bool = False) -> dict[str, object]:
    """Tag ``example`` on a freshly loaded page and save the viewport (or the whole page) to ``out``."""
    page.goto(f"{url}/")
    expect(page.locator("#model option")).not_to_have_count(0)  # GET /v1/models answered
    page.click(f"button[data-example={example}]")
    page.click("#submit")
    marks = page.locator("#output mark.ent")
    expect(marks).not_to_have_count(0)
    expect(page.locator("#status")).not_to_have_text("tagging…")
    page.screenshot(path=str(out), full_page=full_page)
    entities = [[m.locator(".ent-text").text_content(), m.get_attribute("data-label")] for m in marks.all()]
    width, height = struct.unpack(">II", out.read_bytes()[16:24])  # the PNG's IHDR chunk
    return {"file": str(out), "png_px": [width, height], "bytes": out.stat().st_size, "entities": entities}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running service (default: start ner serve --model en,zh)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs", help="where the PNGs go (default: docs/)")
    parser.add_argument("--examples", nargs="+", choices=sorted(FILES), default=sorted(FILES))
    parser.add_argument("--width", type=int, default=960, help="viewport width in CSS pixels")
    parser.add_argument("--height", type=int, default=820, help="viewport height: the top of the raw JSON shows")
    parser.add_argument("--full-page", action="store_true", help="the whole page, all of the raw JSON included")
    parser.add_argument("--scale", type=float, default=1.5, help="device pixels per CSS pixel (sharper text)")
    parser.add_argument("--chromium", type=Path, default=CHROMIUM, help="the Chromium binary")
    args = parser.parse_args(argv)
    if not args.chromium.exists():
        parser.error(f"{args.chromium} is absent: apt-get install chromium (or pass --chromium PATH)")
    args.out_dir.mkdir(parents=True, exist_ok=True)

    with service(args.url) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(args.chromium), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": args.width, "height": args.height},
                device_scale_factor=args.scale,
                color_scheme="light",
            )
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            for example in args.examples:
                shot = shoot(page, url, example, args.out_dir / FILES[example], args.full_page)
                print(json.dumps(shot, ensure_ascii=False))
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
