"""The agents' read queries over the read models."""

from __future__ import annotations

from typing import Any

from .db import Connection


async def ticket_detail(conn: Connection, ticket_id: str) -> dict[str, Any] | None:
    """A ticket's current state and its thread, or None when the read model has no such ticket."""
    row = await conn.fetchrow("SELECT * FROM tickets WHERE ticket_id = $1", ticket_id)
    if row is None:
        return None
    thread = await conn.fetch(
        """SELECT version, event_id, kind, author_type, author_id, public, body, created_at
           FROM thread_entries WHERE ticket_id = $1 ORDER BY version""",
        ticket_id,
    )
    return {
        "ticket_id": row["ticket_id"],
        "version": row["version"],
        "status": row["status"],
        "channel": row["channel"],
        "subject": row["subject"],
        "help_topic": row["help_topic"],
        "requester": {"name": row["requester_name"], "email": row["requester_email"]},
        "priority": row["priority"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "thread": [
            {
                "version": entry["version"],
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
