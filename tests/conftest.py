"""Fixtures for cross-service tests: each service as its own OS process on real servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.desk import Desk
from ticketstream.embedded import ServiceProcess, running_services, start_nats
from ticketstream.embedded.supervisor import DEV_AGENT_TOKENS
from ticketstream.notify.sink import MailSink

__all__ = ["ServiceProcess", "System"]

SECRET_KEY = "e2e-secret-key-long-enough-0123456789abcdef"


@dataclass(frozen=True)
class System:
    """Every service in its own process, the SMTP server notify sends to, and the desk
    (the public HTTP interfaces and the received mail) the tests act through."""

    services: dict[str, ServiceProcess]
    mail: MailSink
    desk: Desk


@pytest.fixture
def services(
    nats_url: str, fresh_database_url: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    """intake and projections, each in its own process, ready to serve."""
    env = {
        **_environment(nats_url, fresh_database_url),
        # The projector catches up the whole session's stream first.
        "TICKETSTREAM_CONSUMER": f"e2e-{tmp_path.name}",
    }
    with running_services(("intake", "projections"), env, tmp_path) as running:
        yield running


@pytest.fixture
def start_system(
    server_dir: Callable[[str], Path], fresh_database_url: str, tmp_path: Path
) -> Iterator[Callable[..., System]]:
    """``start_system(**env)``: intake, routing, notify and projections, each in its own
    process with ``env`` added to its environment, on a NATS server of their own, and a real
    SMTP server (aiosmtpd: the development sink) that keeps every message notify sends.

    The system's state is in JetStream: the stream, and routing's KV bucket with its
    round-robin turns and SLA timers. On the session's server, the timers other tests left
    (some under a moved clock) would fire here, breaching their tickets and mailing alerts,
    and a new notify would mail the whole backlog; so each system starts from an empty one.
    """
    with ExitStack() as stack:

        def start(**env: str) -> System:
            nats = stack.enter_context(start_nats(server_dir("system-nats")))
            mail = stack.enter_context(MailSink(tmp_path / "mail"))
            environment = {
                **_environment(nats.url, fresh_database_url),
                "TICKETSTREAM_SMTP_HOST": mail.host,
                "TICKETSTREAM_SMTP_PORT": str(mail.port),
                "TICKETSTREAM_SMTP_SECURITY": "none",
                **env,
            }
            names = ("intake", "projections", "routing", "notify")
            running = stack.enter_context(running_services(names, environment, tmp_path))
            intake, projections = running["intake"].url, running["projections"].url
            desk = Desk(intake, projections, mail.folder, DEV_AGENT_TOKENS)
            return System(running, mail, stack.enter_context(closing(desk)))

        yield start


@pytest.fixture
def system(start_system: Callable[..., System]) -> System:
    """The whole system on the development directory."""
    return start_system()


def _environment(nats_url: str, database_url: str) -> dict[str, str]:
    return {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "TICKETSTREAM_SECRET_KEY": SECRET_KEY,
        # Services on a busy two-core machine: let a read-your-writes query wait long.
        "TICKETSTREAM_MAX_WAIT_SECONDS": "60",
    }
