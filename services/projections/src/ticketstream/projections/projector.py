"""The ticket projector: applies batches of events to the read models, exactly once.

Every batch is one Postgres transaction that also writes the checkpoint (the stream
position of the batch's last message), so a redelivered or replayed event at or below the
checkpoint is skipped, and a crash in the middle of a batch leaves nothing half-applied.

A batch costs a handful of statements whatever its size: the rows it touches are read at
once, its events folded over them in Python (:mod:`.rows`), the rows written back with one
pipelined upsert and the thread lines with one ``COPY``.

What cannot be applied does not stall the stream:
- a message that is not a ticket event, an event that is not its ticket's next version, and
  an event whose batch fails for a reason that is not transient (the batch is then applied
  event by event, each in a savepoint, to find it) go to ``dead_letters`` with the error;
  the ticket is flagged ``stale`` (a rebuild repairs it) and a metric counts them;
- a transient failure (connection, serialization) fails the batch, which the subscription
  hands over again.

Each batch first takes a shared advisory lock: the rebuild's switch-over takes it exclusively
to swap the read models between two batches (see :mod:`.rebuild`). The checkpoint is read
inside the transaction for the same reason: after a swap it is the new tables'.
"""

from __future__ import annotations

from operator import attrgetter

import asyncpg
import structlog
from prometheus_client import Counter

from ticketstream.events import encode, ticket_id_of
from ticketstream.eventstore import Batch, RecordedEvent

from .db import Connection
from .position import PositionWatch
from .rows import COLUMNS, PROJECTED, Applied, Gap, TicketRow, apply

_log = structlog.get_logger(__name__)

DEAD_LETTERS = Counter(
    "ticketstream_projection_dead_letters_total",
    "Stream messages the projector could not apply, kept in dead_letters",
    ["reason"],
)

PROJECTION = "tickets"
POSITIONS_CHANNEL = "ticketstream_positions"
"""Postgres NOTIFY channel: the live projector announces each committed position on it."""
LIVE_WRITER = 0x74735F6C  # advisory lock keys: "ts_l", "ts_r"
REBUILD_WRITER = 0x74735F72

TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.TransactionRollbackError,
    asyncpg.CannotConnectNowError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
)
"""Failures worth trying the batch again for; anything else is the data's fault."""


class LostLeadershipError(RuntimeError):
    """This projector's replica no longer holds the leader lock: it must stop writing."""


_STOP_HERE: tuple[type[BaseException], ...] = (*TRANSIENT, LostLeadershipError)
_LOCK_AND_FENCE = """SELECT pg_advisory_xact_lock_shared($1)::text,
                            $2::integer IS NULL OR EXISTS (
                                SELECT 1 FROM pg_locks
                                WHERE locktype = 'advisory' AND granted AND pid = $2
                                  AND classid = 0 AND objid::bigint = $3 AND objsubid = 1)"""

_SQL_TYPES = {
    "version": "integer",
    "position": "bigint",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
    "tags": "text",  # as array literals, cast below: unnest cannot take ragged arrays
    "first_response_due": "timestamptz",
    "resolution_due": "timestamptz",
    "first_response_breached": "boolean",
    "resolution_breached": "boolean",
    "first_responded_at": "timestamptz",
    "resolved_at": "timestamptz",
    "closed_at": "timestamptz",
    "reopen_count": "integer",
    "feedback_rating": "integer",
    "stale": "boolean",
}


def _value(column: str) -> str:
    return f"u.{column}::text[]" if column == "tags" else f"u.{column}"


_UNNEST = (
    "unnest("
    + ", ".join(f"${n}::{_SQL_TYPES.get(c, 'text')}[]" for n, c in enumerate(COLUMNS, 1))
    + f") AS u({', '.join(COLUMNS)})"
)
_SELECT_ROWS = f"SELECT {', '.join(COLUMNS)} FROM tickets WHERE ticket_id = ANY($1::text[])"
_INSERT_ROWS = (
    f"INSERT INTO tickets ({', '.join(COLUMNS)}) "
    f"SELECT {', '.join(_value(c) for c in COLUMNS)} FROM {_UNNEST}"
)
_UPDATE_ROWS = (
    "UPDATE tickets t SET "
    + ", ".join(f"{c} = {_value(c)}" for c in COLUMNS[1:])
    + f" FROM {_UNNEST} WHERE t.ticket_id = u.ticket_id"
)
_ADD_WORDS = """INSERT INTO ticket_search (ticket_id, search)
                SELECT u.ticket_id, to_tsvector('simple', u.words)
                FROM unnest($1::text[], $2::text[]) AS u(ticket_id, words)
                ON CONFLICT (ticket_id) DO UPDATE
                SET search = ticket_search.search || EXCLUDED.search"""
_THREAD_COLUMNS = (
    "ticket_id",
    "version",
    "position",
    "event_id",
    "kind",
    "author_type",
    "author_id",
    "public",
    "body",
    "created_at",
)
_INSERT_LINE = (
    f"INSERT INTO thread_entries ({', '.join(_THREAD_COLUMNS)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_THREAD_COLUMNS) + 1))})"
)
_COPY_FROM = 50
CHECKPOINT = "SELECT position FROM projection_checkpoints WHERE projection = $1"
_ADVANCE = """WITH advanced AS (
                  INSERT INTO projection_checkpoints (projection, position, updated_at)
                  VALUES ($1, $2, now())
                  ON CONFLICT (projection) DO UPDATE
                  SET position = EXCLUDED.position, updated_at = now()
                  WHERE projection_checkpoints.position < EXCLUDED.position
                  RETURNING position)
              SELECT pg_notify($3, position::text) FROM advanced WHERE $4"""


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


async def _mark_stale(conn: Connection, ticket_id: str) -> None:
    await conn.execute("UPDATE tickets SET stale = true WHERE ticket_id = $1", ticket_id)


_columns_of = attrgetter(*COLUMNS)
_TAGS = COLUMNS.index("tags")


def _array_literal(items: list[str]) -> str:
    quoted = (item.replace("\\", "\\\\").replace('"', '\\"') for item in items)
    return "{" + ",".join(f'"{item}"' for item in quoted) + "}"


async def _write_rows(conn: Connection, sql: str, rows: list[TicketRow]) -> None:
    """One statement for all ``rows``: their columns as arrays, unnested by Postgres."""
    if not rows:
        return
    columns = [list(column) for column in zip(*map(_columns_of, rows), strict=True)]
    columns[_TAGS] = [_array_literal(tags) for tags in columns[_TAGS]]
    await conn.execute(sql, *columns)


async def write(conn: Connection, events: list[RecordedEvent]) -> None:
    """Apply ``events`` (in stream order) to the read models, inside the caller's transaction."""
    ids = list({e.envelope.ticket_id for e in events})
    rows: dict[str, TicketRow] = {
        r["ticket_id"]: TicketRow(*r) for r in await conn.fetch(_SELECT_ROWS, ids)
    }
    existing = set(rows)
    touched: dict[str, TicketRow] = {}
    lines: list[tuple[object, ...]] = []
    gaps: list[tuple[RecordedEvent, int]] = []
    for recorded in events:
        envelope = recorded.envelope
        outcome = apply(rows.get(envelope.ticket_id), recorded)
        if isinstance(outcome, Applied):
            rows[envelope.ticket_id] = touched[envelope.ticket_id] = outcome.row
            line = outcome.line
            lines.append(
                (
                    envelope.ticket_id,
                    envelope.ticket_version,
                    recorded.position,
                    envelope.id,
                    line.kind,
                    envelope.actor_type,
                    envelope.actor_id,
                    line.public,
                    line.body,
                    envelope.time,
                )
            )
        elif isinstance(outcome, Gap):
            gaps.append((recorded, outcome.expected))
            if outcome.row is not None:
                touched[envelope.ticket_id] = outcome.row
    await _write_rows(conn, _INSERT_ROWS, [r for t, r in touched.items() if t not in existing])
    await _write_rows(conn, _UPDATE_ROWS, [r for t, r in touched.items() if t in existing])
    worded = [row for row in touched.values() if row.searchable]
    if worded:
        words = [" ".join(row.searchable) for row in worded]
        await conn.execute(_ADD_WORDS, [row.ticket_id for row in worded], words)
    if lines:
        if len(lines) >= _COPY_FROM:
            await conn.copy_records_to_table(
                "thread_entries", records=lines, columns=_THREAD_COLUMNS
            )
        else:  # COPY takes several round trips; one INSERT is quicker for a few lines
            await conn.executemany(_INSERT_LINE, lines)
    for recorded, expected in gaps:
        envelope = recorded.envelope
        error = f"version gap: expected {expected} got {envelope.ticket_version}"
        _log.warning(
            "version gap", ticket_id=envelope.ticket_id, position=recorded.position, error=error
        )
        await dead_letter(conn, recorded.position, encode(envelope), error, "version_gap")


class TicketProjector:
    """Applies event batches to the read models with the checkpoint in the same transaction.

    ``writer`` is the advisory lock its batches hold (shared); ``announce`` makes every
    committed position a NOTIFY on :data:`POSITIONS_CHANNEL` (the live projector only).
    ``leader`` fences the writes: ``(backend pid, lock key)`` of the session that holds the
    leader lock; a batch whose replica no longer holds it writes nothing.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        watch: PositionWatch,
        *,
        writer: int = LIVE_WRITER,
        announce: bool = True,
        leader: tuple[int, int] | None = None,
    ) -> None:
        self._pool = pool
        self._watch = watch
        self._writer = writer
        self._announce = announce
        self._leader = leader

    async def checkpoint(self) -> int:
        """The last stream position applied (0 when nothing is)."""
        async with self._pool.acquire() as conn:
            position = await conn.fetchval(CHECKPOINT, PROJECTION)
        return int(position or 0)

    async def handle(self, batch: Batch) -> None:
        """Apply one batch: what is above the checkpoint, in order, in one transaction."""
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    position = await self._apply(conn, batch, one_by_one=False)
            except _STOP_HERE:
                raise
            except Exception as error:
                _log.warning(
                    "batch failed; applying its events one by one",
                    last_position=batch.last_position,
                    error=str(error)[:500],
                )
                async with conn.transaction():
                    position = await self._apply(conn, batch, one_by_one=True)
        self._watch.advance(position)

    async def _apply(self, conn: Connection, batch: Batch, *, one_by_one: bool) -> int:
        pid, key = self._leader or (None, 0)
        fence = await conn.fetchrow(_LOCK_AND_FENCE, self._writer, pid, key)
        if fence is None or not fence[1]:
            raise LostLeadershipError("the leader lock is gone; another replica may write")
        checkpoint = int(await conn.fetchval(CHECKPOINT, PROJECTION) or 0)
        if batch.last_position <= checkpoint:
            return checkpoint
        fresh = [
            e for e in batch.events if e.position > checkpoint and e.envelope.type in PROJECTED
        ]
        if one_by_one:
            for recorded in fresh:
                await self._apply_alone(conn, recorded)
        elif fresh:
            await write(conn, fresh)
        await conn.execute(
            _ADVANCE, PROJECTION, batch.last_position, POSITIONS_CHANNEL, self._announce
        )
        return batch.last_position

    async def _apply_alone(self, conn: Connection, recorded: RecordedEvent) -> None:
        try:
            async with conn.transaction():  # a savepoint
                await write(conn, [recorded])
        except TRANSIENT:
            raise
        except Exception as error:
            envelope = recorded.envelope
            _log.warning(
                "event cannot be applied",
                ticket_id=envelope.ticket_id,
                position=recorded.position,
                error=str(error)[:500],
            )
            await dead_letter(conn, recorded.position, encode(envelope), str(error), "cannot_apply")
            await _mark_stale(conn, envelope.ticket_id)

    async def record_poison(
        self, position: int, subject: str, payload: bytes, error: Exception
    ) -> None:
        """Keep a message that is not a valid ticket event in ``dead_letters`` (once), and
        flag its ticket stale when the subject names one."""
        _log.warning("dead letter", position=position, subject=subject, error=str(error)[:500])
        async with self._pool.acquire() as conn, conn.transaction():
            await dead_letter(conn, position, payload, str(error), "not_an_event")
            try:
                ticket_id = ticket_id_of(subject)
            except ValueError:
                return
            await _mark_stale(conn, ticket_id)
