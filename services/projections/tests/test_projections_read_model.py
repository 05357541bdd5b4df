"""The full read model: every event type, the thread, version gaps, lists and queues
(real PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from ticketstream.events import (
    EVENT_TYPES,
    Actor,
    AgentReplied,
    AnyTicketEvent,
    AutoReplyReceived,
    EmailFailed,
    EmailSent,
    FeedbackSubmitted,
    InternalNoteAdded,
    Metadata,
    PriorityChanged,
    Requester,
    RequesterReplied,
    ResolutionConfirmed,
    SlaBreached,
    TagsChanged,
    TicketAssigned,
    TicketCategorized,
    TicketClosed,
    TicketCreated,
    TicketPendingOnRequester,
    TicketReopened,
    TicketResolved,
    TicketRouted,
    TicketTransferred,
    TicketUnassigned,
    wrap,
)
from ticketstream.eventstore import Batch, RecordedEvent
from ticketstream.projections import queries
from ticketstream.projections.db import connect, create_pool
from ticketstream.projections.migrate import available, migrate
from ticketstream.projections.position import PositionWatch
from ticketstream.projections.projector import TicketProjector
from ticketstream.projections.rows import PROJECTED

pytestmark = pytest.mark.integration

BASE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REQUESTER = Actor(kind="requester", id="dana@example.com")
AGENT = Actor(kind="agent", id="ana")
SYSTEM = Actor(kind="system", id="routing")


class Feed:
    """Builds recorded events as the store would: per-ticket versions, stream positions."""

    def __init__(self) -> None:
        self.position = 0
        self.versions: dict[str, int] = {}

    def __call__(
        self, event: AnyTicketEvent, actor: Actor = AGENT, at: datetime | None = None
    ) -> RecordedEvent:
        version = self.versions.get(event.ticket_id, 0) + 1
        self.versions[event.ticket_id] = version
        self.position += 1
        meta = Metadata(source="tests", actor=actor)
        time = at or BASE + timedelta(minutes=self.position)
        [envelope] = wrap([event], first_version=version, meta=meta, time=time)
        return RecordedEvent(envelope, self.position)

    def skip_version(self, ticket_id: str) -> None:
        self.versions[ticket_id] += 1


def created(ticket_id: str, subject: str = "Unable to access e-mail", **kw: Any) -> TicketCreated:
    fields: dict[str, Any] = {
        "channel": "web",
        "requester": Requester(name="Dana", email="dana@example.com"),
        "subject": subject,
        "message": "Locked out since this morning.",
        "help_topic": "email-support",
    }
    fields.update(kw)
    return TicketCreated(ticket_id=ticket_id, **fields)


@pytest.fixture
async def pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database_url, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield pool
    await pool.close()


async def apply(projector: TicketProjector, *events: RecordedEvent) -> None:
    await projector.handle(Batch(list(events), events[-1].position))


async def row(pool: asyncpg.Pool, ticket_id: str) -> asyncpg.Record:
    async with pool.acquire() as conn:
        record = await conn.fetchrow("SELECT * FROM tickets WHERE ticket_id = $1", ticket_id)
    assert record is not None
    return record


async def snapshot(pool: asyncpg.Pool) -> tuple[list[Any], list[Any], list[Any]]:
    async with pool.acquire() as conn:
        tickets = await conn.fetch(
            """SELECT t.*, s.search::text AS search_text
               FROM tickets t LEFT JOIN ticket_search s USING (ticket_id) ORDER BY ticket_id"""
        )
        thread = await conn.fetch("SELECT * FROM thread_entries ORDER BY ticket_id, version")
        dead = await conn.fetch("SELECT projection, position, error FROM dead_letters")
    return (
        [dict(r) for r in tickets],
        [dict(r) for r in thread],
        [dict(r) for r in dead],
    )


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def test_every_event_type_has_an_applier() -> None:
    assert set(PROJECTED) == set(EVENT_TYPES)


LIFE = "LIFE0001"
LIFECYCLE: list[tuple[AnyTicketEvent, Actor, dict[str, Any], tuple[str, bool, str]]] = [
    (
        created(LIFE, priority="low"),
        REQUESTER,
        {"status": "open", "priority": "low", "department": None, "assignee": None},
        ("message", True, "Locked out since this morning."),
    ),
    (
        TicketRouted(
            ticket_id=LIFE,
            department="it",
            priority="high",
            sla_plan="standard",
            first_response_due=at(60),
            resolution_due=at(480),
            category="email",
        ),
        SYSTEM,
        {
            "department": "it",
            "priority": "high",
            "sla_plan": "standard",
            "first_response_due": at(60),
            "resolution_due": at(480),
            "category": "email",
        },
        ("routed", False, "Routed to it (priority high, SLA plan standard)"),
    ),
    (
        TicketAssigned(ticket_id=LIFE, agent_id="ana", strategy="round_robin"),
        SYSTEM,
        {"assignee": "ana"},
        ("assigned", False, "Assigned to ana (round robin)"),
    ),
    (
        AgentReplied(ticket_id=LIFE, agent_id="ana", body="Try the xylophone reset link."),
        AGENT,
        {"first_responded_at": at(4), "status": "open"},
        ("agent_reply", True, "Try the xylophone reset link."),
    ),
    (
        InternalNoteAdded(ticket_id=LIFE, agent_id="ana", body="Mail server logs show lockout."),
        AGENT,
        {"first_responded_at": at(4)},
        ("note", False, "Mail server logs show lockout."),
    ),
    (
        TicketCategorized(ticket_id=LIFE, category="accounts", previous_category="email"),
        AGENT,
        {"category": "accounts"},
        ("categorized", False, "Category set to accounts (was email)"),
    ),
    (
        TagsChanged(ticket_id=LIFE, added=("vip", "mail"), tags=("vip", "mail")),
        AGENT,
        {"tags": ["mail", "vip"]},
        ("tags", False, "Tags added vip, mail"),
    ),
    (
        PriorityChanged(ticket_id=LIFE, priority="urgent", previous_priority="high"),
        AGENT,
        {"priority": "urgent", "priority_rank": 4},
        ("priority", False, "Priority set to urgent (was high)"),
    ),
    (
        TicketPendingOnRequester(ticket_id=LIFE, reason="Did the link work?"),
        AGENT,
        {"status": "pending"},
        ("pending", True, "Pending on the requester: Did the link work?"),
    ),
    (
        RequesterReplied(ticket_id=LIFE, channel="email", body="Still locked out."),
        REQUESTER,
        {"status": "open"},
        ("requester_reply", True, "Still locked out."),
    ),
    (
        TicketResolved(ticket_id=LIFE, agent_id="ana", resolution="Password reset done."),
        AGENT,
        {"status": "resolved", "resolved_at": at(11), "resolution": "Password reset done."},
        ("resolved", True, "Resolved: Password reset done."),
    ),
    (
        ResolutionConfirmed(ticket_id=LIFE),
        REQUESTER,
        {"status": "resolved", "closed_at": None},
        ("confirmed", True, "The requester confirmed the resolution"),
    ),
    (
        TicketClosed(ticket_id=LIFE, reason="confirmed"),
        REQUESTER,
        {"status": "closed", "closed_at": at(13), "close_reason": "confirmed"},
        ("closed", True, "Closed (confirmed by the requester)"),
    ),
    (
        FeedbackSubmitted(ticket_id=LIFE, rating=5, comment="Quick and kind."),
        REQUESTER,
        {"feedback_rating": 5, "feedback_comment": "Quick and kind.", "status": "closed"},
        ("feedback", True, "Satisfaction 5/5: Quick and kind."),
    ),
    (
        EmailSent(
            ticket_id=LIFE,
            cause_event_id="evt-1",
            recipient="dana@example.com",
            role="requester",
            template="survey",
            message_id="<m1@ticketstream>",
            subject="[#LIFE0001] How did we do?",
        ),
        Actor(kind="system", id="notify"),
        {"status": "closed"},
        (
            "email_sent",
            False,
            "E-mail sent to requester dana@example.com: '[#LIFE0001] How did we do?' "
            "(template survey, Message-ID <m1@ticketstream>, caused by evt-1)",
        ),
    ),
]


async def test_a_whole_lifecycle_projects_every_step(pool: asyncpg.Pool) -> None:
    feed = Feed()
    projector = TicketProjector(pool, PositionWatch())
    for step, (event, actor, expected, _) in enumerate(LIFECYCLE, start=1):
        await apply(projector, feed(event, actor))
        current = await row(pool, LIFE)
        got = {key: current[key] for key in expected}
        assert got == expected, f"after step {step} ({event.type})"
        assert (current["version"], current["position"]) == (step, step)
        assert current["updated_at"] == at(step)
        assert current["stale"] is False

    async with pool.acquire() as conn:
        detail = await queries.ticket_detail(conn, LIFE)
    assert detail is not None
    assert [(e["kind"], e["public"], e["body"]) for e in detail["thread"]] == [
        entry for *_, entry in LIFECYCLE
    ]
    assert [e["version"] for e in detail["thread"]] == list(range(1, len(LIFECYCLE) + 1))
    note = detail["thread"][4]
    assert note["author"] == {"type": "agent", "id": "ana"}
    assert detail["feedback"] == {"rating": 5, "comment": "Quick and kind."}
    assert detail["resolution"] == "Password reset done."
    assert detail["requester"] == {"name": "Dana", "email": "dana@example.com"}


async def test_the_other_event_types_project(pool: asyncpg.Pool) -> None:
    feed = Feed()
    projector = TicketProjector(pool, PositionWatch())
    t = "OTHR0001"
    steps: list[tuple[AnyTicketEvent, dict[str, Any], str]] = [
        (created(t), {"status": "open"}, "message"),
        (
            TicketRouted(ticket_id=t, department="it", priority="medium", category="email"),
            {"department": "it", "category": "email"},
            "routed",
        ),
        (TicketAssigned(ticket_id=t, agent_id="bob"), {"assignee": "bob"}, "assigned"),
        (
            SlaBreached(ticket_id=t, target="first_response", due_at=at(2)),
            {"first_response_breached": True, "resolution_breached": False},
            "sla_breached",
        ),
        (TicketUnassigned(ticket_id=t, previous_agent_id="bob"), {"assignee": None}, "unassigned"),
        (TicketAssigned(ticket_id=t, agent_id="cy"), {"assignee": "cy"}, "assigned"),
        (
            TicketTransferred(ticket_id=t, from_department="it", to_department="sales"),
            {"department": "sales", "assignee": None},
            "transferred",
        ),
        (
            SlaBreached(ticket_id=t, target="resolution", due_at=at(7)),
            {"resolution_breached": True},
            "sla_breached",
        ),
        (
            TicketResolved(ticket_id=t, agent_id="cy", resolution="Done."),
            {"status": "resolved", "resolved_at": at(9), "first_responded_at": at(9)},
            "resolved",
        ),
        (
            TicketReopened(ticket_id=t, reason="Not fixed"),
            {"status": "open", "reopen_count": 1, "resolved_at": None, "resolution": None},
            "reopened",
        ),
        (
            EmailFailed(
                ticket_id=t,
                cause_event_id="evt-9",
                recipient="dana@example.com",
                role="requester",
                template="reopened",
                error="550 mailbox full",
                permanent=True,
            ),
            {"status": "open"},
            "email_failed",
        ),
        (
            AutoReplyReceived(
                ticket_id=t,
                kind="auto_reply",
                from_address="dana@example.com",
                subject="Out of office",
                reason="Auto-Submitted: auto-replied",
            ),
            {"status": "open"},
            "auto_reply",
        ),
        (
            TicketClosed(ticket_id=t, reason="agent"),
            {"status": "closed", "close_reason": "agent", "closed_at": at(13)},
            "closed",
        ),
        (
            TicketReopened(ticket_id=t),
            {"status": "open", "reopen_count": 2, "closed_at": None, "close_reason": None},
            "reopened",
        ),
    ]
    for event, expected, _ in steps:
        await apply(projector, feed(event))
        current = await row(pool, t)
        assert {key: current[key] for key in expected} == expected, event.type
    async with pool.acquire() as conn:
        detail = await queries.ticket_detail(conn, t)
    assert detail is not None
    assert [e["kind"] for e in detail["thread"]] == [kind for *_, kind in steps]
    failed = detail["thread"][10]
    assert failed["public"] is False
    assert failed["body"] == (
        "E-mail to requester dana@example.com failed permanently: 550 mailbox full "
        "(template reopened, caused by evt-9)"
    )
    assert detail["thread"][11]["body"] == (
        "Automatic reply from dana@example.com: 'Out of office' (Auto-Submitted: auto-replied)"
    )


async def test_redelivery_and_replay_change_nothing(pool: asyncpg.Pool) -> None:
    feed = Feed()
    events = [feed(event, actor) for event, actor, *_ in LIFECYCLE]
    await apply(TicketProjector(pool, PositionWatch()), *events)
    before = await snapshot(pool)
    # A restart gets the same batch again (below the checkpoint) ...
    await apply(TicketProjector(pool, PositionWatch()), *events)
    assert await snapshot(pool) == before
    # ... and with the checkpoint lost, each event is recognised as already applied.
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM projection_checkpoints")
    for event in events:
        await apply(TicketProjector(pool, PositionWatch()), event)
    assert await snapshot(pool) == before


async def test_a_version_gap_is_dead_lettered_and_the_stream_goes_on(pool: asyncpg.Pool) -> None:
    feed = Feed()
    projector = TicketProjector(pool, PositionWatch())
    await apply(projector, feed(created("GAPS0001")), feed(created("GAPS0002")))
    feed.skip_version("GAPS0001")  # version 2 of GAPS0001 never arrives
    gap = feed(TicketAssigned(ticket_id="GAPS0001", agent_id="ana"))
    other = feed(TicketAssigned(ticket_id="GAPS0002", agent_id="bob"))
    orphan = feed(TicketAssigned(ticket_id="NONE0001", agent_id="bob"))
    orphan = RecordedEvent(orphan.envelope.model_copy(update={"ticket_version": 4}), 5)
    await apply(projector, gap, other, orphan)

    stale = await row(pool, "GAPS0001")
    assert (stale["stale"], stale["version"], stale["assignee"]) == (True, 1, None)
    fine = await row(pool, "GAPS0002")
    assert (fine["stale"], fine["version"], fine["assignee"]) == (False, 2, "bob")
    assert await projector.checkpoint() == 5
    async with pool.acquire() as conn:
        dead = await conn.fetch("SELECT position, error FROM dead_letters ORDER BY position")
        entries = await conn.fetchval(
            "SELECT count(*) FROM thread_entries WHERE ticket_id = 'GAPS0001'"
        )
    assert [(r["position"], r["error"]) for r in dead] == [
        (3, "version gap: expected 2 got 3"),
        (5, "version gap: expected 1 got 4"),
    ]
    assert entries == 1


# --- lists and queues -------------------------------------------------------------------


async def seed_queue_tickets(pool: asyncpg.Pool) -> None:
    """A: it/ana/high/email/vip, open, overdue.  B: sales/bob/low/billing, pending.
    C: it/unassigned/medium, open.  D: it/ana, resolved (by erin)."""
    feed = Feed()
    erin = Requester(name="Erin", email="Erin@Example.com")
    events = [
        feed(created("AAAA0001", subject="Printer on fire")),
        feed(TicketRouted(ticket_id="AAAA0001", department="it", priority="high")),
        feed(TicketAssigned(ticket_id="AAAA0001", agent_id="ana")),
        feed(TicketCategorized(ticket_id="AAAA0001", category="email")),
        feed(TagsChanged(ticket_id="AAAA0001", added=("vip",), tags=("vip",))),
        feed(SlaBreached(ticket_id="AAAA0001", target="first_response", due_at=at(1))),
        feed(created("BBBB0002", subject="Invoice question")),
        feed(TicketRouted(ticket_id="BBBB0002", department="sales", priority="low")),
        feed(TicketAssigned(ticket_id="BBBB0002", agent_id="bob")),
        feed(TicketCategorized(ticket_id="BBBB0002", category="billing")),
        feed(AgentReplied(ticket_id="BBBB0002", agent_id="bob", body="Which zeppelin invoice?")),
        feed(TicketPendingOnRequester(ticket_id="BBBB0002")),
        feed(created("CCCC0003", subject="VPN drops")),
        feed(TicketRouted(ticket_id="CCCC0003", department="it", priority="medium")),
        feed(created("DDDD0004", subject="New laptop", requester=erin)),
        feed(TicketRouted(ticket_id="DDDD0004", department="it", priority="medium")),
        feed(TicketAssigned(ticket_id="DDDD0004", agent_id="ana")),
        feed(TicketResolved(ticket_id="DDDD0004", agent_id="ana", resolution="Shipped.")),
    ]
    await apply(TicketProjector(pool, PositionWatch()), *events)


async def ids(result: tuple[list[dict[str, Any]], str | None]) -> list[str]:
    rows, _ = result
    return [r["ticket_id"] for r in rows]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["DDDD0004", "CCCC0003", "BBBB0002", "AAAA0001"]),
        ({"status": "open"}, ["CCCC0003", "AAAA0001"]),
        ({"status": ["pending", "resolved"]}, ["DDDD0004", "BBBB0002"]),
        ({"department": "it"}, ["DDDD0004", "CCCC0003", "AAAA0001"]),
        ({"department": "it", "status": "open"}, ["CCCC0003", "AAAA0001"]),
        ({"assignee": "ana"}, ["DDDD0004", "AAAA0001"]),
        ({"priority": "low"}, ["BBBB0002"]),
        ({"category": "billing"}, ["BBBB0002"]),
        ({"tag": "vip"}, ["AAAA0001"]),
        ({"tag": "nope"}, []),
        ({"requester": "erin@example.COM"}, ["DDDD0004"]),
        ({"overdue": True}, ["AAAA0001"]),
        ({"overdue": False}, ["DDDD0004", "CCCC0003", "BBBB0002"]),
        ({"text": "zeppelin"}, ["BBBB0002"]),
        ({"text": "printer fire"}, ["AAAA0001"]),
        ({"text": "locked"}, ["DDDD0004", "CCCC0003", "BBBB0002", "AAAA0001"]),
        ({"text": "kangaroo"}, []),
        ({"sort": "priority"}, ["AAAA0001", "DDDD0004", "CCCC0003", "BBBB0002"]),
        (
            {"sort": "updated", "direction": "asc"},
            ["AAAA0001", "BBBB0002", "CCCC0003", "DDDD0004"],
        ),
    ],
)
async def test_list_filters(
    pool: asyncpg.Pool, filters: dict[str, Any], expected: list[str]
) -> None:
    await seed_queue_tickets(pool)
    async with pool.acquire() as conn:
        assert await ids(await queries.list_tickets(conn, **filters)) == expected


@pytest.mark.parametrize(
    ("sort", "direction"),
    [
        ("created", "desc"),
        ("created", "asc"),
        ("updated", "desc"),
        ("priority", "desc"),
        ("priority", "asc"),
    ],
)
async def test_keyset_pagination_returns_every_ticket_once_in_order(
    pool: asyncpg.Pool, sort: queries.Sort, direction: queries.Direction
) -> None:
    feed = Feed()
    events = []
    priorities = ("low", "medium", "high", "urgent")
    for n in range(25):
        ticket_id = f"PAGE{n:04d}"
        # Three tickets share each creation time: ticket_id breaks the ties.
        events.append(feed(created(ticket_id), at=at(n // 3)))
        routed = TicketRouted(ticket_id=ticket_id, department="it", priority=priorities[n % 4])
        events.append(feed(routed, at=at(100 + n // 2)))
    await apply(TicketProjector(pool, PositionWatch()), *events)

    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    async with pool.acquire() as conn:
        while True:
            rows, cursor = await queries.list_tickets(
                conn, sort=sort, direction=direction, limit=10, cursor=cursor
            )
            seen += rows
            pages += 1
            if cursor is None:
                break
    assert pages == 3
    assert len({r["ticket_id"] for r in seen}) == 25

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        rank = priorities.index(r["priority"]) + 1
        return {
            "created": (r["created_at"], r["ticket_id"]),
            "updated": (r["updated_at"], r["ticket_id"]),
            "priority": (rank, r["created_at"], r["ticket_id"]),
        }[sort]

    assert seen == sorted(seen, key=key, reverse=direction == "desc")


async def test_a_foreign_or_broken_cursor_is_refused(pool: asyncpg.Pool) -> None:
    await seed_queue_tickets(pool)
    async with pool.acquire() as conn:
        _, cursor = await queries.list_tickets(conn, limit=1)
        assert cursor is not None
        with pytest.raises(queries.InvalidCursorError):
            await queries.list_tickets(conn, limit=1, cursor=cursor, sort="updated")
        with pytest.raises(queries.InvalidCursorError):
            await queries.list_tickets(conn, limit=1, cursor="not-a-cursor!!")
        with pytest.raises(queries.InvalidQueryError) as error:
            await queries.list_tickets(conn, limit=0)
        assert error.value.field == "limit"


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("unassigned", {}, ["CCCC0003"]),
        ("mine", {"agent_id": "ana"}, ["AAAA0001"]),
        ("mine", {"agent_id": "bob"}, ["BBBB0002"]),
        ("department", {"department": "it"}, ["AAAA0001", "CCCC0003"]),
        ("department", {"department": "sales"}, ["BBBB0002"]),
        ("overdue", {}, ["AAAA0001"]),
        ("pending", {}, ["BBBB0002"]),
    ],
)
async def test_queues(
    pool: asyncpg.Pool, name: str, kwargs: dict[str, Any], expected: list[str]
) -> None:
    await seed_queue_tickets(pool)
    async with pool.acquire() as conn:
        assert await ids(await queries.queue(conn, name, **kwargs)) == expected


@pytest.mark.parametrize(
    ("name", "kwargs", "field"),
    [("mine", {}, "agent_id"), ("department", {}, "department"), ("nope", {}, "name")],
)
async def test_a_queue_needs_what_it_names(
    pool: asyncpg.Pool, name: str, kwargs: dict[str, Any], field: str
) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(queries.InvalidQueryError) as error:
            await queries.queue(conn, name, **kwargs)
    assert error.value.field == field


async def test_workload_counts_active_tickets_per_agent(pool: asyncpg.Pool) -> None:
    await seed_queue_tickets(pool)
    async with pool.acquire() as conn:
        assert await queries.workload(conn) == [
            {"agent_id": "ana", "open": 1, "pending": 0, "overdue": 1},
            {"agent_id": "bob", "open": 0, "pending": 1, "overdue": 0},
        ]


async def test_migration_3_upgrades_a_populated_read_model(fresh_database_url: str) -> None:
    conn = await connect(fresh_database_url)
    try:
        await conn.execute("CREATE SCHEMA read_models")
        for migration in available()[:2]:
            await conn.execute(migration.sql)
        await conn.execute(
            """INSERT INTO tickets VALUES ('OLDS0001', 1, 1, 'open', 'web', 'Broken kettle',
                   'general', 'Dana', 'dana@example.com', NULL, now(), now());
               INSERT INTO thread_entries VALUES ('OLDS0001', 1, 1, 'e1', 'message',
                   'requester', 'dana@example.com', true, 'It whistles oddly', now())"""
        )
        await conn.execute(
            """CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now());
               INSERT INTO schema_migrations (version, name) VALUES (1, 'tickets'),
                   (2, 'dead_letters')"""
        )
        assert await migrate(conn) == [3, 4]
        rows, _ = await queries.list_tickets(conn, text="whistles kettle")
        assert [(r["ticket_id"], r["tags"], r["stale"]) for r in rows] == [("OLDS0001", [], False)]
    finally:
        await conn.close()


async def test_pagination_by_creation_never_skips_or_repeats_under_concurrent_writes(
    pool: asyncpg.Pool,
) -> None:
    feed = Feed()
    projector = TicketProjector(pool, PositionWatch())
    before = [f"CONC{n:04d}" for n in range(30)]
    await apply(projector, *(feed(created(t), at=at(n // 4)) for n, t in enumerate(before)))

    seen: list[str] = []
    cursor = None
    writes = 0
    async with pool.acquire() as conn:
        while True:
            rows, cursor = await queries.list_tickets(
                conn, sort="created", direction="asc", limit=7, cursor=cursor
            )
            seen += [r["ticket_id"] for r in rows if r["ticket_id"].startswith("CONC")]
            if cursor is None:
                break
            # Between two pages: tickets already listed and not yet listed change, and new
            # tickets arrive (created later, so they sort after everything listed so far).
            writes += 1
            changed = [seen[0], before[-1]]
            notes = [InternalNoteAdded(ticket_id=t, agent_id="ana", body="moved") for t in changed]
            fresh = created(f"CONC9{writes:03d}")
            await apply(projector, *(feed(e) for e in notes), feed(fresh, at=at(1000 + writes)))
    assert writes >= 4
    assert len(seen) == len(set(seen)), "a ticket was listed twice"
    assert set(before) <= set(seen), "a ticket was skipped"
