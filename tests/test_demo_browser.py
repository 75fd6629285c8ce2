"""The demo page in a real headless browser: Debian's Chromium driven by Playwright, against a real
``ner serve`` process with the shipped en and zh models.

Skipped when ``/usr/bin/chromium`` is absent (``.ci/run`` installs it). Playwright never downloads a
browser here: it launches the system one through ``executable_path``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.logs import JSON_FIELDS
from scripts.reliability.serve_process import Server, serve

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium chromium-driver) "
        "to run the browser test; .ci/run does",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

# One list of Chromium flags, shared with the screenshot script (smoke-tested below).
from scripts.screenshot_demo import CHROMIUM_ARGS, shoot  # noqa: E402

MAX_CHARS = 300
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NER_")}  # the service's defaults
    env["NER_MAX_CHARS"] = str(MAX_CHARS)
    log = tmp_path_factory.mktemp("demo") / "serve.log"
    with serve(env, log, args=["--model", "en,zh"], timeout=120) as server:
        yield server


@pytest.fixture(scope="module")
def server(running: Server) -> str:
    return running.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server}/")
    expect(page.locator("#model option")).to_have_count(2)  # the models came from GET /v1/models
    yield page
    page.close()
    # No script errors and no CSP violations (Chromium reports those on the console); an HTTP error
    # status the page asked for (the error test's 413) is logged as "Failed to load resource".
    assert not [e for e in errors if not e.startswith("Failed to load resource: the server responded")], errors


def _submit(page: Page, text: str, model: str | None = None) -> None:
    page.fill("#text", text)
    if model:
        page.select_option("#model", model)
    page.press("#text", "Control+Enter")  # the keyboard shortcut; the button is tested below
    expect(page.locator("#status")).not_to_have_text("tagging…")


def _highlights(page: Page) -> list[tuple[str, str]]:
    marks = page.locator("#output mark.ent")
    return [(m.locator(".ent-text").text_content() or "", m.get_attribute("data-label") or "") for m in marks.all()]


def test_english_text_is_highlighted_with_labels_and_scores(page: Page) -> None:
    _submit(page, "Angela Merkel visited Paris.", "en")
    assert _highlights(page) == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    first = page.locator("#output mark.ent").first
    score = float(first.get_attribute("data-score") or "nan")
    assert 0.0 <= score <= 1.0
    assert first.get_attribute("title") == f"PER · score {score:.3f}"
    first.hover()  # the label badge stays visible; the title is the hover text
    assert first.locator(".ent-label").text_content() == "PER"
    # The whole text is there, entities and the rest, in order.
    assert page.locator("#output").text_content() == "Angela MerkelPER visited ParisLOC."
    # The legend shows each label with the count found; entities of one label share a colour.
    expect(page.locator("#legend li[data-label=PER]")).to_contain_text("× 1")
    colours = page.eval_on_selector_all("#output mark.ent", "ms => ms.map(m => m.style.getPropertyValue('--ent'))")
    assert len(set(colours)) == 2
    raw: Any = page.locator("#raw").text_content()
    assert '"label": "PER"' in raw and '"model": "en"' in raw


def test_the_chinese_example_is_highlighted(page: Page) -> None:
    page.click("button[data-example=zh]")
    assert page.input_value("#model") == "zh"  # picking the example picks a model of its language
    page.click("#submit")
    expect(page.locator("#output mark.ent")).not_to_have_count(0)
    highlights = _highlights(page)
    assert ("张三", "PER") in highlights and ("北京大学", "ORG") in highlights and ("上海", "LOC") in highlights


def test_offsets_after_an_emoji_point_at_the_entity(page: Page) -> None:
    # The API's offsets are code points; in UTF-16 each emoji is two units, so a naive slice is shifted.
    _submit(page, "😀😀 Angela Merkel visited Paris 🇫🇷.", "en")
    assert _highlights(page) == [("Angela Merkel", "PER"), ("Paris", "LOC")]
    assert page.locator("#output").text_content() == "😀😀 Angela MerkelPER visited ParisLOC 🇫🇷."


def test_markup_in_the_text_stays_text(page: Page) -> None:
    attack = '<img src=x onerror="window.__xss=1"><b>Paris</b> <script>window.__xss=2</script>'
    _submit(page, attack, "en")
    assert page.locator("#output img, #output b, #output script").count() == 0
    assert page.evaluate("window.__xss") is None
    text = page.locator("#output").text_content() or ""
    assert "<img src=x" in text and "<script>" in text


def test_an_api_error_is_shown(page: Page) -> None:
    _submit(page, "x" * (MAX_CHARS + 1), "en")
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error.locator("code")).to_have_text("text_too_long")
    expect(error).to_contain_text(f"the limit is {MAX_CHARS}")
    expect(error).to_contain_text("(request ")  # the request id, to find the log line
    assert '"code": "text_too_long"' in (page.locator("#raw").text_content() or "")
    assert page.locator("#output mark").count() == 0
    # The next good request clears the error.
    _submit(page, "Paris", "en")
    expect(error).to_be_hidden()
    assert _highlights(page) == [("Paris", "LOC")]


def test_the_screenshot_script_tags_and_saves_a_png(page: Page, server: str, tmp_path: Path) -> None:
    shot = shoot(page, server, "en", tmp_path / "demo.png")
    assert (tmp_path / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ["Angela Merkel", "PER"] in shot["entities"] and ["Geneva", "LOC"] in shot["entities"]  # type: ignore[operator]


def test_the_server_logged_json_lines_with_request_ids(running: Server) -> None:
    # Runs last: the pages above were served by this process. Every line of its stderr is one JSON object.
    lines = [json.loads(line) for line in running.log.read_text(encoding="utf-8").splitlines()]
    assert lines and all(list(line) == list(JSON_FIELDS) for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's own lines too
    access = [line for line in lines if line["logger"] == "api.access"]
    served = {(a["method"], a["path"], a["status"]) for a in access}
    assert {("GET", "/", 200), ("GET", "/static/demo.js", 200), ("POST", "/v1/ner", 413)} <= served
    assert all(a["request_id"] for a in access)
    assert not any("Merkel" in line["message"] for line in lines)  # no request texts (NER_LOG_TEXTS is off)
