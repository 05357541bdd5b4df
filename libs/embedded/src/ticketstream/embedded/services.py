"""A Ticketstream service run as its own OS process (``python -m ticketstream.<name>``), for
end-to-end tests, the demo and the benchmarks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from ._process import free_port


class ServiceProcess:
    """One Ticketstream service running as ``python -m ticketstream.<name>``."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self._env = env
        self._log = self.log_path.open("ab")
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", f"ticketstream.{self.name}"],
            env={
                **os.environ,
                **self._env,
                "TICKETSTREAM_PORT": str(self.port),
                "TICKETSTREAM_LOG_FORMAT": "json",
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown, nothing flushed or acknowledged."""
        self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        """Start the service again, on the same port, after :meth:`kill` or :meth:`stop`;
        its log goes on in the same file."""
        if self.process.poll() is None:
            raise RuntimeError(f"{self.name} is still running")
        if self._log.closed:
            self._log = self.log_path.open("ab")
        self.process = self._spawn()

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


@contextmanager
def running_services(
    names: Iterable[str],
    env: Mapping[str, str],
    log_dir: Path,
    *,
    extra_env: Mapping[str, Mapping[str, str]] | None = None,
    within: float = 60.0,
) -> Iterator[dict[str, ServiceProcess]]:
    """``names`` started, each in its own process with ``env`` (and its ``extra_env``), and
    ready within ``within`` seconds; stopped on the way out."""
    extra_env = extra_env or {}
    running: dict[str, ServiceProcess] = {}
    try:
        for name in names:
            running[name] = ServiceProcess(name, {**env, **extra_env.get(name, {})}, log_dir)
        for service in running.values():
            service.wait_ready(within)
        yield running
    finally:
        for service in running.values():
            service.stop()
