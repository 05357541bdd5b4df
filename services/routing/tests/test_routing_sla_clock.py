"""The SLA clock of one ticket: due times, pauses, met targets, reopen, breaches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ticketstream.directory import BusinessHours, SlaPlan, SlaTargets
from ticketstream.events import (
    AgentReplied,
    AnyTicketEvent,
    AutoReplyReceived,
    InternalNoteAdded,
    Priority,
    PriorityChanged,
    Requester,
    RequesterReplied,
    SlaBreached,
    SlaTarget,
    TicketClosed,
    TicketCreated,
    TicketPendingOnRequester,
    TicketReopened,
    TicketResolved,
    TicketRouted,
    TicketTransferred,
)
from ticketstream.routing.sla import (
    ClockStop,
    SlaClock,
    due_breaches,
    fold_clock,
    next_deadline,
)
from ticketstream.tickets import InvalidHistoryError

pytestmark = pytest.mark.unit

T = "T1000"
H = timedelta(hours=1)
OPENED = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday
BERLIN = ZoneInfo("Europe/Berlin")


def targets(first_response: timedelta, resolution: timedelta) -> SlaTargets:
    return SlaTargets(first_response=first_response, resolution=resolution)


TARGETS = {
    "low": targets(24 * H, 120 * H),
    "medium": targets(4 * H, 24 * H),
    "high": targets(2 * H, 8 * H),
    "urgent": targets(H, 4 * H),
}
PLANS = {
    "around": SlaPlan(id="around", name="Around the clock", targets=TARGETS),
    "no-pause": SlaPlan(id="no-pause", name="No pause", targets=TARGETS, pause_while_pending=False),
    "fast": SlaPlan(id="fast", name="Fast", targets={p: targets(H / 2, 2 * H) for p in TARGETS}),
    "office": SlaPlan(
        id="office",
        name="Office hours",
        targets=TARGETS,
        business_hours=BusinessHours(timezone="Europe/Berlin"),
    ),
}


def at(hours: float) -> datetime:
    return OPENED + timedelta(hours=hours)


def created(priority: Priority | None = None) -> TicketCreated:
    return TicketCreated(
        ticket_id=T,
        channel="web",
        requester=Requester(name="Dana", email="dana@example.com"),
        subject="Cannot send e-mail",
        message="Outlook says no.",
        help_topic="email-support",
        priority=priority,
    )


def routed(plan: str | None = "around", priority: Priority = "medium") -> TicketRouted:
    return TicketRouted(ticket_id=T, department="it-support", priority=priority, sla_plan=plan)


PENDING = TicketPendingOnRequester(ticket_id=T, reason="which client?")
REQUESTER_REPLIED = RequesterReplied(ticket_id=T, channel="email", body="Outlook 2021")
AGENT_REPLIED = AgentReplied(ticket_id=T, agent_id="alex", body="Looking into it")
RESOLVED = TicketResolved(ticket_id=T, agent_id="alex", resolution="Reset the password")
REOPENED = TicketReopened(ticket_id=T, reason="still broken")
CLOSED = TicketClosed(ticket_id=T, reason="agent")


def breached(target: SlaTarget, due: datetime) -> SlaBreached:
    return SlaBreached(ticket_id=T, target=target, due_at=due)


def clock_of(*history: tuple[AnyTicketEvent, float], opened: datetime = OPENED) -> SlaClock:
    """The clock after TicketCreated at ``opened`` and ``(event, hours after OPENED)``."""
    events = [(created(), opened), *((event, at(hours)) for event, hours in history)]
    clock = fold_clock(events, PLANS.__getitem__)
    assert clock is not None
    return clock


def dues(clock: SlaClock) -> tuple[datetime | None, datetime | None]:
    return clock.effective_due("first_response"), clock.effective_due("resolution")


def targets_due(clock: SlaClock, hours: float) -> Sequence[SlaTarget]:
    return [target for target, _ in due_breaches(clock, at(hours))]


# -------------------------------------------------------------------------------- folding


def test_empty_history_has_no_clock() -> None:
    assert fold_clock([], PLANS.__getitem__) is None


def test_history_must_start_with_creation() -> None:
    with pytest.raises(InvalidHistoryError, match="starts with"):
        fold_clock([(routed(), OPENED)], PLANS.__getitem__)


def test_event_times_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fold_clock([(created(), datetime(2024, 3, 4, 9))], PLANS.__getitem__)


def test_unrouted_ticket_has_no_deadlines() -> None:
    clock = clock_of()
    assert clock.plan is None
    assert dues(clock) == (None, None)
    assert due_breaches(clock, at(1000)) == []
    assert next_deadline(clock) is None


def test_routed_without_a_plan_has_no_deadlines() -> None:
    clock = clock_of((routed(plan=None), 0))
    assert dues(clock) == (None, None)
    assert next_deadline(clock) is None


def test_due_times_count_from_opening_not_from_routing() -> None:
    clock = clock_of((routed(), 0.5))
    assert clock.opened_at == OPENED
    assert (clock.first_response_due, clock.resolution_due) == (at(4), at(24))
    assert dues(clock) == (at(4), at(24))
    assert next_deadline(clock) == at(4)


def test_unknown_plan_lookup_error_propagates() -> None:
    with pytest.raises(KeyError):
        clock_of((routed(plan="gone"), 0))


def test_irrelevant_events_change_nothing() -> None:
    note = InternalNoteAdded(ticket_id=T, agent_id="alex", body="hmm")
    auto = AutoReplyReceived(
        ticket_id=T,
        kind="auto_reply",
        from_address="dana@example.com",
        subject="Out of office",
        reason="Auto-Submitted: auto-replied",
    )
    assert clock_of((routed(), 0), (note, 1), (auto, 2)) == clock_of((routed(), 0))


# ------------------------------------------------------------------------------- breaches


def test_nothing_is_due_before_the_due_time() -> None:
    assert targets_due(clock_of((routed(), 0)), 3.99) == []


def test_a_target_is_due_exactly_at_its_due_time() -> None:
    clock = clock_of((routed(), 0))
    assert due_breaches(clock, at(4)) == [("first_response", at(4))]
    assert due_breaches(clock, at(30)) == [("first_response", at(4)), ("resolution", at(24))]


def test_each_target_breaches_once() -> None:
    clock = clock_of((routed(), 0), (breached("first_response", at(4)), 4))
    assert targets_due(clock, 10) == []
    assert next_deadline(clock) == at(24)
    clock = clock_of(
        (routed(), 0), (breached("first_response", at(4)), 4), (breached("resolution", at(24)), 24)
    )
    assert targets_due(clock, 1000) == []
    assert next_deadline(clock) is None


def test_first_response_met_by_an_agent_reply_before_due() -> None:
    clock = clock_of((routed(), 0), (AGENT_REPLIED, 1))
    assert clock.is_met("first_response")
    assert clock.first_responded_at == at(1)
    assert targets_due(clock, 10) == []
    assert targets_due(clock, 30) == ["resolution"]
    assert next_deadline(clock) == at(24)


def test_a_late_reply_still_meets_a_target_not_yet_recorded_as_breached() -> None:
    # The ticket rules refuse a first-response breach once an agent replied.
    clock = clock_of((routed(), 0), (AGENT_REPLIED, 5))
    assert targets_due(clock, 5.5) == []


def test_only_the_first_agent_reply_counts() -> None:
    clock = clock_of((routed(), 0), (AGENT_REPLIED, 1), (AGENT_REPLIED, 2))
    assert clock.first_responded_at == at(1)


def test_resolution_meets_both_targets() -> None:
    clock = clock_of((routed(), 0), (RESOLVED, 2))
    assert clock.resolved
    assert clock.paused
    assert clock.is_met("resolution")
    assert clock.is_met("first_response")
    assert targets_due(clock, 1000) == []
    assert next_deadline(clock) is None


def test_a_closed_ticket_owes_nothing() -> None:
    clock = clock_of((routed(), 0), (CLOSED, 1))
    assert clock.resolved
    assert not clock.is_met("first_response")  # closed without an answer, but closed
    assert targets_due(clock, 1000) == []
    assert next_deadline(clock) is None


def test_breach_already_past_when_resolved_is_not_raised() -> None:
    # Routing was down at the due time; once resolved, the rules refuse the breach.
    clock = clock_of((routed(), 0), (RESOLVED, 30))
    assert targets_due(clock, 31) == []


# ------------------------------------------------------------------------ pause and resume


def test_pending_two_hours_then_reply_shifts_due_times_by_two_hours() -> None:
    clock = clock_of((routed(), 0), (PENDING, 1), (REQUESTER_REPLIED, 3))
    assert clock.stops == (ClockStop("pending", at(1), at(3)),)
    assert not clock.paused
    assert dues(clock) == (at(6), at(26))
    assert targets_due(clock, 5.99) == []
    assert targets_due(clock, 6) == ["first_response"]


def test_while_pending_nothing_falls_due() -> None:
    clock = clock_of((routed(), 0), (PENDING, 1))
    assert clock.paused
    assert not clock.resolved
    assert dues(clock) == (None, None)
    assert targets_due(clock, 1000) == []
    assert next_deadline(clock) is None


def test_pause_not_configured_does_not_shift() -> None:
    clock = clock_of((routed("no-pause"), 0), (PENDING, 1), (REQUESTER_REPLIED, 3))
    assert dues(clock) == (at(4), at(24))
    still_pending = clock_of((routed("no-pause"), 0), (PENDING, 1))
    assert not still_pending.paused
    assert targets_due(still_pending, 4) == ["first_response"]


def test_several_pauses_add_up() -> None:
    clock = clock_of(
        (routed(), 0),
        (PENDING, 0.5),
        (REQUESTER_REPLIED, 1.5),  # 1h
        (PENDING, 2),
        (REQUESTER_REPLIED, 2.5),  # 30m
    )
    assert dues(clock) == (at(5.5), at(25.5))
    assert next_deadline(clock) == at(5.5)


def test_a_pause_spanning_the_due_time() -> None:
    # Due at +4h; paused from +3h to +6h: the hour that was left runs from +6h.
    clock = clock_of((routed(), 0), (PENDING, 3), (REQUESTER_REPLIED, 6))
    assert clock.effective_due("first_response") == at(7)


def test_a_pause_after_the_due_time_does_not_move_it() -> None:
    # First response fell due at +4h (routing may have been down); the pause at +5h cannot
    # hide it, and the breach is raised even while pending (the rules accept it then).
    clock = clock_of((routed(), 0), (PENDING, 5))
    assert clock.effective_due("first_response") == at(4)
    assert due_breaches(clock, at(6)) == [("first_response", at(4))]
    # The resolution target was not reached when the pause began: it waits.
    assert clock.effective_due("resolution") is None
    assert next_deadline(clock) == at(4)


def test_pause_resumed_by_resolution_then_reopen() -> None:
    clock = clock_of((routed(), 0), (PENDING, 1), (RESOLVED, 2), (REOPENED, 3))
    assert clock.stops == (
        ClockStop("pending", at(1), at(2)),
        ClockStop("resolved", at(2), at(3)),
    )
    assert clock.effective_due("resolution") == at(26)


def test_pending_before_routing_counts_once_routed() -> None:
    clock = clock_of((PENDING, 0.1), (REQUESTER_REPLIED, 1.1), (routed(), 1.2))
    assert dues(clock) == (at(5), at(25))


def test_a_second_pending_while_pending_is_one_pause() -> None:
    clock = clock_of((routed(), 0), (PENDING, 1), (PENDING, 2), (REQUESTER_REPLIED, 3))
    assert clock.stops == (ClockStop("pending", at(1), at(3)),)


def test_a_requester_reply_while_open_changes_nothing() -> None:
    assert clock_of((routed(), 0), (REQUESTER_REPLIED, 1)) == clock_of((routed(), 0))


def test_clock_skew_never_makes_a_negative_pause() -> None:
    # The reply's time (another service's clock) is a little before the pause began.
    clock = clock_of((routed(), 0), (PENDING, 1), (REQUESTER_REPLIED, 0.99))
    assert clock.stops == (ClockStop("pending", at(1), at(1)),)
    assert dues(clock) == (at(4), at(24))


def test_pause_with_business_hours_counts_only_office_time() -> None:
    # Opened Monday 09:00 Berlin (08:00 UTC). Medium in office hours: first response by
    # 13:00, resolution (24 office hours) by Wednesday 17:00.
    opened = datetime(2024, 3, 4, 9, 0, tzinfo=BERLIN)

    def berlin(day: int, hour: int) -> float:  # hours after OPENED
        return (datetime(2024, 3, day, hour, 0, tzinfo=BERLIN) - OPENED) / H

    def local(day: int, hour: int) -> datetime:
        return datetime(2024, 3, day, hour, 0, tzinfo=BERLIN)

    base = clock_of((routed("office"), berlin(4, 9)), opened=opened)
    assert dues(base) == (local(4, 13), local(6, 17))
    # Pending from Monday 12:00 to Tuesday 10:00: 6 office hours lost; the first-response
    # hour that was left at 12:00 runs from Tuesday 10:00.
    paused = clock_of(
        (routed("office"), berlin(4, 9)),
        (PENDING, berlin(4, 12)),
        (REQUESTER_REPLIED, berlin(5, 10)),
        opened=opened,
    )
    assert dues(paused) == (local(5, 11), local(7, 15))
    # Pending only overnight loses no office time.
    overnight = clock_of(
        (routed("office"), berlin(4, 9)),
        (PENDING, berlin(4, 18)),
        (REQUESTER_REPLIED, berlin(5, 8)),
        opened=opened,
    )
    assert dues(overnight) == dues(base)


# ---------------------------------------------------------------------------------- reopen


def test_reopen_continues_the_resolution_clock_where_it_stood() -> None:
    # Resolved at +10h with 14h left; reopened at +30h: due at +44h, not at +24h.
    clock = clock_of((routed(), 0), (AGENT_REPLIED, 1), (RESOLVED, 10), (REOPENED, 30))
    assert not clock.resolved
    assert not clock.is_met("resolution")
    assert clock.effective_due("resolution") == at(44)
    assert targets_due(clock, 43.9) == []
    assert due_breaches(clock, at(44)) == [("resolution", at(44))]


def test_resolved_then_closed_then_reopened_is_one_stretch() -> None:
    clock = clock_of((routed(), 0), (RESOLVED, 10), (CLOSED, 20), (REOPENED, 30))
    assert clock.stops == (ClockStop("resolved", at(10), at(30)),)
    assert clock.effective_due("resolution") == at(44)


def test_the_resolution_answered_the_requester_for_good() -> None:
    # No agent reply, but the resolution went to the requester: first response stays met.
    clock = clock_of((routed(), 0), (RESOLVED, 2), (REOPENED, 3))
    assert clock.is_met("first_response")
    assert targets_due(clock, 100) == ["resolution"]


def test_closed_without_answer_then_reopened_resumes_first_response() -> None:
    clock = clock_of((routed(), 0), (CLOSED, 1), (REOPENED, 11))
    assert not clock.is_met("first_response")
    assert clock.effective_due("first_response") == at(14)


def test_reopen_of_a_late_resolution_is_due_at_once() -> None:
    # Resolved after its due time (+24h) with no breach recorded (it was resolved before the
    # check ran): once reopened, the target is unmet and long past, so it breaches now.
    clock = clock_of((routed(), 0), (AGENT_REPLIED, 1), (RESOLVED, 30), (REOPENED, 31))
    assert due_breaches(clock, at(31)) == [("resolution", at(24))]


def test_a_breach_recorded_before_the_resolution_stays_recorded_after_reopen() -> None:
    clock = clock_of(
        (routed(), 0),
        (breached("first_response", at(4)), 4),
        (breached("resolution", at(24)), 24),
        (RESOLVED, 30),
        (REOPENED, 31),
    )
    assert clock.breached == {"first_response", "resolution"}
    assert targets_due(clock, 1000) == []


# ------------------------------------------------------------ priority change and transfer


def test_priority_change_recomputes_from_opening() -> None:
    clock = clock_of((routed(), 0), (PriorityChanged(ticket_id=T, priority="urgent"), 0.5))
    assert clock.priority == "urgent"
    assert dues(clock) == (at(1), at(4))
    lowered = clock_of((routed(), 0), (PriorityChanged(ticket_id=T, priority="low"), 3))
    assert dues(lowered) == (at(24), at(120))


def test_priority_raised_past_its_own_due_time_falls_due_at_once() -> None:
    clock = clock_of(
        (routed(priority="low"), 0), (PriorityChanged(ticket_id=T, priority="urgent"), 2)
    )
    assert due_breaches(clock, at(2)) == [("first_response", at(1))]


def test_priority_change_keeps_the_pauses() -> None:
    clock = clock_of(
        (routed(), 0),
        (PENDING, 0.25),
        (REQUESTER_REPLIED, 0.75),
        (PriorityChanged(ticket_id=T, priority="urgent"), 0.8),
    )
    assert dues(clock) == (at(1.5), at(4.5))


def test_priority_change_before_routing_is_overridden_by_routing() -> None:
    clock = clock_of((PriorityChanged(ticket_id=T, priority="urgent"), 0.1), (routed(), 0.2))
    assert clock.priority == "medium"


def test_requested_priority_is_kept_until_routed() -> None:
    clock = fold_clock([(created(priority="high"), OPENED)], PLANS.__getitem__)
    assert clock is not None
    assert clock.priority == "high"


def test_transfer_alone_keeps_the_old_plan_running() -> None:
    transferred = TicketTransferred(
        ticket_id=T, from_department="it-support", to_department="billing"
    )
    clock = clock_of((routed(), 0), (transferred, 1))
    assert clock.plan == PLANS["around"]
    assert dues(clock) == (at(4), at(24))


def test_transfer_and_reroute_recomputes_on_the_new_plan() -> None:
    transferred = TicketTransferred(
        ticket_id=T, from_department="it-support", to_department="billing"
    )
    clock = clock_of((routed(), 0), (transferred, 0.2), (routed("fast"), 0.25))
    assert clock.plan == PLANS["fast"]
    assert dues(clock) == (at(0.5), at(2))


def test_reroute_to_a_plan_without_pause_rejudges_past_pauses() -> None:
    # Pauses are recorded whatever the plan; the current plan decides whether they count.
    clock = clock_of(
        (routed(), 0),
        (PENDING, 1),
        (REQUESTER_REPLIED, 2),
        (routed("no-pause"), 3),
    )
    assert dues(clock) == (at(4), at(24))


def test_a_priority_the_plan_lacks_leaves_no_targets() -> None:
    partial = SlaPlan(id="partial", name="Partial", targets={"low": TARGETS["low"]})
    clock = fold_clock(
        [(created(), OPENED), (routed("partial", priority="urgent"), OPENED)],
        {"partial": partial}.__getitem__,
    )
    assert clock is not None
    assert dues(clock) == (None, None)
