"""A cap on request body size: checked on ``Content-Length`` and on the streamed body.

A declared length over the cap is refused before the application runs; a body sent
without a length (chunked) is counted as it is read and refused as soon as it passes
the cap, so an oversized upload is never buffered whole.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketstream.servicekit.errors import ApiError
from ticketstream.servicekit.settings import DEFAULT_MAX_BODY_BYTES


class BodyTooLargeError(ApiError):
    """The request body is larger than the service accepts (413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            "content_too_large",
            f"The request body is larger than the {max_bytes} bytes this service accepts.",
            [{"field": "", "in": "body", "rule": "max_bytes", "limit": max_bytes}],
        )


class BodySizeLimitMiddleware:
    """ASGI middleware answering 413 ``content_too_large`` above ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await BodyTooLargeError(self.max_bytes).to_response()(scope, receive, send)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError as exc:
            # Normally the exception handlers answer; this covers a body read outside them.
            if response_started:
                raise
            await exc.to_response()(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
