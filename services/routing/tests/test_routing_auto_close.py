"""Auto-close: a resolved ticket nobody answered closes after the quiet period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ticketstream.events import (
    AgentReplied,
    AnyTicketEvent,
    AutoReplyReceived,
    InternalNoteAdded,
    Requester,
    RequesterReplied,
    ResolutionConfirmed,
    TicketClosed,
    TicketCreated,
    TicketReopened,
    TicketResolved,
)
from ticketstream.routing.auto_close import auto_close_at, auto_close_due

pytestmark = pytest.mark.unit

T = "T3000"
OPENED = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
QUIET = timedelta(hours=72)
CREATED = TicketCreated(
    ticket_id=T,
    channel="web",
    requester=Requester(name="Dana", email="dana@example.com"),
    subject="Cannot send e-mail",
    message="Outlook says no.",
    help_topic="email-support",
)
RESOLVED = TicketResolved(ticket_id=T, agent_id="alex", resolution="Reset the password")
AGENT_REPLIED = AgentReplied(ticket_id=T, agent_id="alex", body="Did that help?")
REQUESTER_REPLIED = RequesterReplied(ticket_id=T, channel="email", body="No")
REOPENED = TicketReopened(ticket_id=T, reason="requester replied")


def at(hours: float) -> datetime:
    return OPENED + timedelta(hours=hours)


def history(*steps: tuple[AnyTicketEvent, float]) -> list[tuple[AnyTicketEvent, datetime]]:
    return [(CREATED, OPENED), *((event, at(hours)) for event, hours in steps)]


def test_an_open_ticket_is_not_auto_closed() -> None:
    events = history((AGENT_REPLIED, 1))
    assert auto_close_at(events, QUIET) is None
    assert not auto_close_due(events, QUIET, at(10_000))


def test_closes_after_the_quiet_period_and_not_before() -> None:
    events = history((RESOLVED, 2))
    assert auto_close_at(events, QUIET) == at(74)
    assert not auto_close_due(events, QUIET, at(74) - timedelta(seconds=1))
    assert auto_close_due(events, QUIET, at(74))
    assert auto_close_due(events, QUIET, at(500))


def test_an_agent_reply_while_resolved_restarts_the_quiet_period() -> None:
    events = history((RESOLVED, 2), (AGENT_REPLIED, 10))
    assert auto_close_at(events, QUIET) == at(82)
    assert not auto_close_due(events, QUIET, at(80))


def test_an_agent_reply_before_the_resolution_does_not_count() -> None:
    assert auto_close_at(history((AGENT_REPLIED, 1), (RESOLVED, 2)), QUIET) == at(74)


def test_not_when_the_requester_answered() -> None:
    # The rules reopen a resolved ticket on a requester reply; either event stops auto-close.
    answered = history((RESOLVED, 2), (REQUESTER_REPLIED, 5), (REOPENED, 5))
    assert auto_close_at(answered, QUIET) is None
    assert not auto_close_due(answered, QUIET, at(1000))
    assert auto_close_at(history((RESOLVED, 2), (REQUESTER_REPLIED, 5)), QUIET) is None


def test_a_new_resolution_starts_a_new_quiet_period() -> None:
    events = history((RESOLVED, 2), (REQUESTER_REPLIED, 5), (REOPENED, 5), (RESOLVED, 20))
    assert auto_close_at(events, QUIET) == at(92)


def test_a_closed_ticket_is_not_closed_again() -> None:
    confirmed = history(
        (RESOLVED, 2),
        (ResolutionConfirmed(ticket_id=T), 3),
        (TicketClosed(ticket_id=T, reason="confirmed"), 3),
    )
    assert auto_close_at(confirmed, QUIET) is None
    auto_closed = history((RESOLVED, 2), (TicketClosed(ticket_id=T, reason="auto"), 74))
    assert not auto_close_due(auto_closed, QUIET, at(1000))


def test_notes_and_automatic_replies_neither_restart_nor_cancel() -> None:
    note = InternalNoteAdded(ticket_id=T, agent_id="alex", body="waiting for Dana")
    out_of_office = AutoReplyReceived(
        ticket_id=T,
        kind="auto_reply",
        from_address="dana@example.com",
        subject="Out of office",
        reason="Auto-Submitted: auto-replied",
    )
    events = history((RESOLVED, 2), (note, 10), (out_of_office, 11))
    assert auto_close_at(events, QUIET) == at(74)


def test_quiet_period_is_elapsed_time_in_the_zone_of_the_resolution() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    resolved_at = datetime(2024, 3, 29, 12, 0, tzinfo=berlin)  # CET; DST starts on the 31st
    closes = auto_close_at([(CREATED, OPENED), (RESOLVED, resolved_at)], QUIET)
    assert closes is not None
    assert closes.tzinfo is berlin
    assert closes.replace(tzinfo=None) == datetime(2024, 4, 1, 13, 0)  # 72h later, CEST
    assert closes.astimezone(UTC) - resolved_at.astimezone(UTC) == QUIET
