"""The demo page as files and headers (in-process); tests/test_demo_browser.py drives it in Chromium."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import Settings, create_app
from api.routes.demo import STATIC_DIR

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(models=("en",)))) as c:
        yield c


def test_the_page_is_served_at_the_root_with_its_headers(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-request-id"]
    assert '<script src="static/demo.js" defer></script>' in response.text
    assert client.head("/").status_code == 200


@pytest.mark.parametrize(("name", "media"), [("demo.js", "text/javascript"), ("demo.css", "text/css")])
def test_static_files_are_served_with_their_types(client: TestClient, name: str, media: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert response.content == (STATIC_DIR / name).read_bytes()
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/static/..%2fapp.py",
        "/static/..%2f..%2fapi%2fsettings.py",
        "/static/%2e%2e/app.py",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/..\\app.py",
        "/static//etc/passwd",
        "/static/",
    ],
)
def test_paths_outside_the_static_folder_are_refused(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_page_stays_out_of_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/static") for p in paths)


def test_the_page_can_be_turned_off() -> None:
    with TestClient(create_app(Settings(models=("en",), demo=False))) as c:
        response = c.get("/")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert c.get("/static/demo.js").status_code == 404


def test_the_script_never_writes_html() -> None:
    # The browser test submits markup and checks it stays text; this keeps the sinks out of the source.
    script = (STATIC_DIR / "demo.js").read_text(encoding="utf-8")
    for sink in (".innerHTML", ".outerHTML", ".insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script
    # Every element the script uses exists in the page.
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    for element_id in set(re.findall(r'\$\("([\w-]+)"\)', script)):
        assert f'id="{element_id}"' in page, element_id


def test_the_static_files_are_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["api"]
    for name in ("index.html", "demo.js", "demo.css"):
        assert any(Path("static", name).match(p) for p in patterns), name
