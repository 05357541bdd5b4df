"""The ticket projector: applies batches of events to the read models, exactly once.

Every batch is one Postgres transaction that also writes the checkpoint (the stream
position of the batch's last message), so a redelivered or replayed event at or below the
checkpoint is skipped, and a crash in the middle of a batch leaves nothing half-applied.
Events of types this projector does not handle yet still move the checkpoint. A message
that is not a valid ticket event goes to ``dead_letters`` and the stream goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from ticketstream.events import TicketCreated
from ticketstream.eventstore import Batch, RecordedEvent

from .db import Connection
from .position import PositionWatch

_log = structlog.get_logger(__name__)

PROJECTION = "tickets"

Apply = Callable[[Connection, RecordedEvent], Awaitable[None]]


async def _ticket_created(conn: Connection, recorded: RecordedEvent) -> None:
    envelope = recorded.envelope
    event = envelope.data
    assert isinstance(event, TicketCreated)
    inserted = await conn.fetchval(
        """INSERT INTO tickets (ticket_id, version, position, status, channel, subject,
                                help_topic, requester_name, requester_email, priority,
                                created_at, updated_at)
           VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $10)
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
    )
    if inserted is None:
        return
    await conn.execute(
        """INSERT INTO thread_entries (ticket_id, version, position, event_id, kind,
                                       author_type, author_id, public, body, created_at)
           VALUES ($1, $2, $3, $4, 'message', $5, $6, true, $7, $8)""",
        event.ticket_id,
        envelope.ticket_version,
        recorded.position,
        envelope.id,
        envelope.actor_type,
        envelope.actor_id,
        event.message,
        envelope.time,
    )


APPLIERS: dict[str, Apply] = {
    "io.ticketstream.ticket.created.v1": _ticket_created,
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
            await conn.execute(
                """INSERT INTO dead_letters (projection, position, payload, error)
                   VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
                PROJECTION,
                position,
                payload,
                str(error),
            )
