"""Run a ticket command against the event store: load, fold, decide, append, retried.

Every service that changes tickets (intake, routing, notify) goes through :func:`execute`,
so the pure rules of :mod:`ticketstream.tickets` are the only place a decision is made.
"""

from __future__ import annotations

from collections.abc import Sequence

from ticketstream.events import AnyTicketEvent, Metadata
from ticketstream.eventstore import (
    DEFAULT_ATTEMPTS,
    AppendResult,
    Clock,
    EventStore,
    TicketStream,
    load_decide_append,
)
from ticketstream.tickets import Command, TicketState, decide, fold

__all__ = ["execute", "load_state"]


async def execute(
    store: EventStore,
    command: Command,
    meta: Metadata,
    *,
    clock: Clock,
    attempts: int = DEFAULT_ATTEMPTS,
) -> AppendResult:
    """Apply ``command`` to its ticket and return where its events landed.

    Raises :class:`~ticketstream.tickets.TicketRuleViolation` when the rules reject it
    (nothing is written) and :class:`~ticketstream.eventstore.ConcurrencyConflict` when the
    ticket kept changing under it for ``attempts`` tries.
    """

    def decision(stream: TicketStream) -> Sequence[AnyTicketEvent]:
        state = fold([recorded.envelope.data for recorded in stream.events])
        return decide(state, command)

    return await load_decide_append(
        store, command.ticket_id, decision, meta, clock=clock, attempts=attempts
    )


async def load_state(store: EventStore, ticket_id: str) -> TicketState | None:
    """The ticket's current state folded from its events (``None`` when it does not exist)."""
    stream = await store.load(ticket_id)
    return fold([recorded.envelope.data for recorded in stream.events])
