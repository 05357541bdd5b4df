"""Rebuild on real NATS and PostgreSQL: from position 0 into fresh tables while the live read
models keep serving and the stream keeps growing, then an atomic swap."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from ticketstream.events import (
    Actor,
    AgentReplied,
    AnyTicketEvent,
    InternalNoteAdded,
    Metadata,
    Requester,
    TagsChanged,
    TicketCategorized,
    TicketCreated,
    TicketResolved,
    wrap,
)
from ticketstream.eventstore import JetStreamEventStore, open_event_store
from ticketstream.projections.db import PREVIOUS_SCHEMA, connect
from ticketstream.projections.rebuild import rebuild

from .conftest import RunProjections

pytestmark = pytest.mark.integration

AGENT = Metadata(source="tests", actor=Actor(kind="agent", id="ana"))


def new_id() -> str:
    return "R" + secrets.token_hex(4).upper()[:7]


def lifecycle(ticket_id: str) -> list[AnyTicketEvent]:
    return [
        TicketCreated(
            ticket_id=ticket_id,
            channel="web",
            requester=Requester(name="Dana", email="dana@example.com"),
            subject=f"Mailbox locked {ticket_id}",
            message="I cannot log in since this morning.",
            help_topic="email-support",
        ),
        InternalNoteAdded(ticket_id=ticket_id, agent_id="ana", body="Account locked by AD."),
        TicketCategorized(ticket_id=ticket_id, category="email"),
        TagsChanged(ticket_id=ticket_id, added=["locked"], tags=["locked"]),
        AgentReplied(ticket_id=ticket_id, agent_id="ana", body="Unlocked, please retry."),
        TicketResolved(ticket_id=ticket_id, agent_id="ana", resolution="Unlocked the account."),
    ]


async def append(store: JetStreamEventStore, events: list[AnyTicketEvent], version: int) -> int:
    envelopes = wrap(events, first_version=version + 1, meta=AGENT, time=datetime.now(UTC))
    result = await store.append(events[0].ticket_id, envelopes, version)
    return result.position


@pytest.fixture
async def live(run_projections: RunProjections) -> AsyncIterator[httpx.AsyncClient]:
    """The projections service: the live projector and the query API."""
    async with run_projections(max_wait_seconds=30) as (_, client):
        yield client


async def read_models(database_url: str, ticket_ids: list[str], schema: str) -> Any:
    conn = await connect(database_url, schema)
    try:
        tickets = await conn.fetch(
            """SELECT t.*, s.search::text AS words
               FROM tickets t LEFT JOIN ticket_search s USING (ticket_id)
               WHERE ticket_id = ANY($1) ORDER BY 1""",
            ticket_ids,
        )
        thread = await conn.fetch(
            "SELECT * FROM thread_entries WHERE ticket_id = ANY($1) ORDER BY 1, 2", ticket_ids
        )
    finally:
        await conn.close()
    return [dict(r) for r in tickets], [dict(r) for r in thread]


async def test_rebuild_equals_live_repairs_damage_and_loses_nothing_while_serving(
    nats_url: str, fresh_database_url: str, live: httpx.AsyncClient
) -> None:
    nc, store = await open_event_store(nats_url, client_name="rebuild-test")
    try:
        first = [new_id() for _ in range(15)]
        for ticket_id in first:
            position = await append(store, lifecycle(ticket_id), 0)
        caught_up = await live.get(f"/api/v1/tickets/{first[-1]}?min_position={position}")
        assert caught_up.status_code == 200, caught_up.text
        built_live = await read_models(fresh_database_url, first, "read_models")

        # Damage the live read model, as a projector bug would.
        conn = await connect(fresh_database_url)
        await conn.execute("UPDATE tickets SET subject = 'damaged' WHERE ticket_id = $1", first[0])
        await conn.close()

        lines: list[str] = []
        rebuilding = asyncio.create_task(
            rebuild(
                fresh_database_url,
                nats_url,
                batch_size=200,
                keep_previous=True,
                report=lines.append,
                every=0.2,
            )
        )
        second: dict[str, int] = {}
        answers: list[int] = []
        while not rebuilding.done():  # writes and reads go on during the rebuild
            ticket_id = new_id()
            await append(store, lifecycle(ticket_id)[:2], 0)
            second[ticket_id] = 2
            for other in list(second)[-3:]:
                note = InternalNoteAdded(ticket_id=other, agent_id="ana", body="still there")
                await append(store, [note], second[other])
                second[other] += 1
            answers.append((await live.get("/api/v1/tickets?limit=5")).status_code)
            await asyncio.sleep(0.01)
        swapped_at = await rebuilding
        last = await append(store, lifecycle(new_id())[:1], 0)

        assert second, "the rebuild ended before any write went on beside it"
        assert set(answers) == {200}, answers
        assert any("swapped in" in line for line in lines), lines
        assert any(line.startswith("rebuild: position") for line in lines), lines
        final = await live.get(f"/api/v1/tickets?limit=1&min_position={last}")
        assert final.status_code == 200, final.text
        assert int(final.headers["X-Ticketstream-Position"]) >= last >= swapped_at

        # Rebuilt equals live (and the damage is gone) ...
        assert await read_models(fresh_database_url, first, "read_models") == built_live
        # ... the replaced tables are kept on request, damage and all ...
        old, _ = await read_models(fresh_database_url, first[:1], PREVIOUS_SCHEMA)
        assert old[0]["subject"] == "damaged"
        # ... and nothing written around the swap is lost or doubled.
        rows, thread = await read_models(fresh_database_url, list(second), "read_models")
        assert {r["ticket_id"]: r["version"] for r in rows} == second
        assert len(thread) == sum(second.values())
    finally:
        await nc.drain()


async def test_a_rebuild_of_an_empty_database_creates_the_live_read_models(
    nats_url: str, fresh_database_url: str
) -> None:
    position = await rebuild(fresh_database_url, nats_url, report=lambda _: None)
    conn = await connect(fresh_database_url)
    try:
        checkpoint = await conn.fetchval("SELECT position FROM projection_checkpoints")
        exists = await conn.fetchval("SELECT to_regnamespace($1) IS NOT NULL", PREVIOUS_SCHEMA)
    finally:
        await conn.close()
    assert checkpoint == position
    assert not exists
    assert isinstance(conn, asyncpg.Connection)
