"""Opening a ticket under a fresh number."""

from __future__ import annotations

from collections.abc import Callable

from ticketstream.events import Metadata
from ticketstream.eventstore import AppendResult, Clock, EventStore
from ticketstream.ticketing import execute
from ticketstream.tickets import OpenTicket, TicketRuleViolation

from .ticket_ids import new_ticket_id

SOURCE = "ticketstream/intake"
NUMBER_ATTEMPTS = 5


async def open_ticket(
    store: EventStore,
    command_for: Callable[[str], OpenTicket],
    meta: Metadata,
    *,
    clock: Clock,
) -> AppendResult:
    """Open the ticket ``command_for(number)`` under a fresh number; draw again if taken."""
    for _ in range(NUMBER_ATTEMPTS):
        try:
            return await execute(store, command_for(new_ticket_id()), meta, clock=clock)
        except TicketRuleViolation as violation:
            if violation.rule != "ticket_exists":
                raise
    raise RuntimeError(f"no free ticket number after {NUMBER_ATTEMPTS} draws")
