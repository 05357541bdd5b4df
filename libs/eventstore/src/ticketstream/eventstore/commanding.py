"""Load, decide, append: how a command becomes events, retried when it loses a race."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from datetime import datetime

from ticketstream.events import AnyTicketEvent, Metadata, wrap

from .errors import ConcurrencyConflict, WrongExpectedVersion
from .model import AppendResult, TicketStream
from .port import EventStore

Decision = Callable[[TicketStream], Sequence[AnyTicketEvent]]
"""Decides a command's events from the ticket's history; raises to reject the command."""

Clock = Callable[[], datetime]

DEFAULT_ATTEMPTS = 8


async def load_decide_append(
    store: EventStore,
    ticket_id: str,
    decide: Decision,
    meta: Metadata,
    *,
    clock: Clock,
    attempts: int = DEFAULT_ATTEMPTS,
) -> AppendResult:
    """Apply one command to a ticket with optimistic concurrency.

    Each attempt loads the ticket, decides afresh on what it finds and appends expecting
    that version. When another writer got there first, it tries again, at most ``attempts``
    times, then raises :class:`ConcurrencyConflict`. A decision of no events appends nothing
    and answers with the ticket's current version and position.
    """
    for attempt in range(1, attempts + 1):
        stream = await store.load(ticket_id)
        events = decide(stream)
        if not events:
            return AppendResult(ticket_id, stream.version, stream.position, ())
        envelopes = wrap(events, first_version=stream.version + 1, meta=meta, time=clock())
        try:
            return await store.append(ticket_id, envelopes, stream.version)
        except WrongExpectedVersion:
            if attempt == attempts:
                break
            # Jitter spreads contending writers apart so that one of them wins each round.
            await asyncio.sleep(random.uniform(0, 0.002 * attempt))
    raise ConcurrencyConflict(ticket_id, attempts)
