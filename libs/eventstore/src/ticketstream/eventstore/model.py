"""What the event store reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ticketstream.events import Envelope


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: its envelope and its position (stream sequence) in the store."""

    envelope: Envelope
    position: int


@dataclass(frozen=True, slots=True)
class TicketStream:
    """Every event of one ticket, in order.

    ``version`` is the number of events (0 for a ticket that does not exist);
    ``position`` is the stream sequence of the last one (0 when there is none).
    """

    ticket_id: str
    events: tuple[RecordedEvent, ...] = field(default=())

    @property
    def version(self) -> int:
        return len(self.events)

    @property
    def position(self) -> int:
        return self.events[-1].position if self.events else 0


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where an append landed: the new version and the stream position of the last event."""

    ticket_id: str
    version: int
    position: int
    events: tuple[RecordedEvent, ...]
