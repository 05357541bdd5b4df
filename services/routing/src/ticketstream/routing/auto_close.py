"""Auto-close: when a resolved ticket nobody answered closes itself.

A resolved ticket starts a quiet period. An agent's public reply while it is resolved starts
the quiet period again (the requester deserves the full period to answer it); internal notes,
e-mail records and automatic replies (out-of-office, bounces) do not, because the requester
sees none of them or they are not the requester speaking. Any requester reply, a reopen or a
close ends it: there is nothing left to auto-close. A new resolution starts a new period.
The quiet period is elapsed time, not business time. Pure: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from ticketstream.events import (
    AgentReplied,
    AnyTicketEvent,
    RequesterReplied,
    TicketClosed,
    TicketReopened,
    TicketResolved,
)

__all__ = ["auto_close_at", "auto_close_due"]


def auto_close_at(
    events_with_times: Iterable[tuple[AnyTicketEvent, datetime]], quiet: timedelta
) -> datetime | None:
    """When the ticket is to be auto-closed, or ``None`` if it is not waiting to be.

    ``events_with_times`` is the ticket's history as ``(event, time)`` pairs in stream order;
    ``quiet`` the directory's ``auto_close_after``.
    """
    quiet_since: datetime | None = None
    for event, at in events_with_times:
        match event:
            case TicketResolved():
                quiet_since = at
            case AgentReplied() if quiet_since is not None:
                quiet_since = max(quiet_since, at)
            case RequesterReplied() | TicketReopened() | TicketClosed():
                quiet_since = None
            case _:
                pass
    if quiet_since is None:
        return None
    return (quiet_since.astimezone(UTC) + quiet).astimezone(quiet_since.tzinfo)


def auto_close_due(
    events_with_times: Iterable[tuple[AnyTicketEvent, datetime]], quiet: timedelta, now: datetime
) -> bool:
    """Whether the ticket's quiet period is over at ``now`` (close it with reason ``auto``)."""
    at = auto_close_at(events_with_times, quiet)
    return at is not None and now >= at
