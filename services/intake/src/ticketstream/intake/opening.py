"""Opening a ticket: what intake does with a validated request."""

from __future__ import annotations

from ticketstream.events import Actor, Channel, Metadata, Priority, Requester
from ticketstream.eventstore import AppendResult, Clock, EventStore
from ticketstream.ticketing import execute
from ticketstream.tickets import OpenTicket, TicketRuleViolation

from .ticket_ids import new_ticket_id

SOURCE = "ticketstream/intake"
NUMBER_ATTEMPTS = 5


async def open_ticket(
    store: EventStore,
    *,
    requester: Requester,
    subject: str,
    message: str,
    help_topic: str,
    priority: Priority | None,
    channel: Channel,
    correlation_id: str,
    clock: Clock,
) -> AppendResult:
    """Open a ticket under a fresh number; draw another when the number is taken."""
    meta = Metadata(
        source=SOURCE,
        actor=Actor(kind="requester", id=requester.email),
        correlation_id=correlation_id,
    )
    for _ in range(NUMBER_ATTEMPTS):
        command = OpenTicket(
            ticket_id=new_ticket_id(),
            actor=meta.actor,
            channel=channel,
            requester=requester,
            subject=subject,
            message=message,
            help_topic=help_topic,
            priority=priority,
        )
        try:
            return await execute(store, command, meta, clock=clock)
        except TicketRuleViolation as violation:
            if violation.rule != "ticket_exists":
                raise
    raise RuntimeError(f"no free ticket number after {NUMBER_ATTEMPTS} draws")
