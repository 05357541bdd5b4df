"""Given-events / when-command / then-events scenarios for testing code built on the rules.

```python
given(created).when(AssignTicket(...)).then(TicketAssigned(...))
given(created, closed).when(ReplyAsAgent(...)).raises("ticket_closed")
```

Plain ``AssertionError``s with readable listings, so it works under any test runner.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticketstream.events import AnyTicketEvent

from .commands import Command
from .decider import decide, fold
from .errors import Rule, TicketRuleViolation
from .state import TicketState

__all__ = ["Outcome", "Scenario", "given"]


def given(*events: AnyTicketEvent) -> Scenario:
    """A ticket whose history is ``events`` (none: the ticket does not exist yet)."""
    return Scenario(history=events)


@dataclass(frozen=True)
class Scenario:
    """A ticket history, waiting for the command under test."""

    history: tuple[AnyTicketEvent, ...]

    @property
    def state(self) -> TicketState | None:
        """The ticket folded from the history."""
        return fold(self.history)

    def when(self, command: Command) -> Outcome:
        """Decide ``command`` on the ticket; the outcome is checked with then or raises."""
        state = self.state
        try:
            events = decide(state, command)
        except TicketRuleViolation as error:
            return Outcome(before=state, command=command, events=None, error=error)
        return Outcome(before=state, command=command, events=events, error=None)


@dataclass(frozen=True)
class Outcome:
    """What ``decide`` did with one command: events, or a rule violation."""

    before: TicketState | None
    command: Command
    events: list[AnyTicketEvent] | None
    error: TicketRuleViolation | None

    def then(self, *expected: AnyTicketEvent) -> TicketState:
        """Assert the command emitted exactly ``expected``; return the ticket afterwards."""
        if self.error is not None:
            raise AssertionError(
                f"expected {_listing(expected)}\nbut {type(self.command).__name__} was "
                f"rejected: {self.error}"
            )
        assert self.events is not None
        if list(expected) != self.events:
            raise AssertionError(f"expected {_listing(expected)}\nbut got {_listing(self.events)}")
        after = fold(self.events, self.before)
        assert after is not None
        return after

    def raises(self, rule: Rule) -> TicketRuleViolation:
        """Assert the command was rejected for ``rule``; return the violation."""
        if self.error is None:
            raise AssertionError(
                f"expected {type(self.command).__name__} to be rejected ({rule}), "
                f"but it emitted {_listing(self.events or [])}"
            )
        if self.error.rule != rule:
            raise AssertionError(f"expected rule {rule!r}, but got: {self.error}")
        return self.error


def _listing(events: tuple[AnyTicketEvent, ...] | list[AnyTicketEvent]) -> str:
    if not events:
        return "no events"
    return "\n".join(f"  - {event!r}" for event in events)
