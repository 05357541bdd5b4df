"""Fixtures for cross-service tests: each service as its own OS process on real servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ticketstream.embedded import free_port


class ServiceProcess:
    """One Ticketstream service running as ``python -m ticketstream.<name>``."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"ticketstream.{name}"],
            env={
                **os.environ,
                **env,
                "TICKETSTREAM_PORT": str(self.port),
                "TICKETSTREAM_LOG_FORMAT": "json",
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.logs()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} not ready after {within}s:\n{self.logs()}")

    def logs(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_records(self) -> list[dict[str, object]]:
        records = []
        for line in self.logs().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@pytest.fixture
def services(
    nats_url: str, fresh_database_url: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    """intake and projections, each in its own process, ready to serve."""
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": fresh_database_url,
        "TICKETSTREAM_CONSUMER": f"e2e-{tmp_path.name}",
        "TICKETSTREAM_SECRET_KEY": "e2e-secret-key-long-enough-0123456789abcdef",
        # The projector catches up the whole session's stream first; on a busy machine
        # that takes a while.
        "TICKETSTREAM_MAX_WAIT_SECONDS": "60",
    }
    running = {name: ServiceProcess(name, env, tmp_path) for name in ("intake", "projections")}
    try:
        for service in running.values():
            service.wait_ready()
        yield running
    finally:
        for service in running.values():
            service.stop()
