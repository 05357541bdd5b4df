"""Pytest fixtures for real servers (loaded with ``-p ticketstream.embedded.pytest_plugin``).

``nats_url`` and ``database_url`` (session scope, ``str``) come from, in order:

1. the environment variables ``NATS_URL`` / ``DATABASE_URL`` (use that server as is);
2. ``TICKETSTREAM_TEST_SERVERS=testcontainers``: containers ``nats:2.12 -js`` and
   ``postgres:18`` (tests are skipped when no Docker engine is reachable);
3. otherwise embedded servers in a fresh temporary folder on free ports.

Each server starts only when a test first asks for its fixture and is stopped at the end of
the session (also after failures and Ctrl-C). ``fresh_database_url`` (function scope) is a
new empty database on the session server, dropped after the test.

Servers keep their data in ``server_dir(name)`` folders (session fixture), outside
pytest's ``/tmp/pytest-of-<user>``: every pytest run as the same user resets that folder to
mode 0700, which would cut a server running as another user (PostgreSQL and Dovecot do, as
root) off from its own files while a second test run starts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .nats import start_nats
from .postgres import start_postgres, temporary_database

SERVERS_ENV = "TICKETSTREAM_TEST_SERVERS"
NATS_IMAGE = "nats:2.12"
POSTGRES_IMAGE = "postgres:18"


def _mode() -> str:
    mode = os.environ.get(SERVERS_ENV, "").strip().lower() or "embedded"
    if mode not in ("embedded", "testcontainers"):
        raise pytest.UsageError(f"{SERVERS_ENV}={mode!r}: expected 'embedded' or 'testcontainers'")
    return mode


def _require_docker() -> None:
    reason = f"{SERVERS_ENV}=testcontainers but no Docker engine"
    try:
        from testcontainers.core.docker_client import DockerClient
    except ImportError as exc:
        pytest.skip(f"{SERVERS_ENV}=testcontainers but testcontainers is not installed: {exc}")
    try:
        DockerClient().client.ping()
    except Exception as exc:
        pytest.skip(f"{reason}: {exc}")


@pytest.fixture(scope="session")
def server_dir() -> Iterator[Callable[[str], Path]]:
    """Makes a fresh folder for a server's data, removed at the end of the session."""
    root = Path(tempfile.mkdtemp(prefix="ticketstream-servers-"))
    root.chmod(0o755)
    count = 0

    def make(name: str) -> Path:
        nonlocal count
        count += 1
        folder = root / f"{name}-{count}"
        folder.mkdir()
        return folder

    yield make
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_url(server_dir: Callable[[str], Path]) -> Iterator[str]:
    """URL of a NATS server with JetStream for the whole session."""
    if url := os.environ.get("NATS_URL"):
        yield url
    elif _mode() == "testcontainers":
        _require_docker()
        from testcontainers.community.nats import NatsContainer

        with NatsContainer(NATS_IMAGE, jetstream=True) as container:
            yield container.nats_uri()
    else:
        with start_nats(server_dir("nats")) as server:
            yield server.url


@pytest.fixture(scope="session")
def database_url(server_dir: Callable[[str], Path]) -> Iterator[str]:
    """URL of a PostgreSQL database (``postgres``, user ``postgres``) for the whole session."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
    elif _mode() == "testcontainers":
        _require_docker()
        from testcontainers.community.postgres import PostgresContainer

        container = PostgresContainer(
            POSTGRES_IMAGE, username="postgres", password="postgres", dbname="postgres", driver=None
        )
        with container:
            yield container.get_connection_url()
    else:
        with start_postgres(server_dir("postgres")) as server:
            yield server.url


@pytest.fixture
def fresh_database_url(database_url: str) -> Iterator[str]:
    """A new empty database ``t_<uuid>`` on the session server, dropped after the test."""
    with temporary_database(database_url) as url:
        yield url
