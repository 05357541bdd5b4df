"""Running a service's ASGI app under uvicorn, the same way for every service."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from ticketstream.servicekit.settings import ServiceSettings

STARTUP_FAILURE_EXIT_CODE = 3
"""Exit status when the app could not start (its lifespan failed, the port was taken)."""

DEFAULT_GRACEFUL_TIMEOUT = 10
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def uvicorn_config(
    app: ASGIApp, settings: ServiceSettings, graceful_timeout: int = DEFAULT_GRACEFUL_TIMEOUT
) -> uvicorn.Config:
    """The uvicorn configuration :func:`serve` uses.

    ``log_config=None`` and ``access_log=False`` leave logging to
    :func:`~ticketstream.servicekit.logging.configure_logging` and the ``request.completed``
    line; ``proxy_headers=False`` because no proxy is trusted by default;
    ``lifespan="on"`` so a failing start-up stops the process instead of being skipped.
    """
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=graceful_timeout,
    )


def serve(
    app: ASGIApp, settings: ServiceSettings, graceful_timeout: int = DEFAULT_GRACEFUL_TIMEOUT
) -> None:
    """Serve ``app`` on ``settings.host:settings.port`` until SIGTERM or SIGINT.

    On either signal the server stops accepting connections, lets requests in flight
    finish (up to ``graceful_timeout`` seconds), runs the lifespan shutdown and returns
    normally, so the process exits 0. If the app cannot start, exits with
    :data:`STARTUP_FAILURE_EXIT_CODE` (uvicorn has logged why).
    """
    server = uvicorn.Server(uvicorn_config(app, settings, graceful_timeout))
    with _stop_quietly(server):
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE_EXIT_CODE)


@contextmanager
def _stop_quietly(server: uvicorn.Server) -> Iterator[None]:
    # uvicorn handles the signals while it serves, then re-raises them so that the
    # default action (death by SIGTERM, KeyboardInterrupt) follows its graceful shutdown.
    # These handlers receive that re-raise instead, and also cover the moment before
    # uvicorn installs its own: both just ask the server to stop.
    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        server.should_exit = True

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread; its owner decides what they do
        return
    previous = {sig: signal.signal(sig, request_stop) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
