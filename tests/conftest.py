"""Fixtures for cross-service tests: each service as its own OS process on real servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ticketstream.embedded import ServiceProcess

__all__ = ["ServiceProcess"]


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
