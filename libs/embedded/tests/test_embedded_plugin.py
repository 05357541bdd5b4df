"""The pytest fixtures of ``ticketstream.embedded.pytest_plugin``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import asyncpg
import nats
import pytest

from ticketstream.embedded import temporary_database
from ticketstream.embedded.postgres import psql

pytestmark = pytest.mark.integration


async def test_embedded_fixtures_give_working_servers(nats_url: str, database_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().account_info()
    finally:
        await nc.close()
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("select 1") == 1
    finally:
        await conn.close()


async def test_embedded_fresh_database_is_new_and_empty(
    fresh_database_url: str, database_url: str
) -> None:
    assert fresh_database_url != database_url
    conn = await asyncpg.connect(fresh_database_url)
    try:
        name = await conn.fetchval("select current_database()")
        assert name.startswith("t_")
        tables = await conn.fetchval(
            "select count(*) from pg_tables"
            " where schemaname not in ('pg_catalog', 'information_schema')"
        )
        assert tables == 0
    finally:
        await conn.close()


def test_embedded_temporary_database_is_dropped_even_with_open_connections(
    database_url: str,
) -> None:
    with temporary_database(database_url) as url:
        name = url.rsplit("/", 1)[1]
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLD_CONNECTION, url], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "connected"
    try:
        query = f"select count(*) from pg_database where datname = '{name}'"
        assert psql(database_url, query).strip() == "0"
    finally:
        holder.kill()
        holder.wait()


_HOLD_CONNECTION = textwrap.dedent(
    """
    import asyncio, sys
    import asyncpg

    async def main() -> None:
        conn = await asyncpg.connect(sys.argv[1])
        print("connected", flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
    """
)


_INNER_TESTS = textwrap.dedent(
    """
    def test_needs_nats(nats_url):
        raise AssertionError("must be skipped")

    def test_needs_postgres(database_url):
        raise AssertionError("must be skipped")

    def test_needs_nothing():
        pass
    """
)


def test_embedded_testcontainers_switch_skips_without_docker(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_inner.py").write_text(_INNER_TESTS)
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    env["TICKETSTREAM_TEST_SERVERS"] = "testcontainers"
    # Deterministic even on a machine that has Docker: point the client at nothing.
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-docker.sock"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "ticketstream.embedded.pytest_plugin"),
            *("-p", "no:cacheprovider", "-rs", "-q", "test_inner.py"),
            # Its own basetemp: a root pytest resets /tmp/pytest-of-root to 0700 at startup.
            f"--basetemp={tmp_path / 'basetemp'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "1 passed, 2 skipped" in out, out
    assert out.count("TICKETSTREAM_TEST_SERVERS=testcontainers but no Docker engine:") == 2, out
