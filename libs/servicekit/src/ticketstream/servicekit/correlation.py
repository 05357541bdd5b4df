"""Correlation ids: one id per unit of work, carried from the HTTP request to the events.

A caller may send ``X-Correlation-Id``; a valid one (1 to 128 characters of
``A-Z a-z 0-9 . _ : -``) is kept, anything else is replaced by a fresh uuid4 so logs
can never be polluted through the header. The id is bound into the logging context for
the request and echoed in the response header.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketstream.servicekit.logging import (
    CORRELATION_ID_KEY,
    bind_correlation_id,
    current_correlation_id,
    get_logger,
    log_context,
)

CORRELATION_ID_HEADER = "X-Correlation-Id"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_log = get_logger(__name__)


def new_correlation_id() -> str:
    """A fresh correlation id (a uuid4 in its canonical text form)."""
    return str(uuid.uuid4())


def is_valid_correlation_id(value: str) -> bool:
    """Whether ``value`` is acceptable as a correlation id from outside."""
    return _VALID.fullmatch(value) is not None


def correlation_id() -> str:
    """The correlation id of the current request or unit of work.

    Inside a request handled by :class:`CorrelationIdMiddleware` this is the request's id.
    Elsewhere (a script, a consumer that bound none) a new one is started and bound, so
    everything that follows in this context shares it.
    """
    current = current_correlation_id()
    if current is None:
        current = new_correlation_id()
        bind_correlation_id(current)
    return current


class CorrelationIdMiddleware:
    """ASGI middleware: accept or create the request's correlation id, bind it, echo it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        received = Headers(scope=scope).get(CORRELATION_ID_HEADER)
        cid = received if received is not None and is_valid_correlation_id(received) else None
        if cid is None:
            cid = new_correlation_id()

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_ID_HEADER] = cid
            await send(message)

        with log_context(**{CORRELATION_ID_KEY: cid}):
            if received is not None and cid != received:
                _log.info(
                    "correlation_id.replaced",
                    reason="invalid X-Correlation-Id header",
                    received_length=len(received),
                )
            await self.app(scope, receive, send_with_header)
