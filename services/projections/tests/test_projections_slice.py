"""The projector and the query API on a real PostgreSQL (and real NATS for the API)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from ticketstream.events import (
    Actor,
    InternalNoteAdded,
    Metadata,
    Requester,
    TicketCreated,
    wrap,
)
from ticketstream.eventstore import Batch, RecordedEvent
from ticketstream.projections import projector as projector_module
from ticketstream.projections.db import create_pool
from ticketstream.projections.migrate import available, migrate
from ticketstream.projections.position import PositionWatch
from ticketstream.projections.projector import TicketProjector
from ticketstream.projections.rows import Outcome, TicketRow

from .conftest import RunProjections

pytestmark = pytest.mark.integration

META = Metadata(source="tests", actor=Actor(kind="requester", id="dana@example.com"))


def created(ticket_id: str, position: int) -> RecordedEvent:
    event = TicketCreated(
        ticket_id=ticket_id,
        channel="web",
        requester=Requester(name="Dana", email="dana@example.com"),
        subject="Unable to access e-mail",
        message="Locked out.",
        help_topic="email-support",
    )
    [envelope] = wrap([event], first_version=1, meta=META, time=datetime.now(UTC))
    return RecordedEvent(envelope, position)


@pytest.fixture
async def pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database_url, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield pool
    await pool.close()


async def count(pool: asyncpg.Pool, table: str) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))


async def test_migrations_apply_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await migrate(conn) == []
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
    assert versions == [m.version for m in available()]


async def test_a_batch_is_applied_with_its_checkpoint(pool: asyncpg.Pool) -> None:
    watch = PositionWatch()
    projector = TicketProjector(pool, watch)
    await projector.handle(Batch([created("AAAA0001", 5), created("AAAA0002", 6)], 7))
    assert await count(pool, "tickets") == 2
    assert await count(pool, "thread_entries") == 2
    assert await projector.checkpoint() == 7
    assert watch.position == 7


async def test_a_redelivered_batch_changes_nothing(pool: asyncpg.Pool) -> None:
    batch = Batch([created("AAAA0003", 3)], 3)
    await TicketProjector(pool, PositionWatch()).handle(batch)
    # A fresh projector (a restart) gets the same batch again.
    await TicketProjector(pool, PositionWatch()).handle(batch)
    assert await count(pool, "tickets") == 1
    assert await count(pool, "thread_entries") == 1


async def test_a_crash_inside_a_batch_leaves_nothing_half_applied(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = projector_module.apply
    calls = 0

    def crash_on_second(row: TicketRow | None, recorded: RecordedEvent) -> Outcome:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionResetError("power cut")  # transient: the batch fails as a whole
        return real(row, recorded)

    monkeypatch.setattr(projector_module, "apply", crash_on_second)
    projector = TicketProjector(pool, PositionWatch())
    batch = Batch([created("AAAA0004", 10), created("AAAA0005", 11)], 11)
    with pytest.raises(ConnectionResetError):
        await projector.handle(batch)
    assert await count(pool, "tickets") == 0
    assert await projector.checkpoint() == 0

    monkeypatch.setattr(projector_module, "apply", real)
    await projector.handle(batch)
    assert await count(pool, "tickets") == 2
    assert await projector.checkpoint() == 11


async def test_an_event_that_cannot_be_applied_is_dead_lettered_and_the_rest_flows(
    pool: asyncpg.Pool,
) -> None:
    from ticketstream.projections.projector import DEAD_LETTERS

    counted = DEAD_LETTERS.labels(reason="cannot_apply")
    before = counted._value.get()
    note = InternalNoteAdded(ticket_id="AAAA0006", agent_id="ana", body="NUL \x00 byte")
    [envelope] = wrap([note], first_version=2, meta=META, time=datetime.now(UTC))
    poisoned = RecordedEvent(envelope, 21)
    batch = Batch([created("AAAA0006", 20), poisoned, created("AAAA0007", 22)], 22)
    projector = TicketProjector(pool, PositionWatch())
    await projector.handle(batch)
    await projector.handle(batch)  # redelivered: still one dead letter
    assert counted._value.get() == before + 1
    assert await projector.checkpoint() == 22
    async with pool.acquire() as conn:
        tickets = await conn.fetch("SELECT ticket_id, version, stale FROM tickets ORDER BY 1")
        dead = await conn.fetch("SELECT position, error FROM dead_letters")
    assert [tuple(t) for t in tickets] == [("AAAA0006", 1, True), ("AAAA0007", 1, False)]
    assert [d["position"] for d in dead] == [21]
    assert "0x00" in dead[0]["error"]


async def test_waiting_for_a_position(pool: asyncpg.Pool) -> None:
    watch = PositionWatch(3)
    assert await watch.wait_for(3, within=0.01)
    assert not await watch.wait_for(4, within=0.05)
    waiter = asyncio.create_task(watch.wait_for(9, within=2))
    await asyncio.sleep(0.01)
    watch.advance(9)
    assert await waiter


@pytest.fixture
async def api(run_projections: RunProjections) -> AsyncIterator[httpx.AsyncClient]:
    async with run_projections(max_wait_seconds=0.3) as (app, client):
        client.app = app  # type: ignore[attr-defined]
        yield client


async def test_an_unknown_ticket_is_a_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/tickets/ZZZZ9999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ticket_not_found"
    assert "X-Ticketstream-Position" in response.headers


@pytest.mark.parametrize("value", ["-1", "soon", "1.5"])
async def test_a_bad_min_position_is_a_422_naming_it(api: httpx.AsyncClient, value: str) -> None:
    response = await api.get(f"/api/v1/tickets/ZZZZ9999?min_position={value}")
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "min_position"
    assert detail["in"] == "query"


async def test_a_position_not_reached_in_time_is_a_503(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/tickets/ZZZZ9999?min_position=999999999")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "position_not_reached"
    assert response.headers["Retry-After"] == "1"


async def test_a_malformed_ticket_number_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/tickets/not-a-number")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "ticket_id"


async def test_readiness_reports_each_dependency(api: httpx.AsyncClient) -> None:
    response = await api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"nats": True, "database": True, "projector": True}


async def test_a_message_that_is_no_event_is_kept_as_a_dead_letter_once(
    pool: asyncpg.Pool,
) -> None:
    from ticketstream.projections.projector import DEAD_LETTERS

    counted = DEAD_LETTERS.labels(reason="not_an_event")
    before = counted._value.get()
    projector = TicketProjector(pool, PositionWatch())
    for _ in range(2):  # redelivered
        await projector.record_poison(42, "tickets.AAAA0042", b"{garbage", ValueError("not JSON"))
    assert counted._value.get() == before + 1
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT position, payload, error FROM dead_letters")
    assert [(r["position"], bytes(r["payload"]), r["error"]) for r in rows] == [
        (42, b"{garbage", "not JSON")
    ]


async def test_queries_need_an_agent_token(api: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer nope"}):
        response = await api.get("/api/v1/tickets/ZZZZ9999", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_time_travel_and_the_raw_history(api: httpx.AsyncClient) -> None:
    from ticketstream.ticketing import execute
    from ticketstream.tickets import OpenTicket, ReplyAsAgent

    store = api.app.state.store  # type: ignore[attr-defined]
    ticket_id = "TT" + datetime.now(UTC).strftime("%H%M%S%f")[:10]
    requester = Requester(name="Dana", email="dana@example.com")
    moments = [datetime(2026, 12, 1, 9, tzinfo=UTC), datetime(2026, 12, 2, 9, tzinfo=UTC)]
    opening = OpenTicket(
        ticket_id=ticket_id,
        actor=META.actor,
        channel="web",
        requester=requester,
        subject="Locked out",
        message="Help",
        help_topic="email-support",
    )
    reply = ReplyAsAgent(ticket_id=ticket_id, actor=Actor(kind="agent", id="alex"), body="On it")
    for command, at in zip([opening, reply], moments, strict=True):
        meta = Metadata(source="tests", actor=command.actor)
        await execute(store, command, meta, clock=lambda at=at: at)

    before = await api.get(f"/api/v1/tickets/{ticket_id}?as_of=2026-11-30T00:00:00Z")
    assert before.status_code == 404
    first_day = (await api.get(f"/api/v1/tickets/{ticket_id}?as_of=2026-12-01T12:00:00Z")).json()
    assert (first_day["version"], first_day["ticket"]["first_responded"]) == (1, False)
    later = (await api.get(f"/api/v1/tickets/{ticket_id}?as_of=2026-12-03T00:00:00Z")).json()
    assert (later["version"], later["ticket"]["first_responded"]) == (2, True)
    naive = await api.get(f"/api/v1/tickets/{ticket_id}?as_of=2026-12-03T00:00:00")
    assert naive.status_code == 422
    assert naive.json()["error"]["details"][0]["field"] == "as_of"

    history = (await api.get(f"/api/v1/tickets/{ticket_id}/events")).json()["events"]
    assert [e["type"] for e in history] == [
        "io.ticketstream.ticket.created.v1",
        "io.ticketstream.ticket.agent_replied.v1",
    ]
    assert history[1]["actorid"] == "alex"
    assert history[0]["position"] < history[1]["position"]


async def test_lists_queues_and_workload_through_the_api(api: httpx.AsyncClient) -> None:
    from ticketstream.ticketing import execute
    from ticketstream.tickets import AssignTicket, OpenTicket

    store = api.app.state.store  # type: ignore[attr-defined]
    marker = "zebra" + datetime.now(UTC).strftime("%H%M%S%f")
    opened = []
    for n in range(3):
        ticket_id = f"LQ{marker[-8:]}{n}".upper().replace("Z", "Q")[:12]
        command = OpenTicket(
            ticket_id=ticket_id,
            actor=META.actor,
            channel="web",
            requester=Requester(name="Dana", email="dana@example.com"),
            subject=f"Printer {marker} {n}",
            message="It is on fire",
            help_topic="hardware",
        )
        result = await execute(store, command, META, clock=lambda: datetime.now(UTC))
        opened.append(ticket_id)
    alex = Actor(kind="agent", id="alex")
    assign = AssignTicket(ticket_id=opened[0], actor=alex, agent_id="alex")
    result = await execute(
        store, assign, Metadata(source="tests", actor=alex), clock=lambda: datetime.now(UTC)
    )
    wait = {"min_position": result.position}
    # The projector starts at the stream's beginning: let it catch up (the fixture's bound
    # on min_position is short on purpose).
    async with asyncio.timeout(60):
        while (await api.get(f"/api/v1/tickets/{opened[0]}", params=wait)).status_code != 200:
            await asyncio.sleep(0.2)

    found = await api.get("/api/v1/tickets", params={"text": marker, "limit": 2, **wait})
    assert found.status_code == 200, found.text
    page = found.json()
    assert len(page["tickets"]) == 2
    assert page["next_cursor"]
    rest = await api.get(
        "/api/v1/tickets", params={"text": marker, "limit": 2, "cursor": page["next_cursor"]}
    )
    ids = {t["ticket_id"] for t in page["tickets"] + rest.json()["tickets"]}
    assert ids == set(opened)

    mine = (await api.get("/api/v1/queues/mine", params=wait)).json()
    assert opened[0] in {t["ticket_id"] for t in mine["tickets"]}
    # The session's other tickets are in the queue too (oldest first): page to ours.
    seen: set[str] = set()
    params: dict[str, object] = {"limit": 500}
    while not set(opened[1:]) <= seen:
        unassigned = (await api.get("/api/v1/queues/unassigned", params=params)).json()
        seen |= {t["ticket_id"] for t in unassigned["tickets"]}
        assert unassigned["next_cursor"] or set(opened[1:]) <= seen
        params = {"limit": 500, "cursor": unassigned["next_cursor"]}
    workload = (await api.get("/api/v1/reports/workload")).json()["agents"]
    assert any(a.get("agent_id") == "alex" for a in workload), workload


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "archived"}, "status"),
        ({"limit": 0}, "limit"),
        ({"sort": "colour"}, "sort"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"overdue": "maybe"}, "overdue"),
    ],
)
async def test_a_bad_list_parameter_is_a_422_naming_it(
    api: httpx.AsyncClient, params: dict[str, object], field: str
) -> None:
    response = await api.get("/api/v1/tickets", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"].split(".")[0] == field


async def test_an_unknown_queue_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/queues/everything")
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "name"


async def test_a_projector_writes_only_while_its_replica_holds_the_leader_lock(
    pool: asyncpg.Pool,
) -> None:
    from ticketstream.projections.main import LEADER
    from ticketstream.projections.projector import LostLeadershipError

    async with pool.acquire() as session:
        assert await session.fetchval("SELECT pg_try_advisory_lock($1)", LEADER)
        leader = (session.get_server_pid(), LEADER)
        projector = TicketProjector(pool, PositionWatch(), leader=leader)
        await projector.handle(Batch([created("AAAA0010", 30)], 30))
        await session.execute("SELECT pg_advisory_unlock($1)", LEADER)
        with pytest.raises(LostLeadershipError):
            await projector.handle(Batch([created("AAAA0011", 31)], 31))
    assert await count(pool, "tickets") == 1
    assert await projector.checkpoint() == 30


async def test_tags_with_any_characters_survive_the_batch_write(pool: asyncpg.Pool) -> None:
    from ticketstream.events import TagsChanged

    tags = ["a,b", 'q"uote', "back\\slash", "{brace}", "NULL", "sp ace", "é"]
    changed = TagsChanged(ticket_id="AAAA0012", added=tags, tags=tags)
    [envelope] = wrap([changed], first_version=2, meta=META, time=datetime.now(UTC))
    projector = TicketProjector(pool, PositionWatch())
    await projector.handle(Batch([created("AAAA0012", 40), RecordedEvent(envelope, 41)], 41))
    async with pool.acquire() as conn:
        stored = await conn.fetchval("SELECT tags FROM tickets WHERE ticket_id = 'AAAA0012'")
    assert stored == sorted(tags)
