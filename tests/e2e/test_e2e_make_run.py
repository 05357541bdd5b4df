"""`make run`'s supervisor: starts everything, restarts a crashed service, stops cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.e2e

# Services on a busy two-core machine: give them time rather than fail on a slow answer.
slow_server = httpx.Client(timeout=60)

TICKET = {
    "name": "Dana Whitfield",
    "email": "dana@example.com",
    "subject": "Unable to access e-mail",
    "message": "Locked out.",
    "help_topic": "email-support",
}


def wait_until(condition, within: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise TimeoutError("condition not met")


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def service_pid(supervisor: psutil.Process, name: str) -> int | None:
    for child in supervisor.children(recursive=True):
        try:
            if f"ticketstream.{name}" in " ".join(child.cmdline()):
                return child.pid
        except psutil.NoSuchProcess:
            continue
    return None


def test_the_supervisor_runs_restarts_and_stops_everything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ticketstream.embedded.supervisor", "--data", str(tmp_path / "run")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    output = tmp_path / "run.log"
    supervisor = psutil.Process(process.pid)
    try:
        urls = wait_until(
            lambda: (
                dict(
                    re.findall(r"^\s+(intake|projections)\s+(http://\S+)", output.read_text(), re.M)
                )
                if "projections" in output.read_text()
                else None
            )
        )
        wait_until(lambda: ready(urls["intake"]) and ready(urls["projections"]))
        # Where everything is, for tools such as `make demo`: as the banner says.
        described = json.loads((tmp_path / "run" / "services.json").read_text())
        assert {name: described[name] for name in urls} == urls
        assert described["mail_folder"] == str(tmp_path / "run" / "mail")
        assert described["agent_tokens"]["alex"] == "ts-dev-alex"

        opened = slow_server.post(f"{urls['intake']}/api/v1/tickets", json=TICKET).json()
        read = slow_server.get(
            f"{urls['projections']}/api/v1/tickets/{opened['ticket_id']}",
            params={"min_position": opened["position"]},
            headers={"Authorization": "Bearer ts-dev-alex"},
        )
        assert read.status_code == 200
        # routing routes and assigns it; notify's acknowledgement lands in the mail folder.
        mail = tmp_path / "run" / "mail"
        acknowledged = wait_until(
            lambda: [
                f
                for f in mail.glob("*.eml")
                if opened["ticket_id"] in f.read_text(errors="replace")
            ]
        )
        assert any("dana@example.com" in f.name for f in acknowledged)

        crashed = service_pid(supervisor, "intake")
        assert crashed is not None
        os.kill(crashed, signal.SIGKILL)
        wait_until(lambda: (pid := service_pid(supervisor, "intake")) and pid != crashed)
        wait_until(lambda: ready(urls["intake"]))
        assert slow_server.post(f"{urls['intake']}/api/v1/tickets", json=TICKET).status_code == 201

        everything = [p.pid for p in supervisor.children(recursive=True)]
        assert len(everything) >= 7  # NATS, PostgreSQL (+ workers), five services and the sink
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        _, alive = psutil.wait_procs(
            [psutil.Process(pid) for pid in everything if psutil.pid_exists(pid)], timeout=10
        )
        assert alive == [], [p.cmdline() for p in alive]
        assert "supervisor | stopped" in output.read_text()
        assert not (tmp_path / "run" / "services.json").exists()
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
