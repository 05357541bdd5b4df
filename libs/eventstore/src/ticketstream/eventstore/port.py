"""The event store port: what services need from an event store, whatever backs it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ticketstream.events import Envelope

from .errors import EventStoreError
from .model import AppendResult, TicketStream


class EventStore(Protocol):
    """Append-only storage of ticket events with optimistic concurrency per ticket."""

    async def load(self, ticket_id: str) -> TicketStream:
        """Every event of the ticket, in order (an empty stream when it does not exist)."""
        ...

    async def append(
        self, ticket_id: str, events: Sequence[Envelope], expected_version: int
    ) -> AppendResult:
        """Append the events of one command, all or none.

        ``expected_version`` is the ticket's version the command was decided on (0 for a
        new ticket). Raises :class:`WrongExpectedVersion` when the ticket has moved on.
        Appending the same events (same ids) again after an unknown outcome is safe: the
        store recognises them and answers with the original result.
        """
        ...


def check_batch(ticket_id: str, events: Sequence[Envelope], expected_version: int) -> None:
    """Reject an append that could never be right, whatever the store holds."""
    if not events:
        raise EventStoreError("an append needs at least one event")
    if expected_version < 0:
        raise EventStoreError(f"expected version must be >= 0, got {expected_version}")
    for n, envelope in enumerate(events, start=1):
        if envelope.subject != ticket_id:
            raise EventStoreError(
                f"event {envelope.id} belongs to ticket {envelope.subject}, not {ticket_id}"
            )
        if envelope.ticket_version != expected_version + n:
            raise EventStoreError(
                f"event {envelope.id} has version {envelope.ticket_version}, "
                f"expected {expected_version + n}"
            )


def already_appended(stream: TicketStream, events: Sequence[Envelope]) -> AppendResult | None:
    """The earlier result of this very append, when its events are already in the stream.

    This is how an append whose acknowledgement was lost is recognised on retry.
    """
    first = events[0].ticket_version
    stored = stream.events[first - 1 : first - 1 + len(events)]
    if len(stored) != len(events):
        return None
    if any(s.envelope.id != e.id for s, e in zip(stored, events, strict=True)):
        return None
    return AppendResult(
        ticket_id=stream.ticket_id,
        version=stored[-1].envelope.ticket_version,
        position=stored[-1].position,
        events=tuple(stored),
    )
