"""The embedded servers start, serve, keep their data and stop cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import asyncpg
import nats
import psutil
import pytest

from ticketstream.embedded import EmbeddedPostgres, start_nats, start_postgres

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _tree(pid: int) -> list[int]:
    return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]


# --- NATS ---------------------------------------------------------------------------------


async def test_embedded_nats_serves_jetstream_2_15(tmp_path: Path) -> None:
    with start_nats(tmp_path / "nats") as server:
        assert server.url == f"nats://127.0.0.1:{server.port}"
        assert server.version.startswith("2.15.")
        nc = await nats.connect(server.url)
        try:
            version = nc.connected_server_version
            assert (version.major, version.minor) == (2, 15)
            info = await nc.jetstream().account_info()
            assert info.streams == 0
        finally:
            await nc.close()


def test_embedded_nats_config_fsyncs_every_write(tmp_path: Path) -> None:
    with start_nats(tmp_path / "nats", http_port=0) as server:
        text = server.config_path.read_text()
        block = text[text.index("jetstream {") : text.index("}", text.index("jetstream {"))]
        assert '  sync_interval: "always"\n' in block.splitlines(keepends=True)
        assert f"  store_dir: {json.dumps(str(server.data_dir))}" in block
        assert "max_payload" not in text  # server default
        # ... and the running server really applied it.
        assert server.monitor_url is not None
        with urllib.request.urlopen(server.monitor_url + "/varz") as resp:
            varz = json.load(resp)
        assert varz["jetstream"]["config"]["sync_always"] is True
        with urllib.request.urlopen(server.monitor_url + "/healthz?js-enabled-only=true") as resp:
            assert resp.status == 200


async def test_embedded_nats_keeps_jetstream_data_across_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "nats"
    with start_nats(data_dir) as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="ORDERS", subjects=["orders.>"])
        ack = await js.publish("orders.1", b"first")
        assert ack.seq == 1
        await nc.close()

    with start_nats(data_dir) as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        info = await js.stream_info("ORDERS")
        assert info.state.messages == 1
        msg = await js.get_msg("ORDERS", 1)
        assert msg.data == b"first"
        await nc.close()


def test_embedded_nats_stop_leaves_no_process(tmp_path: Path) -> None:
    server = start_nats(tmp_path / "nats")
    pids = _tree(server.pid)
    server.stop()
    assert server.process.returncode is not None
    assert not [pid for pid in pids if _alive(pid)]
    assert not list((tmp_path / "nats").glob("*.ports"))  # removed by the server on exit
    server.stop()  # idempotent


def test_embedded_nats_refuses_a_data_dir_in_use(tmp_path: Path) -> None:
    with start_nats(tmp_path / "nats"), pytest.raises(RuntimeError, match="in use"):
        start_nats(tmp_path / "nats", timeout=0.3)


def test_embedded_nats_reports_a_taken_port(tmp_path: Path) -> None:
    with start_nats(tmp_path / "a") as first:
        with pytest.raises(RuntimeError, match="exited"):
            start_nats(tmp_path / "b", port=first.port)
        assert first.running


# --- PostgreSQL ---------------------------------------------------------------------------


async def _fetchval(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_embedded_postgres_serves_sql(tmp_path: Path) -> None:
    with start_postgres(tmp_path / "pg", database="app") as server:
        assert server.url == f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        assert await _fetchval(server.url, "select 1") == 1
        assert await _fetchval(server.url, "show fsync") == "on"
        assert await _fetchval(server.url, "show server_encoding") == "UTF8"
        assert await _fetchval(server.database_url("app"), "select current_database()") == "app"
        if os.geteuid() == 0:
            assert psutil.Process(server.pid).username() == server.system_user != "root"
        assert psutil.Process(server.pid).ppid() == os.getpid()  # our own child, no pg_ctl
        assert os.getpgid(server.pid) == server.pid  # in its own process group
        assert (server.socket_dir / f".s.PGSQL.{server.port}").is_socket()


async def test_embedded_postgres_keeps_data_across_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    with start_postgres(data_dir) as server:
        conn = await asyncpg.connect(server.url)
        await conn.execute("create table t (v text); insert into t values ('kept')")
        await conn.close()
    started = time.perf_counter()
    with start_postgres(data_dir, database="app") as server:
        assert time.perf_counter() - started < 5  # no second initdb
        assert await _fetchval(server.url, "select v from t") == "kept"


def test_embedded_postgres_stop_leaves_no_process(tmp_path: Path) -> None:
    server = start_postgres(tmp_path / "pg")
    server.psql("select 1")
    pids = _tree(server.pid)
    assert len(pids) > 1  # checkpointer, walwriter, ...
    server.stop()
    assert not [pid for pid in pids if _alive(pid)]
    assert not (server.pgdata / "postmaster.pid").exists()
    server.stop()  # idempotent


def test_embedded_postgres_long_path_uses_a_short_socket_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / ("x" * 100) / "pg"
    with start_postgres(data_dir) as server:
        assert server.socket_dir.parent != data_dir
        assert len(os.fsencode(server.socket_dir / f".s.PGSQL.{server.port}")) <= 107
        assert server.psql("select 1").strip() == "1"
        socket_dir = server.socket_dir
    assert not socket_dir.exists()


def test_embedded_postgres_recovers_from_a_killed_run_with_a_reused_pid(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    server = start_postgres(data_dir)
    server.psql("create table t (v int); insert into t values (42)")
    pids = _tree(server.pid)
    os.killpg(server.pid, signal.SIGKILL)
    server.process.wait()
    deadline = time.monotonic() + 10
    while [pid for pid in pids if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.02)
    pid_file = server.pgdata / "postmaster.pid"
    assert pid_file.exists()  # stale
    # The dead postmaster's pid now belongs to some other live process: postgres would refuse.
    with subprocess.Popen(["sleep", "30"]) as squatter:
        lines = pid_file.read_text().splitlines()
        pid_file.write_text("\n".join([str(squatter.pid), *lines[1:]]) + "\n")
        try:
            with start_postgres(data_dir) as restarted:
                assert restarted.psql("select v from t").strip() == "42"
        finally:
            squatter.kill()


def test_embedded_postgres_refuses_a_data_dir_in_use(tmp_path: Path) -> None:
    with start_postgres(tmp_path / "pg") as server:
        with pytest.raises(RuntimeError, match="in use"):
            start_postgres(tmp_path / "pg", timeout=0.3)
        assert server.running


def test_embedded_postgres_refuses_when_a_live_postgres_owns_the_pid_file(
    tmp_path: Path,
) -> None:
    server = start_postgres(tmp_path / "pg")
    try:
        # Simulate a server not started through this library (so no lock is held).
        (server.data_dir / "postgres.lock").unlink()
        with pytest.raises(RuntimeError, match=rf"pid {server.pid}\) is already running"):
            start_postgres(tmp_path / "pg", timeout=2)
        assert server.running
    finally:
        server.stop()


def test_embedded_postgres_object_is_a_context_manager(tmp_path: Path) -> None:
    with start_postgres(tmp_path / "pg") as server:
        assert isinstance(server, EmbeddedPostgres)
        assert server.running
    assert not server.running
