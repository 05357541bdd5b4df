"""An in-memory event store with the same semantics as the JetStream one, for unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ticketstream.events import Envelope

from .errors import WrongExpectedVersion
from .model import AppendResult, RecordedEvent, TicketStream
from .port import already_appended, check_batch


class InMemoryEventStore:
    """Keeps every ticket's events in a dict; positions are one global sequence."""

    def __init__(self) -> None:
        self._tickets: dict[str, list[RecordedEvent]] = {}
        self._position = 0
        self._lock = asyncio.Lock()

    @property
    def position(self) -> int:
        """The position of the last event appended to any ticket."""
        return self._position

    async def load(self, ticket_id: str) -> TicketStream:
        return TicketStream(ticket_id, tuple(self._tickets.get(ticket_id, ())))

    async def append(
        self, ticket_id: str, events: Sequence[Envelope], expected_version: int
    ) -> AppendResult:
        check_batch(ticket_id, events, expected_version)
        async with self._lock:
            stored = self._tickets.setdefault(ticket_id, [])
            if len(stored) != expected_version:
                earlier = already_appended(TicketStream(ticket_id, tuple(stored)), events)
                if earlier is not None:
                    return earlier
                raise WrongExpectedVersion(ticket_id, expected_version, len(stored))
            recorded = []
            for envelope in events:
                self._position += 1
                recorded.append(RecordedEvent(envelope, self._position))
            stored.extend(recorded)
            return AppendResult(ticket_id, len(stored), self._position, tuple(recorded))

    def all_events(self) -> list[RecordedEvent]:
        """Every stored event in position order (what a catch-up subscription would see)."""
        return sorted(
            (e for events in self._tickets.values() for e in events), key=lambda e: e.position
        )
