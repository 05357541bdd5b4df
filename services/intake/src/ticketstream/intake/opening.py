"""Opening a ticket under a fresh number."""

from __future__ import annotations

from collections.abc import Callable

from ticketstream.events import Metadata, wrap
from ticketstream.eventstore import AppendResult, Clock, EventStore, WrongExpectedVersion
from ticketstream.tickets import OpenTicket, TicketRuleViolation, decide

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
            return await open_new(store, command_for(new_ticket_id()), meta, clock=clock)
        except TicketRuleViolation as violation:
            if violation.rule != "ticket_exists":
                raise
    raise RuntimeError(f"no free ticket number after {NUMBER_ATTEMPTS} draws")


async def open_new(
    store: EventStore, command: OpenTicket, meta: Metadata, *, clock: Clock
) -> AppendResult:
    """Append the first events of ``command``'s ticket without reading the ticket first.

    Every other command goes through ``ticketing.execute`` (load, fold, decide, append).
    Opening skips the load, which is a round trip to NATS per new ticket: a number that is
    free has no history, so the rules decide on no ticket, and the store's expected version
    0 ("the subject is empty") refuses a number that is taken. That refusal is reported as
    the rules report it, ``ticket_exists``, and nothing is written.
    """
    envelopes = wrap(decide(None, command), first_version=1, meta=meta, time=clock())
    try:
        return await store.append(command.ticket_id, envelopes, 0)
    except WrongExpectedVersion as taken:
        raise TicketRuleViolation(
            "ticket_exists", f"ticket {command.ticket_id} already exists"
        ) from taken
