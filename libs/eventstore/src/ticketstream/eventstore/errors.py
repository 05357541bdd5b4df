"""Errors raised by the event store."""

from __future__ import annotations


class EventStoreError(Exception):
    """The event store could not do what was asked."""


class WrongExpectedVersion(EventStoreError):  # noqa: N818 - the field's own name for it
    """The ticket moved on since it was loaded: someone else appended first."""

    def __init__(self, ticket_id: str, expected: int, actual: int | None = None) -> None:
        self.ticket_id = ticket_id
        self.expected = expected
        self.actual = actual
        found = "unknown" if actual is None else str(actual)
        super().__init__(
            f"ticket {ticket_id}: expected version {expected}, but the stream is at {found}"
        )


class ConcurrencyConflict(EventStoreError):  # noqa: N818
    """Load-decide-append lost the race every time it was tried."""

    def __init__(self, ticket_id: str, attempts: int) -> None:
        self.ticket_id = ticket_id
        self.attempts = attempts
        super().__init__(
            f"ticket {ticket_id} kept changing while the command was applied "
            f"({attempts} attempts); try again"
        )


class UnsupportedServer(EventStoreError):  # noqa: N818
    """The NATS server lacks a feature the event store relies on."""
