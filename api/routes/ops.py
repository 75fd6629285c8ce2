"""Operations: ``/health`` (alive), ``/ready`` (models loaded), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import State

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict[str, str]:
    """200 while the process is alive."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "Not ready: models loading, or one failed (same body)"}})
def ready(state: State) -> JSONResponse:
    """200 once every configured model is loaded; 503 before, or when one failed to load."""
    missing = [n for n in state.settings.models if state.registry.get(n) is None]
    errors = state.registry.errors()
    status = "ready" if not missing else ("failed" if state.loading_done else "loading")
    body = {"status": status, "models": state.registry.names(), "missing": missing, "errors": errors}
    return JSONResponse(body, status_code=200 if not missing else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(state: State) -> Response:
    """Prometheus text format: requests, latencies, texts, entities, reloads."""
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
