"""Two projections replicas on one database: one projects, both serve read-your-writes, and
the other takes over when the leader goes."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from ticketstream.events import Actor, Metadata, Requester, TicketCreated, wrap
from ticketstream.eventstore import JetStreamEventStore, open_event_store
from ticketstream.projections.main import build_app
from ticketstream.projections.settings import ProjectionsSettings

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


@asynccontextmanager
async def replica(
    settings: ProjectionsSettings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app: FastAPI = build_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://projections",
            headers={"Authorization": "Bearer ts-dev-alex"},
            timeout=30,
        ) as client,
    ):
        yield app, client


async def until_leading(app: FastAPI, within: float = 10) -> None:
    async with asyncio.timeout(within):
        while not app.state.role.leading:
            await asyncio.sleep(0.05)


async def test_a_standby_serves_read_your_writes_and_takes_over(
    nats_url: str, fresh_database_url: str
) -> None:
    settings = ProjectionsSettings(
        nats_url=nats_url,
        database_url=fresh_database_url,
        consumer=f"replicas-{secrets.token_hex(4)}",
        max_wait_seconds=20,
    )
    nc, store = await open_event_store(nats_url, client_name="replica-test")
    try:
        async with AsyncExitStack() as stack:
            leader, _ = await stack.enter_async_context(replica(settings))
            await until_leading(leader)
            async with replica(settings) as (second, standby):
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
    nats_url: str, fresh_database_url: str, database_url: str
) -> None:
    """The checkpoint, not the consumer, decides where projecting starts: an upgrade to a
    new schema, or a database restored from an older backup, misses nothing."""
    from ticketstream.embedded import temporary_database

    consumer = f"moved-{secrets.token_hex(4)}"
    nc, store = await open_event_store(nats_url, client_name="replica-test")
    try:
        first, _ = await open_ticket(store)
        settings = ProjectionsSettings(
            nats_url=nats_url, database_url=fresh_database_url, consumer=consumer
        )
        async with replica(settings) as (app, client):
            await until_leading(app)
            position = (await store.load(first)).position
            read = await client.get(f"/api/v1/tickets/{first}?min_position={position}")
            assert read.status_code == 200, read.text
        with temporary_database(database_url) as other_database:
            moved = settings.model_copy(update={"database_url": other_database})
            async with replica(moved) as (app, client):
                read = await client.get(f"/api/v1/tickets/{first}?min_position={position}")
                assert read.status_code == 200, read.text
    finally:
        await nc.drain()
