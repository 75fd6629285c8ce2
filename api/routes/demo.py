"""The demo page: ``GET /`` (``api/static/index.html``) and its script and style under ``/static``.

Plain files, no build step: the page calls the public API (``GET /v1/models``, ``POST /v1/ner``)
like any other client. Kept out of the OpenAPI schema. Off with ``NER_DEMO=false``.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# The page loads only its own files and talks only to this origin; with no inline script allowed, an
# injected <script> or onerror= would not run even if text ever reached the DOM as HTML (it does not:
# demo.js builds the result with text nodes).
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate on every load (cheap: ETag / Last-Modified), so an upgraded service shows its new page.
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


class _StaticFiles(StaticFiles):
    """Starlette's StaticFiles (which refuses paths outside its directory) with the page's headers."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(HEADERS)
        return response


@router.api_route("/", methods=["GET", "HEAD"])
def page() -> FileResponse:
    """The demo page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=HEADERS)


def install(app: FastAPI) -> None:
    """Serve the page at ``/`` and its files at ``/static``."""
    app.include_router(router)
    app.mount("/static", _StaticFiles(directory=STATIC_DIR), name="static")
