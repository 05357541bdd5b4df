"""The ticket projector: applies batches of events to the read models, exactly once.

Every batch is one Postgres transaction that also writes the checkpoint (the stream
position of the batch's last message), so a redelivered or replayed event at or below the
checkpoint is skipped, and a crash in the middle of a batch leaves nothing half-applied.
A message that is not a valid ticket event goes to ``dead_letters`` and the stream goes on.

Every event type has one small applier: it updates the ticket row and adds one thread entry.
Each event is applied only on top of the version before it (``ticket_version`` is the row's
``version`` + 1); an event at or below the row's version is a duplicate and is skipped; an
event further ahead is a version gap: it goes to ``dead_letters``, the ticket is flagged
``stale`` (a rebuild repairs it), and the stream goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import structlog
from prometheus_client import Counter

from ticketstream.events import (
    AgentReplied,
    AutoReplyReceived,
    EmailFailed,
    EmailSent,
    FeedbackSubmitted,
    InternalNoteAdded,
    PriorityChanged,
    RequesterReplied,
    ResolutionConfirmed,
    SlaBreached,
    TagsChanged,
    TicketAssigned,
    TicketCategorized,
    TicketClosed,
    TicketCreated,
    TicketEvent,
    TicketPendingOnRequester,
    TicketReopened,
    TicketResolved,
    TicketRouted,
    TicketTransferred,
    TicketUnassigned,
    encode,
    event_type,
)
from ticketstream.eventstore import Batch, RecordedEvent

from .db import Connection
from .position import PositionWatch

_log = structlog.get_logger(__name__)

DEAD_LETTERS = Counter(
    "ticketstream_projection_dead_letters_total",
    "Stream messages the projector could not apply, kept in dead_letters",
    ["reason"],
)

PROJECTION = "tickets"

Apply = Callable[[Connection, RecordedEvent], Awaitable[None]]

_E = TypeVar("_E", bound=TicketEvent)


def _data(recorded: RecordedEvent, cls: type[_E]) -> _E:
    event = recorded.envelope.data
    assert isinstance(event, cls)
    return event


async def _advance(
    conn: Connection, recorded: RecordedEvent, sets: str = "", *args: Any, text: str | None = None
) -> bool:
    """Apply ``sets`` (SQL assignments using ``$5``...) to the ticket row if ``recorded`` is its
    next version, together with its version, position and time; append ``text`` to its search
    vector. False when the event is a duplicate or a version gap (then recorded, not applied).
    """
    envelope = recorded.envelope
    assignments = "version = $2, position = $3, updated_at = $4"
    if sets:
        assignments += ", " + sets
    extra = list(args)
    if text is not None:
        extra.append(text)
        assignments += f", search = search || to_tsvector('simple', ${4 + len(extra)}::text)"
    applied = await conn.fetchval(
        f"UPDATE tickets SET {assignments} WHERE ticket_id = $1 AND version = $2 - 1 RETURNING 1",
        envelope.ticket_id,
        envelope.ticket_version,
        recorded.position,
        envelope.time,
        *extra,
    )
    if applied is not None:
        return True
    current = await conn.fetchval(
        "SELECT version FROM tickets WHERE ticket_id = $1", envelope.ticket_id
    )
    if current is not None and envelope.ticket_version <= current:
        return False  # already applied: a redelivery or a replay
    await _version_gap(conn, recorded, (current or 0) + 1)
    return False


async def _version_gap(conn: Connection, recorded: RecordedEvent, expected: int) -> None:
    envelope = recorded.envelope
    error = f"version gap: expected {expected} got {envelope.ticket_version}"
    _log.warning(
        "version gap", ticket_id=envelope.ticket_id, position=recorded.position, error=error
    )
    await dead_letter(conn, recorded.position, encode(envelope), error, "version_gap")
    await conn.execute("UPDATE tickets SET stale = true WHERE ticket_id = $1", envelope.ticket_id)


async def dead_letter(
    conn: Connection, position: int, payload: bytes, error: str, reason: str
) -> None:
    """Keep what could not be applied in ``dead_letters`` (once per position), and count it."""
    kept = await conn.fetchval(
        """INSERT INTO dead_letters (projection, position, payload, error)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1""",
        PROJECTION,
        position,
        payload,
        error,
    )
    if kept:
        DEAD_LETTERS.labels(reason=reason).inc()


async def _thread(
    conn: Connection, recorded: RecordedEvent, kind: str, body: str, *, public: bool
) -> None:
    envelope = recorded.envelope
    await conn.execute(
        """INSERT INTO thread_entries (ticket_id, version, position, event_id, kind,
                                       author_type, author_id, public, body, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (ticket_id, version) DO NOTHING""",
        envelope.ticket_id,
        envelope.ticket_version,
        recorded.position,
        envelope.id,
        kind,
        envelope.actor_type,
        envelope.actor_id,
        public,
        body,
        envelope.time,
    )


async def _record(
    conn: Connection,
    recorded: RecordedEvent,
    kind: str,
    body: str,
    sets: str = "",
    *args: Any,
    public: bool = False,
    searchable: bool = True,
) -> None:
    """Advance the row by ``sets`` and add the thread entry, if the event is the next one."""
    if await _advance(conn, recorded, sets, *args, text=body if searchable else None):
        await _thread(conn, recorded, kind, body, public=public)


async def _ticket_created(conn: Connection, recorded: RecordedEvent) -> None:
    envelope = recorded.envelope
    event = _data(recorded, TicketCreated)
    if envelope.ticket_version != 1:
        exists = await conn.fetchval("SELECT 1 FROM tickets WHERE ticket_id = $1", event.ticket_id)
        if exists is None:
            await _version_gap(conn, recorded, 1)
        return
    inserted = await conn.fetchval(
        """INSERT INTO tickets (ticket_id, version, position, status, channel, subject,
                                help_topic, requester_name, requester_email, priority,
                                created_at, updated_at, search)
           VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $10,
                   to_tsvector('simple', $5::text) || to_tsvector('simple', $11::text))
           ON CONFLICT (ticket_id) DO NOTHING
           RETURNING 1""",
        event.ticket_id,
        envelope.ticket_version,
        recorded.position,
        event.channel,
        event.subject,
        event.help_topic,
        event.requester.name,
        event.requester.email,
        event.priority,
        envelope.time,
        event.message,
    )
    if inserted is not None:
        await _thread(conn, recorded, "message", event.message, public=True)


async def _routed(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TicketRouted)
    await _record(
        conn,
        recorded,
        "routed",
        f"Routed to {e.department} (priority {e.priority}, SLA plan {e.sla_plan or 'none'})",
        """department = $5, priority = $6, sla_plan = $7, first_response_due = $8,
           resolution_due = $9, category = coalesce(category, $10)""",
        e.department,
        e.priority,
        e.sla_plan,
        e.first_response_due,
        e.resolution_due,
        e.category,
        searchable=False,
    )


async def _assigned(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TicketAssigned)
    body = f"Assigned to {e.agent_id} ({e.strategy.replace('_', ' ')})"
    await _record(conn, recorded, "assigned", body, "assignee = $5", e.agent_id, searchable=False)


async def _unassigned(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TicketUnassigned)
    body = f"Unassigned from {e.previous_agent_id}"
    await _record(conn, recorded, "unassigned", body, "assignee = NULL", searchable=False)


async def _transferred(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TicketTransferred)
    body = f"Transferred from {e.from_department or 'none'} to {e.to_department}"
    if e.reason:
        body += f": {e.reason}"
    sets = "department = $5, assignee = NULL"
    await _record(conn, recorded, "transferred", body, sets, e.to_department)


async def _agent_replied(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, AgentReplied)
    sets = "first_responded_at = coalesce(first_responded_at, $4)"
    await _record(conn, recorded, "agent_reply", e.body, sets, public=True)


async def _note_added(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, InternalNoteAdded)
    await _record(conn, recorded, "note", e.body, public=False)


async def _requester_replied(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, RequesterReplied)
    sets = "status = CASE WHEN status = 'pending' THEN 'open' ELSE status END"
    await _record(conn, recorded, "requester_reply", e.body, sets, public=True)


async def _categorized(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TicketCategorized)
    body = f"Category set to {e.category}"
    if e.previous_category:
        body += f" (was {e.previous_category})"
    await _record(conn, recorded, "categorized", body, "category = $5", e.category)


async def _tags_changed(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TagsChanged)
    parts = [f"added {', '.join(e.added)}"] if e.added else []
    parts += [f"removed {', '.join(e.removed)}"] if e.removed else []
    body = "Tags " + ("; ".join(parts) or "unchanged")
    await _record(conn, recorded, "tags", body, "tags = $5", sorted(set(e.tags)))


async def _priority_changed(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, PriorityChanged)
    body = f"Priority set to {e.priority}"
    if e.previous_priority:
        body += f" (was {e.previous_priority})"
    await _record(conn, recorded, "priority", body, "priority = $5", e.priority, searchable=False)


async def _pending(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TicketPendingOnRequester)
    body = "Pending on the requester" + (f": {e.reason}" if e.reason else "")
    await _record(conn, recorded, "pending", body, "status = 'pending'", public=True)


async def _resolved(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TicketResolved)
    # Like the ticket rules: the resolution is a public answer, so it is a first response too.
    sets = """status = 'resolved', resolution = $5, resolved_at = $4,
              first_responded_at = coalesce(first_responded_at, $4)"""
    body = f"Resolved: {e.resolution}"
    await _record(conn, recorded, "resolved", body, sets, e.resolution, public=True)


async def _confirmed(conn: Connection, recorded: RecordedEvent) -> None:
    _data(recorded, ResolutionConfirmed)
    body = "The requester confirmed the resolution"
    await _record(conn, recorded, "confirmed", body, public=True, searchable=False)


async def _reopened(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TicketReopened)
    sets = """status = 'open', resolution = NULL, resolved_at = NULL, closed_at = NULL,
              close_reason = NULL, reopen_count = reopen_count + 1"""
    body = "Reopened" + (f": {e.reason}" if e.reason else "")
    await _record(conn, recorded, "reopened", body, sets, public=True)


_CLOSE_REASONS = {
    "confirmed": "confirmed by the requester",
    "agent": "by an agent",
    "auto": "automatically after the quiet period",
}


async def _closed(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, TicketClosed)
    sets = "status = 'closed', closed_at = $4, close_reason = $5"
    body = f"Closed ({_CLOSE_REASONS[e.reason]})"
    await _record(conn, recorded, "closed", body, sets, e.reason, public=True, searchable=False)


async def _sla_breached(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, SlaBreached)
    column = f"{e.target}_breached"  # a Literal: first_response or resolution
    body = f"SLA {e.target.replace('_', ' ')} target missed (due {e.due_at.isoformat()})"
    await _record(conn, recorded, "sla_breached", body, f"{column} = true", searchable=False)


async def _feedback(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, FeedbackSubmitted)
    body = f"Satisfaction {e.rating}/5" + (f": {e.comment}" if e.comment else "")
    sets = "feedback_rating = $5, feedback_comment = $6"
    await _record(conn, recorded, "feedback", body, sets, e.rating, e.comment, public=True)


async def _email_sent(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, EmailSent)
    body = (
        f"E-mail sent to {e.role} {e.recipient}: {e.subject!r} "
        f"(template {e.template}, Message-ID {e.message_id}, caused by {e.cause_event_id})"
    )
    await _record(conn, recorded, "email_sent", body, searchable=False)


async def _email_failed(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, EmailFailed)
    kind = "permanently" if e.permanent else "temporarily"
    body = (
        f"E-mail to {e.role} {e.recipient} failed {kind}: {e.error} "
        f"(template {e.template}, caused by {e.cause_event_id})"
    )
    await _record(conn, recorded, "email_failed", body, searchable=False)


async def _auto_reply(conn: Connection, recorded: RecordedEvent) -> None:
    e = _data(recorded, AutoReplyReceived)
    what = "Bounce" if e.kind == "bounce" else "Automatic reply"
    body = f"{what} from {e.from_address}: {e.subject!r} ({e.reason})"
    await _record(conn, recorded, "auto_reply", body, searchable=False)


APPLIERS: dict[str, Apply] = {
    event_type(TicketCreated): _ticket_created,
    event_type(TicketRouted): _routed,
    event_type(TicketAssigned): _assigned,
    event_type(TicketUnassigned): _unassigned,
    event_type(TicketTransferred): _transferred,
    event_type(AgentReplied): _agent_replied,
    event_type(InternalNoteAdded): _note_added,
    event_type(RequesterReplied): _requester_replied,
    event_type(TicketCategorized): _categorized,
    event_type(TagsChanged): _tags_changed,
    event_type(PriorityChanged): _priority_changed,
    event_type(TicketPendingOnRequester): _pending,
    event_type(TicketResolved): _resolved,
    event_type(ResolutionConfirmed): _confirmed,
    event_type(TicketReopened): _reopened,
    event_type(TicketClosed): _closed,
    event_type(SlaBreached): _sla_breached,
    event_type(FeedbackSubmitted): _feedback,
    event_type(EmailSent): _email_sent,
    event_type(EmailFailed): _email_failed,
    event_type(AutoReplyReceived): _auto_reply,
}


class TicketProjector:
    """Applies event batches to the read models with the checkpoint in the same transaction."""

    def __init__(self, pool: asyncpg.Pool, watch: PositionWatch) -> None:
        self._pool = pool
        self._watch = watch
        self._checkpoint = -1

    async def checkpoint(self) -> int:
        """The last stream position applied (0 when nothing is)."""
        async with self._pool.acquire() as conn:
            position = await conn.fetchval(
                "SELECT position FROM projection_checkpoints WHERE projection = $1", PROJECTION
            )
        return int(position or 0)

    async def handle(self, batch: Batch) -> None:
        """Apply one batch: what is above the checkpoint, in order, in one transaction."""
        if self._checkpoint < 0:
            self._checkpoint = await self.checkpoint()
        fresh = [e for e in batch.events if e.position > self._checkpoint]
        if batch.last_position <= self._checkpoint:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            for recorded in fresh:
                apply = APPLIERS.get(recorded.envelope.type)
                if apply is not None:
                    await apply(conn, recorded)
            await conn.execute(
                """INSERT INTO projection_checkpoints (projection, position, updated_at)
                   VALUES ($1, $2, now())
                   ON CONFLICT (projection) DO UPDATE
                   SET position = EXCLUDED.position, updated_at = now()
                   WHERE projection_checkpoints.position < EXCLUDED.position""",
                PROJECTION,
                batch.last_position,
            )
        self._checkpoint = batch.last_position
        await self._watch.advance(batch.last_position)

    async def record_poison(self, position: int, payload: bytes, error: Exception) -> None:
        """Keep a message that is not a valid ticket event in ``dead_letters`` (once)."""
        _log.warning("dead letter", position=position, error=str(error)[:500])
        async with self._pool.acquire() as conn:
            await dead_letter(conn, position, payload, str(error), "not_an_event")
