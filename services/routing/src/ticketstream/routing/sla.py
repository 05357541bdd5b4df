"""SLA clocks: business-time arithmetic, due times, and a ticket's clock folded from history.

Pure: no clock reads, no I/O. Every moment is a timezone-aware ``datetime`` passed in.

**Business time.** A plan without ``business_hours`` counts every second. With them, only
the seconds inside the working windows count: on the listed days, from ``start`` to ``end``
in the plan's time zone. Windows are built per local day with :mod:`zoneinfo`, so a day of a
DST change keeps its wall-clock hours; all arithmetic is done in UTC (subtracting two
datetimes that share a ``ZoneInfo`` would compare wall clocks, which is wrong across a DST
change). A window start or end that falls in a spring-forward gap is read with ``fold=0``
(the offset before the change), as PEP 495 says.

**The clock of one ticket** (:class:`SlaClock`, built by :func:`fold_clock`):

- *Due times* are computed from the moment the ticket was opened, on the plan and priority of
  the latest ``TicketRouted``; a ``PriorityChanged`` or a re-route (after a transfer)
  recomputes them from ``opened_at`` on the new priority or plan. A transfer alone changes
  nothing: the old plan runs until routing re-routes the ticket.
- *Stops*: stretches of time in which the clocks do not run. Waiting on the requester
  (``TicketPendingOnRequester`` until ``RequesterReplied``, ``TicketResolved`` or
  ``TicketClosed``) stops them only if the plan says ``pause_while_pending``; it is recorded
  either way and the current plan decides, so a re-route to another plan re-judges the
  ticket's whole history consistently. Being resolved or closed (``TicketResolved`` or
  ``TicketClosed`` until ``TicketReopened``) always stops them.
- *Effective due time* of a target: the base due time pushed back by the (business) time
  of every stop that began before the target was reached. A stop that began after the due
  time does not move it (the target had already passed unmet). While such a stop lasts,
  the due time is not reached at all (``None``).
- *Met*: first response is met by the first ``AgentReplied`` or by a ``TicketResolved``
  (the resolution is itself a public answer e-mailed to the requester); once met it stays
  met. Resolution is met while the ticket is resolved or closed.
- *Reopen*: ``TicketReopened`` un-meets the resolution target, and its clock continues from
  where it stood when the ticket was resolved: the resolved (or closed) stretch is a stop,
  so it is not counted against the target. A breach already recorded stays recorded.
- *Breaches*: each target is breached at most once per ticket (``SlaBreached``). Nothing is
  due while the ticket is resolved or closed (the ticket rules refuse a breach then).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

from ticketstream.directory import BusinessHours, SlaPlan
from ticketstream.events import (
    AgentReplied,
    AnyTicketEvent,
    Priority,
    PriorityChanged,
    RequesterReplied,
    SlaBreached,
    SlaTarget,
    TicketClosed,
    TicketCreated,
    TicketPendingOnRequester,
    TicketReopened,
    TicketResolved,
    TicketRouted,
)
from ticketstream.tickets import InvalidHistoryError

__all__ = [
    "SLA_TARGETS",
    "ClockStop",
    "SlaClock",
    "StopKind",
    "add_business_time",
    "business_time_between",
    "due_breaches",
    "due_times",
    "fold_clock",
    "next_deadline",
]

SLA_TARGETS: tuple[SlaTarget, ...] = ("first_response", "resolution")
"""Every SLA target, in the order breaches are reported."""

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
_ZERO = timedelta(0)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value.isoformat()}")


def _plus(moment: datetime, duration: timedelta) -> datetime:
    """``moment + duration`` in elapsed time (not wall-clock time), in ``moment``'s zone."""
    return (moment.astimezone(UTC) + duration).astimezone(moment.tzinfo)


# ------------------------------------------------------------------------- business time


def _windows(hours: BusinessHours, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The working windows ``(opens, closes)`` in UTC, in order, from ``since``'s local day.

    Endless: the caller stops. Earlier days' windows all closed before ``since``.
    """
    zone = hours.zone
    working = {_DAY_NAMES.index(day) for day in hours.days}
    day = since.astimezone(zone).date()
    while True:
        if day.weekday() in working:
            opens = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
            closes = datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
            if closes > opens:  # only empty when both ends fall oddly around a DST gap
                yield opens, closes
        day += timedelta(days=1)


def add_business_time(
    start: datetime, duration: timedelta, hours: BusinessHours | None
) -> datetime:
    """The moment ``duration`` of business time after ``start``.

    Without business hours, plain elapsed-time addition. With them, only time inside the
    working windows counts; a ``start`` outside a window counts from the next window. The
    result is the earliest moment the duration is complete, so it can be exactly a window's
    end (16:00 + 1h with hours until 17:00 is 17:00 the same day). A zero duration returns
    ``start``. The result is in ``start``'s time zone. It steps one local day (one window)
    at a time, so the cost grows with the calendar days spanned, not with the duration.
    """
    _require_aware("start", start)
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")
    if hours is None or duration == _ZERO:
        return _plus(start, duration)
    cursor = start.astimezone(UTC)
    remaining = duration
    for opens, closes in _windows(hours, cursor):
        if closes <= cursor:
            continue
        begin = max(opens, cursor)
        available = closes - begin
        if remaining <= available:
            return (begin + remaining).astimezone(start.tzinfo)
        remaining -= available
    raise AssertionError("unreachable: business hours have at least one day a week")


def business_time_between(a: datetime, b: datetime, hours: BusinessHours | None) -> timedelta:
    """How much business time lies between ``a`` and ``b`` (negative when ``b`` is earlier).

    The inverse of :func:`add_business_time`:
    ``business_time_between(a, add_business_time(a, d, h), h) == d``.
    """
    _require_aware("a", a)
    _require_aware("b", b)
    if b < a:
        return -business_time_between(b, a, hours)
    low, high = a.astimezone(UTC), b.astimezone(UTC)
    if hours is None:
        return high - low
    total = _ZERO
    for opens, closes in _windows(hours, low):
        if opens >= high:
            break
        overlap = min(closes, high) - max(opens, low)
        if overlap > _ZERO:
            total += overlap
    return total


def due_times(plan: SlaPlan, priority: Priority, opened_at: datetime) -> tuple[datetime, datetime]:
    """``(first_response_due, resolution_due)`` of a ticket opened at ``opened_at``.

    Raises ``KeyError`` when the plan has no targets for ``priority`` (a valid directory
    gives every plan targets for every configured priority).
    """
    targets = plan.target(priority)
    return (
        add_business_time(opened_at, targets.first_response, plan.business_hours),
        add_business_time(opened_at, targets.resolution, plan.business_hours),
    )


# ------------------------------------------------------------------------------ the clock

StopKind: TypeAlias = Literal["pending", "resolved"]
"""Why the clocks stood still: waiting on the requester, or resolved (or closed)."""


@dataclass(frozen=True, slots=True)
class ClockStop:
    """A stretch of time in which the SLA clocks did not run; ``end`` is ``None`` while it lasts.

    ``pending`` stretches stop the clocks only when the plan pauses while pending;
    ``resolved`` stretches (resolved or closed) always do.
    """

    kind: StopKind
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class SlaClock:
    """The SLA clock of one ticket, folded from its history by :func:`fold_clock`.

    ``first_response_due`` and ``resolution_due`` are the *base* due times (from
    ``opened_at``, no stops); :meth:`effective_due` adds the stops. Both are ``None`` until
    the ticket is routed to an SLA plan with targets for its priority.
    """

    opened_at: datetime
    plan: SlaPlan | None = None
    priority: Priority | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    first_responded_at: datetime | None = None
    stops: tuple[ClockStop, ...] = ()
    breached: frozenset[SlaTarget] = frozenset()

    @property
    def current_stop(self) -> ClockStop | None:
        """The stop that lasts now, if any."""
        if self.stops and self.stops[-1].end is None:
            return self.stops[-1]
        return None

    @property
    def resolved(self) -> bool:
        """The ticket is resolved or closed now."""
        stop = self.current_stop
        return stop is not None and stop.kind == "resolved"

    @property
    def paused(self) -> bool:
        """The clocks stand still now (resolved or closed, or pending on a pausing plan)."""
        stop = self.current_stop
        return stop is not None and self._stops_clock(stop)

    def is_met(self, target: SlaTarget) -> bool:
        """First response: answered (reply or resolution). Resolution: resolved or closed now."""
        if target == "first_response":
            return self.first_responded_at is not None
        return self.resolved

    def base_due(self, target: SlaTarget) -> datetime | None:
        """The due time of ``target`` from ``opened_at``, without stops."""
        return self.first_response_due if target == "first_response" else self.resolution_due

    def effective_due(self, target: SlaTarget) -> datetime | None:
        """When ``target`` falls due, counting the stops; ``None``: not while stopped, or no SLA.

        Each stop that began before the target was reached pushes it back by the stop's
        business time; one that began at or after it changes nothing.
        """
        due = self.base_due(target)
        if due is None or self.plan is None:
            return None
        hours = self.plan.business_hours
        for stop in self.stops:
            if not self._stops_clock(stop):
                continue
            if stop.start >= due:
                break  # stops are in order: the target was reached before this one
            if stop.end is None:
                return None  # stopped before the target was reached, and still stopped
            if stop.end <= due:  # the whole stop was lost: due later by as much
                lost = business_time_between(stop.start, stop.end, hours)
                due = add_business_time(due, lost, hours)
            else:  # the stop spans the old due time: what was left runs on from its end
                left = business_time_between(stop.start, due, hours)
                due = add_business_time(stop.end, left, hours)
        return due

    def _stops_clock(self, stop: ClockStop) -> bool:
        if stop.kind == "resolved":
            return True
        return self.plan is not None and self.plan.pause_while_pending


def fold_clock(
    events: Iterable[tuple[AnyTicketEvent, datetime]],
    plan_lookup: Callable[[str], SlaPlan],
) -> SlaClock | None:
    """The SLA clock after a ticket's history of ``(event, time)`` pairs, in stream order.

    ``plan_lookup`` turns a ``TicketRouted.sla_plan`` id into the plan (e.g.
    ``directory.sla_plan``; whatever it raises for an unknown id propagates). Returns
    ``None`` for an empty history; raises :class:`InvalidHistoryError` when the history
    does not start with ``TicketCreated``. Event times from different services may be
    slightly out of order: a stop never ends before it began.
    """
    clock: SlaClock | None = None
    for event, at in events:
        _require_aware("event time", at)
        if clock is None:
            if not isinstance(event, TicketCreated):
                raise InvalidHistoryError(
                    f"the history of ticket {event.ticket_id} starts with {event.type}, "
                    "not with a ticket created event"
                )
            clock = SlaClock(opened_at=at, priority=event.priority)
            continue
        clock = _evolve(clock, event, at, plan_lookup)
    return clock


def _evolve(
    clock: SlaClock, event: AnyTicketEvent, at: datetime, plan_lookup: Callable[[str], SlaPlan]
) -> SlaClock:
    match event:
        case TicketRouted():
            plan = plan_lookup(event.sla_plan) if event.sla_plan is not None else None
            return _with_due_times(replace(clock, plan=plan, priority=event.priority))
        case PriorityChanged():
            return _with_due_times(replace(clock, priority=event.priority))
        case AgentReplied():
            return _first_response(clock, at)
        case TicketPendingOnRequester():
            if clock.current_stop is not None:
                return clock
            return replace(clock, stops=(*clock.stops, ClockStop("pending", at)))
        case RequesterReplied():
            return _end_stop(clock, at, "pending")
        case TicketResolved():
            return _start_resolved(_first_response(clock, at), at)
        case TicketClosed():
            return _start_resolved(clock, at)
        case TicketReopened():
            return _end_stop(clock, at, "resolved", "pending")
        case SlaBreached():
            return replace(clock, breached=clock.breached | {event.target})
        case _:
            return clock


def _with_due_times(clock: SlaClock) -> SlaClock:
    """Base due times recomputed from ``opened_at`` on the clock's plan and priority.

    A priority the plan has no targets for (the directory changed since) leaves no targets.
    """
    if clock.plan is None or clock.priority is None or clock.priority not in clock.plan.targets:
        return replace(clock, first_response_due=None, resolution_due=None)
    first_response, resolution = due_times(clock.plan, clock.priority, clock.opened_at)
    return replace(clock, first_response_due=first_response, resolution_due=resolution)


def _first_response(clock: SlaClock, at: datetime) -> SlaClock:
    if clock.first_responded_at is not None:
        return clock
    return replace(clock, first_responded_at=at)


def _end_stop(clock: SlaClock, at: datetime, *kinds: StopKind) -> SlaClock:
    stop = clock.current_stop
    if stop is None or stop.kind not in kinds:
        return clock
    ended = replace(stop, end=max(at, stop.start))
    return replace(clock, stops=(*clock.stops[:-1], ended))


def _start_resolved(clock: SlaClock, at: datetime) -> SlaClock:
    if clock.resolved:
        return clock  # resolved, then closed: one stretch
    clock = _end_stop(clock, at, "pending")
    return replace(clock, stops=(*clock.stops, ClockStop("resolved", at)))


def due_breaches(clock: SlaClock, now: datetime) -> list[tuple[SlaTarget, datetime]]:
    """``(target, effective_due)`` of each target that has fallen due unmet at ``now``.

    Left out: targets already breached, met, or whose due time is not reached because the
    clocks were stopped before it. Nothing is due while the ticket is resolved or closed.
    """
    _require_aware("now", now)
    return [(target, at) for target, at in _open_deadlines(clock) if at <= now]


def next_deadline(clock: SlaClock) -> datetime | None:
    """The earliest moment a breach can fall due (possibly already past), or ``None``.

    ``None`` when nothing can fall due until the ticket's history changes: every target is
    met or breached, the clocks are stopped, or the ticket has no SLA.
    """
    return min((at for _, at in _open_deadlines(clock)), default=None)


def _open_deadlines(clock: SlaClock) -> list[tuple[SlaTarget, datetime]]:
    if clock.resolved:
        return []
    deadlines = []
    for target in SLA_TARGETS:
        if target in clock.breached or clock.is_met(target):
            continue
        due = clock.effective_due(target)
        if due is not None:
            deadlines.append((target, due))
    return deadlines
