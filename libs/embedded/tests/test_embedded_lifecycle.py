"""The servers die with their parent, and the ``python -m ticketstream.embedded`` CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from ticketstream.embedded import free_port

pytestmark = pytest.mark.integration

_PARENT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import psutil
    from ticketstream.embedded import start_nats, start_postgres

    data = Path(sys.argv[1])
    n = start_nats(data / "nats")
    p = start_postgres(data / "pg")
    pids = [n.pid] + [p.pid] + [c.pid for c in psutil.Process(p.pid).children(recursive=True)]
    print(json.dumps({"nats": n.pid, "postgres": p.pid, "all": pids}), flush=True)
    sys.stdin.read()  # until killed
    """
)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_embedded_servers_die_when_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:
        assert parent.stdout is not None
        started = json.loads(parent.stdout.readline())
        pids = started["all"]
        assert all(_alive(pid) for pid in pids)
        if os.geteuid() == 0:  # the uid switch must not have cleared the death signal
            assert psutil.Process(started["postgres"]).username() != "root"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        leftover = _wait_gone(pids, timeout=10)
        assert not leftover, f"still running after the parent was killed: {leftover}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_embedded_cli_prints_urls_and_stops_on_sigint(tmp_path: Path) -> None:
    cli = subprocess.Popen(
        [sys.executable, "-m", "ticketstream.embedded", "--data", str(tmp_path / "run")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stdout is not None
        lines = dict(cli.stdout.readline().strip().split("=", 1) for _ in range(2))
        assert lines["NATS_URL"].startswith("nats://127.0.0.1:")
        assert lines["DATABASE_URL"].startswith("postgresql://postgres@127.0.0.1:")
        env_file = tmp_path / "run" / "servers.env"
        assert env_file.read_text() == "".join(f"{k}={v}\n" for k, v in lines.items())
        children = psutil.Process(cli.pid).children(recursive=True)
        assert len(children) > 2
        port = int(lines["NATS_URL"].rsplit(":", 1)[1])
        socket.create_connection(("127.0.0.1", port), timeout=2).close()

        cli.send_signal(signal.SIGINT)
        assert cli.wait(30) == 0
        assert not _wait_gone([c.pid for c in children], timeout=5)
        assert not env_file.exists()
        assert (tmp_path / "run" / "nats" / "jetstream").is_dir()
        assert (tmp_path / "run" / "postgres" / "pgdata" / "PG_VERSION").is_file()
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()


def test_embedded_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
