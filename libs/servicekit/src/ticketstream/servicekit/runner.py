"""Running a service's ASGI app under uvicorn, the same way for every service."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from ticketstream.servicekit.settings import ServiceSettings

STARTUP_FAILURE_EXIT_CODE = 3
"""Exit status when the app could not start (its lifespan failed, the port was taken)."""

DEFAULT_GRACEFUL_TIMEOUT = 10
_worker_index = 0
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


def worker_index() -> int:
    """Which of :func:`serve`'s worker processes this is: 0 to workers - 1 (0 with one).

    For work that one process of the service must do alone, such as polling a mailbox.
    """
    return _worker_index


def serve(
    app: ASGIApp,
    settings: ServiceSettings,
    graceful_timeout: int = DEFAULT_GRACEFUL_TIMEOUT,
    *,
    workers: int = 1,
) -> None:
    """Serve ``app`` on ``settings.host:settings.port`` until SIGTERM or SIGINT.

    On either signal the server stops accepting connections, lets requests in flight
    finish (up to ``graceful_timeout`` seconds), runs the lifespan shutdown and returns
    normally, so the process exits 0. If the app cannot start, exits with
    :data:`STARTUP_FAILURE_EXIT_CODE` (uvicorn has logged why).

    ``workers > 1`` (POSIX only) binds the port once and forks that many worker processes
    that accept on it, each running ``app`` with its own lifespan (so its own connections).
    Call it before anything starts a thread or an event loop. This process then only
    watches: a stop signal is passed on to every worker, and when one worker ends on its
    own the others are stopped too and its exit status becomes this process's, so a
    supervisor sees one service that stopped. Each worker keeps its own metrics: a scrape
    of ``/metrics`` sees the worker that answered it.
    """
    config = uvicorn_config(app, settings, graceful_timeout)
    if workers > 1:
        _serve_forked(config, workers)
        return
    server = uvicorn.Server(config)
    with _stop_quietly(server):
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE_EXIT_CODE)


def _serve_forked(config: uvicorn.Config, workers: int) -> None:
    sock = config.bind_socket()
    parent = os.getpid()
    alive: set[int] = set()
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # the worker: it leaves by os._exit, never returns here
            os._exit(_run_worker(config, sock, parent, index))
        alive.add(pid)
    sock.close()

    stopping = False
    status = 0

    def stop_all(_signum: int = signal.SIGTERM, _frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop_all) for sig in _STOP_SIGNALS}
    try:
        while alive:
            try:
                pid, wait_status = os.wait()
            except ChildProcessError:
                break
            alive.discard(pid)
            code = os.waitstatus_to_exitcode(wait_status)
            if not stopping:  # a worker ended on its own: the service is not whole any more
                status = code or 1
                stop_all()
            elif code not in (0, -signal.SIGTERM) and not status:
                status = code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if status:
        raise SystemExit(status if status > 0 else 1)


def _run_worker(config: uvicorn.Config, sock: socket.socket, parent: int, index: int) -> int:
    global _worker_index
    _worker_index = index
    try:
        if not _die_with_parent(parent):
            return 0
        server = uvicorn.Server(config)
        with _stop_quietly(server):
            server.run(sockets=[sock])
        return 0 if server.started else STARTUP_FAILURE_EXIT_CODE
    except SystemExit as exit:  # uvicorn exits 3 itself when a worker's start-up fails
        return exit.code if isinstance(exit.code, int) else 1
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _die_with_parent(parent: int) -> bool:
    """Have Linux send SIGTERM to this worker when ``parent`` dies; False if it already has."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    return os.getppid() == parent


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
