"""Structured logs and request ids: one JSON object per log line, each tagged with its request's id.

``RequestContext`` (an ASGI middleware, the outermost) gives every HTTP request an id — the caller's
``X-Request-ID`` when it is sane, else a new ``uuid4().hex`` — echoes it in the ``X-Request-ID``
response header of every answer (errors included), and logs one ``api.access`` line per request
with method, path, status and duration. Every log record emitted while a request runs carries its
``request_id`` (``RequestIdFilter``). The JSON formatting itself is python-json-logger's.

Request texts never reach these lines: only ``NER_LOG_TEXTS`` (in ``api.routes.ner``) logs them.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is short and made of characters that are safe in a header, a log
# line and a shell: letters, digits and . _ : - (UUIDs, hex trace ids, ULIDs all qualify).
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
access_logger = logging.getLogger("api.access")

LogFormat = Literal["json", "text"]
# The keys of every JSON line, in this order; request fields are null outside a request.
JSON_FIELDS = ("time", "level", "logger", "message", "request_id", "method", "path", "status", "duration_ms")


def current_request_id() -> str | None:
    """The id of the request this code runs for, or ``None`` outside a request."""
    return _request_id.get()


def request_id_from(value: str | None) -> str:
    """The caller's id if it is sane (1-128 of ``A-Z a-z 0-9 . _ : -``), else a new uuid4 hex."""
    if value is not None and _SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (and empty request fields) to every record, so each line has the same keys."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        for key in ("method", "path", "status", "duration_ms"):
            if not hasattr(record, key):
                setattr(record, key, None)
        return True


def _iso_time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class _JsonFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _iso_time(record)


class _TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _iso_time(record)


def json_formatter() -> logging.Formatter:
    """python-json-logger's formatter writing ``JSON_FIELDS`` (``time``: ISO 8601 UTC with milliseconds),
    then ``exc_info`` when there is a traceback and any other ``extra`` a caller passed."""
    return _JsonFormatter(
        " ".join(f"%({f})s" for f in ("asctime", "levelname", "name", "message", *JSON_FIELDS[4:])),
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        # uvicorn passes color_message (its message with ANSI colours); Python 3.12 adds taskName.
        reserved_attrs=[*RESERVED_ATTRS, "color_message", "taskName"],
        json_ensure_ascii=False,
    )


def text_formatter() -> logging.Formatter:
    return _TextFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def configure_logging(fmt: LogFormat = "json", level: int = logging.INFO) -> logging.Handler:
    """Send every logger's records (uvicorn's included) to stderr as JSON lines (or text); returns the handler.

    Replaces the root logger's handlers, so calling it again does not duplicate lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if fmt == "json" else text_formatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers propagate to the root once uvicorn is run with log_config=None; its access
    # log is replaced by api.access (which has the request id and duration).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler


class RequestContext:
    """ASGI middleware: request id in, ``X-Request-ID`` out, one access log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(REQUEST_ID_HEADER))
        # Also on the request's state: the 500 handler runs outside this middleware (after the reset below).
        scope.setdefault("state", {})["request_id"] = request_id
        token = _request_id.set(request_id)
        began = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_ms = round((time.perf_counter() - began) * 1000, 2)
            # scope["path"] is percent-decoded: quoted again (as uvicorn's access log does), a %0A in a
            # URL cannot start a forged line in the text format.
            method, path = scope["method"], quote(scope["path"], safe="/:@!$&'()*+,;=~")
            access_logger.info(
                "%s %s %d %.1f ms",
                method,
                path,
                status,
                duration_ms,
                extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
            )
            _request_id.reset(token)
