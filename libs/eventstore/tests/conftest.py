"""Fixtures for the event store contract: the same tests run on memory and on real JetStream."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import nats
import pytest
from nats.aio.client import Client as NatsClient

from ticketstream.events import (
    Actor,
    AnyTicketEvent,
    Envelope,
    InternalNoteAdded,
    Metadata,
    Requester,
    TicketCreated,
    wrap,
)
from ticketstream.eventstore import (
    EventStore,
    InMemoryEventStore,
    JetStreamEventStore,
    StreamSettings,
    ensure_stream,
)

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ticket_id() -> str:
    return "T" + "".join(secrets.choice(_ALPHABET) for _ in range(11))


META = Metadata(source="tests", actor=Actor(kind="agent", id="alice"))


def created(ticket_id: str) -> TicketCreated:
    return TicketCreated(
        ticket_id=ticket_id,
        channel="web",
        requester=Requester(name="Ann", email="ann@example.com"),
        subject="Unable to access e-mail",
        message="My account is locked.",
        help_topic="email-support",
    )


def note(ticket_id: str, n: int = 0) -> InternalNoteAdded:
    return InternalNoteAdded(ticket_id=ticket_id, agent_id="alice", body=f"note {n}")


def envelopes(events: Sequence[AnyTicketEvent], first_version: int) -> list[Envelope]:
    return wrap(events, first_version=first_version, meta=META, time=datetime.now(UTC))


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NatsClient]:
    client = await nats.connect(nats_url)
    await ensure_stream(client, StreamSettings())
    yield client
    await client.drain()


@pytest.fixture(params=["memory", "jetstream"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[EventStore]:
    if request.param == "memory":
        yield InMemoryEventStore()
        return
    request.applymarker(pytest.mark.integration)
    client = await nats.connect(request.getfixturevalue("nats_url"))
    await ensure_stream(client, StreamSettings())
    yield JetStreamEventStore(client)
    await client.drain()


@pytest.fixture
def ticket_id() -> str:
    return new_ticket_id()
