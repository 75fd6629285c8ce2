"""One JSON error shape for every failure:
``{"error": {"code": ..., "message": ..., "details": ..., "request_id": ...}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.logs import REQUEST_ID_HEADER, current_request_id
from api.schemas import ErrorResponse

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered with ``status`` and a JSON body naming the problem."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
    request_id: str | None = None,
) -> JSONResponse:
    """The JSON error answer; ``request_id`` defaults to the id of the request being served (api.logs)."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    request_id = request_id or current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
    return JSONResponse({"error": body}, status_code=status, headers=headers)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}

_DESCRIPTIONS = {
    400: "Malformed request framing (bad_content_length)",
    401: "Missing or wrong X-API-Key (unauthorized)",
    403: "Admin endpoints disabled: NER_API_KEY is unset (admin_disabled)",
    404: "Unknown model or path (unknown_model, not_found)",
    413: "Over a limit (text_too_long, too_many_texts, payload_too_large)",
    408: "Body not received in time (body_timeout)",
    415: "Body is not JSON (unsupported_media_type)",
    422: "Invalid JSON or request (invalid_json, invalid_request, invalid_model_name, checkpoint_rejected)",
    503: "Model still loading (model_loading), or too many requests waiting for the model (overloaded)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a route: each status answered with the JSON error shape."""
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in statuses}


def _undecodable(cause: BaseException | None) -> str | None:
    """Why ``json.loads`` failed on a body for a reason other than syntax; ``None`` if that is not the case."""
    if isinstance(cause, UnicodeDecodeError):
        return "it is not UTF-8"
    if isinstance(cause, RecursionError):
        return "it is nested too deeply"
    if isinstance(cause, ValueError):  # e.g. an integer over Python's 4300-digit conversion limit
        return "it holds a value that cannot be decoded"
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception to the JSON error shape; unexpected ones are logged and become a 500."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        if any(d["type"] == "json_invalid" for d in details):
            return error_response(422, "invalid_json", "request body is not valid JSON", details)
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
        return error_response(422, "invalid_request", f"{where}: {first['msg']}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers a body that json.loads rejects for a reason other than syntax (bytes that are
        # not UTF-8, nesting past the recursion limit, a 10,000-digit number) with a bare 400 raised
        # from the decoding error. To a client that is invalid JSON like any other.
        reason = _undecodable(exc.__cause__) if exc.status_code == 400 else None
        if reason is not None:
            return error_response(422, "invalid_json", f"request body is not valid JSON: {reason}")
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        # Keep the exception's headers: a 405 must say which methods are allowed (Allow).
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette runs this handler outside every middleware, RequestContext included: the id comes
        # from the request's state, and the header is set here.
        request_id = getattr(request.state, "request_id", None)
        logger.exception("unhandled error on %s %s", request.method, request.url.path, extra={"request_id": request_id})
        headers = {REQUEST_ID_HEADER: request_id} if request_id else None
        message = "internal error; see the service log"
        return error_response(500, "internal_error", message, headers=headers, request_id=request_id)
