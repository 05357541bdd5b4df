"""The runner: a real uvicorn process that logs JSON, stops cleanly and fails loudly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ticketstream.servicekit import ServiceSettings, create_app, uvicorn_config

pytestmark = pytest.mark.unit

SERVICE = """
import os
import sys
from contextlib import asynccontextmanager
from ticketstream.servicekit import (
    ServiceSettings, configure_logging, create_app, load_settings, serve, worker_index,
)

settings = load_settings(ServiceSettings, service_name="runner-test", port=int(sys.argv[1]))
configure_logging(settings.service_name, "INFO", "json")

@asynccontextmanager
async def lifespan(app):
    if sys.argv[2] == "fail":
        raise ConnectionError("cannot reach nats://127.0.0.1:1")
    yield

async def ready():
    return {"self": True}

app = create_app("runner", "0", settings, ready, lifespan)

@app.get("/worker")
async def worker():
    return {"pid": os.getpid(), "index": worker_index()}

serve(app, settings, workers=int(sys.argv[3]))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(tmp_path: Path, port: int, mode: str, workers: int = 1) -> subprocess.Popen[str]:
    script = tmp_path / "service.py"
    script.write_text(textwrap.dedent(SERVICE))
    return subprocess.Popen(
        [sys.executable, str(script), str(port), mode, str(workers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_up(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail("service did not come up")


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_serves_logs_json_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    process = _start(tmp_path, port, "ok")
    try:
        _wait_until_up(port, process)
        response = httpx.get(f"http://127.0.0.1:{port}/nope", headers={"X-Correlation-Id": "c-1"})
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()

    assert response.status_code == 404
    assert "server" not in response.headers
    assert process.returncode == 0, err
    lines = _lines(out)
    assert all(line["service"] == "runner-test" for line in lines)
    assert not any(line.get("logger") == "uvicorn.access" for line in lines)
    events = [line["event"] for line in lines]
    assert any(event.startswith("Started server process") for event in events)
    assert any(event.startswith("Finished server process") for event in events)
    [request] = [line for line in lines if line["event"] == "request.completed"]
    assert (request["status"], request["correlation_id"]) == (404, "c-1")


def test_failed_startup_exits_3_and_says_why(tmp_path: Path) -> None:
    process = _start(tmp_path, _free_port(), "fail")
    out, _ = process.communicate(timeout=20)

    assert process.returncode == 3
    text = "\n".join(json.dumps(line) for line in _lines(out))
    assert "cannot reach nats://127.0.0.1:1" in text
    assert "Application startup failed" in text


def test_workers_share_the_port_and_stop_together_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    process = _start(tmp_path, port, "ok", workers=2)
    try:
        _wait_until_up(port, process)
        seen: dict[int, int] = {}
        deadline = time.monotonic() + 15
        while len(seen) < 2 and time.monotonic() < deadline:
            with httpx.Client() as client:  # a new connection may land on the other worker
                answer = client.get(f"http://127.0.0.1:{port}/worker").json()
            seen[answer["pid"]] = answer["index"]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    assert sorted(seen.values()) == [0, 1]
    assert process.pid not in seen
    assert process.returncode == 0, err
    events = [line["event"] for line in _lines(out)]
    assert sum(event.startswith("Started server process") for event in events) == 2
    assert sum(event.startswith("Finished server process") for event in events) == 2


def test_workers_that_cannot_start_exit_3(tmp_path: Path) -> None:
    process = _start(tmp_path, _free_port(), "fail", workers=2)
    out, _ = process.communicate(timeout=30)

    assert process.returncode == 3
    assert "cannot reach nats://127.0.0.1:1" in out


def test_uvicorn_is_configured_for_our_logging_and_no_proxy() -> None:
    settings = ServiceSettings(service_name="svc", port=8123, host="0.0.0.0")

    async def ready() -> dict[str, bool]:
        return {}

    config = uvicorn_config(create_app("t", "0", settings, ready), settings)

    assert (config.host, config.port) == ("0.0.0.0", 8123)
    assert config.log_config is None
    assert config.access_log is False
    assert config.proxy_headers is False
    assert config.lifespan == "on"
