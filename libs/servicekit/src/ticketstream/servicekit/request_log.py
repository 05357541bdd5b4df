"""What is recorded about every HTTP request: one structured log line and the metrics.

This replaces uvicorn's access log: the line ``request.completed`` carries the method,
path, route template, status, duration and (for an error) the error code, plus the
correlation id from the logging context. Probes and scrapes (``/healthz``, ``/readyz``,
``/metrics``) log at DEBUG so they do not drown the rest.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketstream.servicekit.handlers import ERROR_CODE_SCOPE_KEY
from ticketstream.servicekit.logging import get_logger
from ticketstream.servicekit.metrics import observe_request, route_template

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

_log = get_logger(__name__)


class RequestLogMiddleware:
    """ASGI middleware: time each request, count it in Prometheus and log it once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        status = 500
        started = time.perf_counter()

        async def status_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, status_send)
        finally:
            elapsed = time.perf_counter() - started
            method = str(scope.get("method", ""))
            path = str(scope.get("path", ""))
            route = route_template(scope)
            observe_request(method, route, status, elapsed)
            _log.log(
                logging.DEBUG if path in QUIET_PATHS else logging.INFO,
                "request.completed",
                method=method,
                path=path,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 3),
                **_error_code(scope),
            )


def _error_code(scope: Scope) -> dict[str, str]:
    code = scope.get(ERROR_CODE_SCOPE_KEY)
    return {"error_code": code} if isinstance(code, str) else {}
