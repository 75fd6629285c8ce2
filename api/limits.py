"""Request limits enforced before the body is parsed: size (413) and content type (415).

A pure ASGI middleware: it reads at most ``max_body_bytes`` (refusing at once when
``Content-Length`` already says more), checks that a non-empty body is JSON, then replays the body
to the app. Nothing past the limit is ever buffered.
"""

from __future__ import annotations

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class RequestLimits:
    """ASGI middleware: body-size and content-type checks for requests that carry a body."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float = 30.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout  # seconds to receive the whole body: a trickling client is cut off

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            # ASCII digits only: "²".isdigit() is true, and int() refuses it.
            if not (declared.isascii() and declared.isdigit()):
                await error_response(400, "bad_content_length", "Content-Length is not a number")(scope, receive, send)
                return
            # int() refuses over 4300 digits; a length of more than 18 is too large whatever it says.
            digits = declared.lstrip("0") or "0"
            length = int(digits) if len(digits) <= 18 else None
            if length is None or length > self.max_body_bytes:
                await self._too_large(scope, receive, send, length)
                return
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.body_timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_body_bytes:
                    await self._too_large(scope, receive, send, None)
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            message = f"request body not received within {self.body_timeout:g} s (NER_BODY_TIMEOUT)"
            await error_response(408, "body_timeout", message)(scope, receive, send)
            return
        body = b"".join(chunks)
        if body and not _is_json(headers.get("content-type")):
            got = headers.get("content-type") or "none"
            message = f"send JSON (Content-Type: application/json), got {got}"
            response = error_response(415, "unsupported_media_type", message)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, declared: int | None) -> None:
        size = f"{declared} bytes" if declared is not None else "larger than the limit"
        message = f"request body is {size}; the limit is {self.max_body_bytes} bytes (NER_MAX_BODY_BYTES)"
        await error_response(413, "payload_too_large", message)(scope, receive, send)
