"""The agents' read queries over the read models.

Lists are paged by keyset: the cursor is an opaque base64 token of the last row's sort key
and ticket id, so a page never skips or repeats a ticket however deep it is, and every page
is an index range scan.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, TypeAlias

import asyncpg

from .db import Connection

__all__ = [
    "ACTIVE_STATUSES",
    "QUEUES",
    "SORTS",
    "Direction",
    "InvalidCursorError",
    "InvalidQueryError",
    "Sort",
    "list_tickets",
    "queue",
    "ticket_detail",
    "workload",
]

Sort: TypeAlias = Literal["created", "updated", "priority"]
Direction: TypeAlias = Literal["asc", "desc"]

SORTS: dict[str, tuple[str, ...]] = {
    "created": ("created_at",),
    "updated": ("updated_at",),
    "priority": ("priority_rank", "created_at"),
}
"""The columns of each sort key; ``ticket_id`` always breaks ties."""

ACTIVE_STATUSES = ("open", "pending")
"""The statuses an agent still works on."""

QUEUES = ("unassigned", "mine", "department", "overdue", "pending")

MAX_LIMIT = 500

_OVERDUE = "(first_response_breached OR resolution_breached) AND status IN ('open', 'pending')"


class InvalidQueryError(ValueError):
    """A query parameter that cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidCursorError(InvalidQueryError):
    """A cursor that is not one this query handed out."""

    def __init__(self, message: str = "the cursor is not valid for this query") -> None:
        super().__init__("cursor", message)


def _summary(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "ticket_id": row["ticket_id"],
        "version": row["version"],
        "position": row["position"],
        "status": row["status"],
        "channel": row["channel"],
        "subject": row["subject"],
        "help_topic": row["help_topic"],
        "requester": {"name": row["requester_name"], "email": row["requester_email"]},
        "department": row["department"],
        "assignee": row["assignee"],
        "priority": row["priority"],
        "category": row["category"],
        "tags": list(row["tags"]),
        "sla": {
            "plan": row["sla_plan"],
            "first_response_due": row["first_response_due"],
            "resolution_due": row["resolution_due"],
            "first_response_breached": row["first_response_breached"],
            "resolution_breached": row["resolution_breached"],
        },
        "overdue": (row["first_response_breached"] or row["resolution_breached"])
        and row["status"] in ACTIVE_STATUSES,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "first_responded_at": row["first_responded_at"],
        "resolved_at": row["resolved_at"],
        "closed_at": row["closed_at"],
        "close_reason": row["close_reason"],
        "reopen_count": row["reopen_count"],
        "stale": row["stale"],
    }


_COLUMNS = """ticket_id, version, position, status, channel, subject, help_topic,
    requester_name, requester_email, department, assignee, priority, priority_rank, category,
    tags, sla_plan, first_response_due, resolution_due, first_response_breached,
    resolution_breached, first_responded_at, resolution, resolved_at, closed_at, close_reason,
    reopen_count, feedback_rating, feedback_comment, stale, created_at, updated_at"""


def _encode_cursor(sort: str, direction: str, row: asyncpg.Record) -> str:
    key: list[Any] = []
    for column in SORTS[sort]:
        value = row[column]
        key.append(value.isoformat() if isinstance(value, datetime) else value)
    document = {"s": sort, "d": direction, "k": key, "id": row["ticket_id"]}
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str, direction: str) -> list[Any]:
    """The sort key values and the ticket id of a cursor, checked against the query."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
        if document["s"] != sort or document["d"] != direction:
            raise InvalidCursorError("the cursor belongs to another sort order")
        columns = SORTS[sort]
        key = document["k"]
        if not isinstance(key, list) or len(key) != len(columns):
            raise InvalidCursorError()
        values: list[Any] = []
        for column, value in zip(columns, key, strict=True):
            if column.endswith("_at"):
                values.append(datetime.fromisoformat(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                values.append(value)
            else:
                raise InvalidCursorError()
        ticket_id = document["id"]
        if not isinstance(ticket_id, str):
            raise InvalidCursorError()
    except InvalidCursorError:
        raise
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise InvalidCursorError() from exc
    return [*values, ticket_id]


class _Where:
    """Conditions and their arguments, numbered as they are added."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def add(self, condition: str, *values: Any) -> None:
        """Add ``condition``; ``{}`` placeholders become the next ``$n`` for each value."""
        numbers = []
        for value in values:
            self.args.append(value)
            numbers.append(f"${len(self.args)}")
        self.conditions.append(condition.format(*numbers))

    def sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "true"


async def _page(
    conn: Connection,
    where: _Where,
    *,
    sort: Sort,
    direction: Direction,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    if sort not in SORTS:
        raise InvalidQueryError("sort", f"sort must be one of {', '.join(SORTS)}")
    if direction not in ("asc", "desc"):
        raise InvalidQueryError("direction", "direction must be asc or desc")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQueryError("limit", f"limit must be between 1 and {MAX_LIMIT}")
    key = [*SORTS[sort], "ticket_id"]
    if cursor is not None:
        after = _decode_cursor(cursor, sort, direction)
        operator = "<" if direction == "desc" else ">"
        where.add(f"({', '.join(key)}) {operator} ({', '.join('{}' for _ in key)})", *after)
    order = ", ".join(f"{column} {direction.upper()}" for column in key)
    where.args.append(limit + 1)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM tickets WHERE {where.sql()} ORDER BY {order} "
        f"LIMIT ${len(where.args)}",
        *where.args,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(sort, direction, rows[-1]) if more else None
    return [_summary(r) for r in rows], next_cursor


async def list_tickets(
    conn: Connection,
    *,
    status: str | Sequence[str] | None = None,
    department: str | None = None,
    assignee: str | None = None,
    priority: str | None = None,
    category: str | None = None,
    tag: str | None = None,
    requester: str | None = None,
    overdue: bool | None = None,
    text: str | None = None,
    sort: Sort = "created",
    direction: Direction = "desc",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of tickets matching every filter given, and the cursor of the next page
    (None on the last page). ``text`` is a web-search style query over subject and thread.
    """
    where = _Where()
    if isinstance(status, str):
        where.add("status = {}", status)
    elif status is not None:
        where.add("status = ANY({}::text[])", list(status))
    if department is not None:
        where.add("department = {}", department)
    if assignee is not None:
        where.add("assignee = {}", assignee)
    if priority is not None:
        where.add("priority = {}", priority)
    if category is not None:
        where.add("category = {}", category)
    if tag is not None:
        where.add("tags @> ARRAY[{}::text]", tag)
    if requester is not None:
        where.add("lower(requester_email) = lower({})", requester)
    if overdue is not None:
        where.add(_OVERDUE if overdue else f"NOT ({_OVERDUE})")
    if text is not None and text.strip():
        where.add(
            "ticket_id IN (SELECT ticket_id FROM ticket_search"
            " WHERE search @@ websearch_to_tsquery('simple', {}::text))",
            text,
        )
    return await _page(conn, where, sort=sort, direction=direction, limit=limit, cursor=cursor)


async def queue(
    conn: Connection,
    name: str,
    agent_id: str | None = None,
    *,
    department: str | None = None,
    sort: Sort = "created",
    direction: Direction = "asc",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a queue, oldest first by default: ``unassigned``, ``mine`` (the tickets of
    ``agent_id``), ``department`` (``department``), ``overdue`` (an SLA target missed) or
    ``pending`` (waiting on the requester). Every queue but ``pending`` holds active tickets.
    """
    where = _Where()
    match name:
        case "unassigned":
            where.add("assignee IS NULL AND status IN ('open', 'pending')")
        case "mine":
            if not agent_id:
                raise InvalidQueryError("agent_id", "the mine queue needs an agent")
            where.add("assignee = {} AND status IN ('open', 'pending')", agent_id)
        case "department":
            if not department:
                raise InvalidQueryError("department", "the department queue needs a department")
            where.add(
                "status = ANY({}::text[]) AND department = {}", list(ACTIVE_STATUSES), department
            )
        case "overdue":
            where.add(_OVERDUE)
        case "pending":
            where.add("status = 'pending'")
        case _:
            raise InvalidQueryError("name", f"queue must be one of {', '.join(QUEUES)}")
    return await _page(conn, where, sort=sort, direction=direction, limit=limit, cursor=cursor)


async def workload(conn: Connection) -> list[dict[str, Any]]:
    """Active tickets per agent (open and pending), busiest first."""
    rows = await conn.fetch(
        """SELECT assignee,
                  count(*) FILTER (WHERE status = 'open') AS open,
                  count(*) FILTER (WHERE status = 'pending') AS pending,
                  count(*) FILTER (WHERE first_response_breached OR resolution_breached)
                      AS overdue
           FROM tickets
           WHERE assignee IS NOT NULL AND status IN ('open', 'pending')
           GROUP BY assignee
           ORDER BY count(*) FILTER (WHERE status = 'open') DESC, assignee"""
    )
    return [
        {
            "agent_id": r["assignee"],
            "open": r["open"],
            "pending": r["pending"],
            "overdue": r["overdue"],
        }
        for r in rows
    ]


async def ticket_detail(conn: Connection, ticket_id: str) -> dict[str, Any] | None:
    """A ticket's current state and its whole thread in order (notes and system lines are
    flagged ``public: false``), or None when the read model has no such ticket.
    """
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM tickets WHERE ticket_id = $1", ticket_id)
    if row is None:
        return None
    thread = await conn.fetch(
        """SELECT version, position, event_id, kind, author_type, author_id, public, body,
                  created_at
           FROM thread_entries WHERE ticket_id = $1 ORDER BY version""",
        ticket_id,
    )
    return {
        **_summary(row),
        "resolution": row["resolution"],
        "feedback": (
            None
            if row["feedback_rating"] is None
            else {"rating": row["feedback_rating"], "comment": row["feedback_comment"]}
        ),
        "thread": [
            {
                "version": entry["version"],
                "position": entry["position"],
                "event_id": entry["event_id"],
                "kind": entry["kind"],
                "author": {"type": entry["author_type"], "id": entry["author_id"]},
                "public": entry["public"],
                "body": entry["body"],
                "created_at": entry["created_at"],
            }
            for entry in thread
        ],
    }
