"""Two projections replicas on one database: one projects, both serve read-your-writes, and
the other takes over when the leader goes."""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from functools import partial

import pytest
from fastapi import FastAPI

from ticketstream.events import Actor, Metadata, Requester, TicketCreated, wrap
from ticketstream.eventstore import JetStreamEventStore, open_event_store

from .conftest import RunProjections

pytestmark = pytest.mark.integration

META = Metadata(source="tests", actor=Actor(kind="requester", id="dana@example.com"))


async def open_ticket(store: JetStreamEventStore) -> tuple[str, int]:
    ticket_id = "P" + secrets.token_hex(4).upper()[:7]
    event = TicketCreated(
        ticket_id=ticket_id,
        channel="api",
        requester=Requester(name="Dana", email="dana@example.com"),
        subject="Printer on fire",
        message="Smoke since 9:00.",
        help_topic="general",
    )
    envelopes = wrap([event], first_version=1, meta=META, time=datetime.now(UTC))
    return ticket_id, (await store.append(ticket_id, envelopes, 0)).position


async def until_leading(app: FastAPI, within: float = 10) -> None:
    async with asyncio.timeout(within):
        while not app.state.role.leading:
            await asyncio.sleep(0.05)


async def test_a_standby_serves_read_your_writes_and_takes_over(
    nats_url: str, run_projections: RunProjections
) -> None:
    consumer = f"replicas-{secrets.token_hex(4)}"
    replica = partial(run_projections, consumer=consumer, max_wait_seconds=20)
    nc, store = await open_event_store(nats_url, client_name="replica-test")
    try:
        async with AsyncExitStack() as stack:
            leader, _ = await stack.enter_async_context(replica())
            await until_leading(leader)
            async with replica() as (second, standby):
                await asyncio.sleep(0.5)
                assert not second.state.role.leading
                ticket_id, position = await open_ticket(store)
                # The standby projects nothing, yet sees the leader's commit at once.
                read = await standby.get(f"/api/v1/tickets/{ticket_id}?min_position={position}")
                assert read.status_code == 200, read.text
                assert int(read.headers["X-Ticketstream-Position"]) >= position

                await stack.aclose()  # the leader goes away
                await until_leading(second)
                ticket_id, position = await open_ticket(store)
                read = await standby.get(f"/api/v1/tickets/{ticket_id}?min_position={position}")
                assert read.status_code == 200, read.text
                assert read.json()["ticket"]["subject"] == "Printer on fire"
    finally:
        await nc.drain()


async def test_a_new_database_behind_an_existing_consumer_gets_the_whole_stream(
    nats_url: str, database_url: str, run_projections: RunProjections
) -> None:
    """The checkpoint, not the consumer, decides where projecting starts: an upgrade to a
    new schema, or a database restored from an older backup, misses nothing."""
    from ticketstream.embedded import temporary_database

    consumer = f"moved-{secrets.token_hex(4)}"
    nc, store = await open_event_store(nats_url, client_name="replica-test")
    try:
        first, _ = await open_ticket(store)
        async with run_projections(consumer=consumer) as (app, client):
            await until_leading(app)
            position = (await store.load(first)).position
            read = await client.get(f"/api/v1/tickets/{first}?min_position={position}")
            assert read.status_code == 200, read.text
        with temporary_database(database_url) as other_database:
            moved = run_projections(consumer=consumer, database_url=other_database)
            async with moved as (app, client):
                read = await client.get(f"/api/v1/tickets/{first}?min_position={position}")
                assert read.status_code == 200, read.text
    finally:
        await nc.drain()
