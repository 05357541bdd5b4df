"""The system the demo plays on: the one ``make run`` started, or one of its own.

``make run``'s supervisor writes ``<data>/services.json`` (where each service listens, the
mail folder, the development agents' tokens) and removes it when it stops. When the file is
missing, or the supervisor that wrote it is gone, the demo starts the supervisor itself on
a temporary data folder, with embedded NATS and PostgreSQL, and stops it at the end; the
servers, the services and the mail sink all stop with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from ticketstream.embedded.supervisor import SERVICES_FILE

from .desk import Desk, NotYetError, ScenarioError, until

HTTP_SERVICES = ("intake", "projections", "routing", "notify")
START_SECONDS = 180.0
"""A first start initialises PostgreSQL's data folder; on a busy machine that takes a while."""
STOP_SECONDS = 60.0
NOT_OURS = ("NATS_URL", "DATABASE_URL", "TICKETSTREAM_DIRECTORY")
"""Our own system runs on its embedded servers and the development directory."""


@contextmanager
def running_system(data: Path, out: Callable[[str], None] = print) -> Iterator[Desk]:
    """A :class:`Desk` on the system ``make run`` started on ``data``, or on one of our own
    (started now, stopped on the way out)."""
    services_file = data / SERVICES_FILE
    described = _described(services_file)
    if described is not None and _alive(described["pid"]):
        out(f"Playing on the Ticketstream that `make run` started ({services_file}).")
        with _desk(described) as desk:
            yield desk
        return
    out(f"No Ticketstream is running on {data} (no {SERVICES_FILE}); starting one of our own.")
    with _own_system(out) as described, _desk(described) as desk:
        yield desk


@contextmanager
def _desk(described: dict[str, Any]) -> Iterator[Desk]:
    for name in HTTP_SERVICES:
        until(f"{name} at {described[name]} ready", partial(_ready, described[name]))
    desk = Desk(
        described["intake"],
        described["projections"],
        Path(described["mail_folder"]),
        described["agent_tokens"],
    )
    try:
        yield desk
    finally:
        desk.close()


@contextmanager
def _own_system(out: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    with tempfile.TemporaryDirectory(
        prefix="ticketstream-demo-", ignore_cleanup_errors=True
    ) as folder:
        data = Path(folder)
        log_path = data / "supervisor.log"
        env = {k: v for k, v in os.environ.items() if k not in NOT_OURS}
        with log_path.open("wb") as log:
            supervisor = subprocess.Popen(
                [sys.executable, "-m", "ticketstream.embedded.supervisor", "--data", str(data)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        out(f"  supervisor pid {supervisor.pid}, data and log in {data}")
        try:

            def started() -> dict[str, Any]:
                if supervisor.poll() is not None:
                    raise ScenarioError(
                        f"the supervisor exited with {supervisor.returncode}:\n"
                        f"{log_path.read_text(errors='replace')[-4000:]}"
                    )
                if (described := _described(data / SERVICES_FILE)) is None:
                    raise NotYetError(f"no {data / SERVICES_FILE}")
                return described

            yield until("our own Ticketstream started", started, within=START_SECONDS)
        finally:
            out(f"\nStopping our own Ticketstream (supervisor pid {supervisor.pid}).")
            _stop(supervisor)


def _stop(supervisor: subprocess.Popen[bytes]) -> None:
    """Ctrl-C for the supervisor: it stops the services, then PostgreSQL and NATS."""
    if supervisor.poll() is None:
        supervisor.send_signal(signal.SIGINT)
    try:
        supervisor.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        supervisor.kill()  # its children die with it (parent-death signal)
        supervisor.wait()


def _described(path: Path) -> dict[str, Any] | None:
    try:
        described: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return described


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ready(url: str) -> bool:
    try:
        if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
            return True
    except httpx.HTTPError:
        pass
    raise NotYetError(f"{url}/readyz does not answer 200")
