"""routing's reactions: route and auto-assign new tickets, watch SLA targets and quiet periods.

Every decision is made from the ticket's current state, through the ticket rules and the
event store's optimistic concurrency, so a redelivered event, a restart or a second replica
decides nothing new:

- a ticket already routed is not routed again (``route_command`` returns None, or the rules
  answer ``already_routed``);
- a ticket with an assignee is not auto-assigned (the rules answer ``already_assigned``);
- a breach already raised is not raised again (``already_breached``), a closed ticket is
  not closed again.

A crash between routing and assigning leaves a routed, unassigned ticket; the redelivered
event completes the assignment. What routing needs to remember across tickets lives in the
shared KV bucket (:mod:`ticketstream.routing.shared_state`): round-robin turns, open
assignments per agent (for least-open), and each ticket's next deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from ticketstream.directory import Directory
from ticketstream.events import AnyTicketEvent, Envelope, Metadata
from ticketstream.eventstore import Batch, Clock, EventStore
from ticketstream.ticketing import execute
from ticketstream.tickets import (
    AssignTicket,
    Close,
    Command,
    RecordSlaBreach,
    TicketRuleViolation,
    TicketState,
    fold,
)

from .assignment import decide_assignment
from .auto_close import auto_close_at, auto_close_due
from .routing_decision import ROUTING_ACTOR, route_command
from .shared_state import OpenAssignments, RoundRobinPointers, Timers
from .sla import due_breaches, fold_clock, next_deadline

SOURCE = "ticketstream/routing"
_PREFIX = "io.ticketstream.ticket."
ROUTE_ON = frozenset({f"{_PREFIX}created.v1", f"{_PREFIX}transferred.v1"})
WATCHED = ROUTE_ON | {
    f"{_PREFIX}{name}.v1"
    for name in (
        "routed",
        "assigned",
        "unassigned",
        "agent_replied",
        "requester_replied",
        "pending",
        "resolved",
        "reopened",
        "closed",
        "priority_changed",
        "sla_breached",
    )
}
"""The event types that change what routing decides or watches."""

# Answers that mean "already done" (by this or another replica, or by an agent).
_ALREADY = frozenset(
    {"already_routed", "already_assigned", "already_breached", "sla_met", "invalid_transition"}
)

_log = structlog.get_logger(__name__)


class Routing:
    """Routes, assigns and watches tickets; one instance per process."""

    def __init__(
        self,
        store: EventStore,
        directory: Directory,
        *,
        pointers: RoundRobinPointers,
        open_assignments: OpenAssignments,
        timers: Timers,
        clock: Clock,
    ) -> None:
        self._store = store
        self._directory = directory
        self._pointers = pointers
        self._open = open_assignments
        self._timers = timers
        self._clock = clock

    async def handle(self, batch: Batch) -> None:
        """React to a batch of events (the catch-up subscription's handler)."""
        touched: dict[str, Envelope] = {}
        for recorded in batch.events:
            envelope = recorded.envelope
            if envelope.type in ROUTE_ON:
                await self.route_and_assign(envelope)
            touched[envelope.ticket_id] = envelope
        for ticket_id in touched:
            await self.refresh(ticket_id)

    async def route_and_assign(self, trigger: Envelope) -> None:
        """Route the ticket of ``trigger`` (created or transferred), then auto-assign it."""
        history = await self._history(trigger.ticket_id)
        state = fold([e.data for e in history])
        if state is None:
            return
        command = route_command(self._directory, state, history[0].time)
        if command is not None:
            await self._apply(command, trigger)
            state = fold([e.data for e in await self._history(trigger.ticket_id)])
        if state is not None:
            await self._assign(state, trigger)

    async def _assign(self, state: TicketState, trigger: Envelope) -> None:
        if state.assignee is not None or state.status == "closed" or state.department is None:
            return
        department = self._directory.department(state.department)
        if department.assignment == "none":
            return
        if department.assignment == "round_robin":
            agent = await self._pointers.advance(
                department.id,
                lambda last: decide_assignment(
                    self._directory, department.id, last_assigned=last, open_counts={}
                ),
            )
        else:
            agent = decide_assignment(
                self._directory, department.id, last_assigned=None, open_counts=self._open.counts()
            )
        if agent is None:
            _log.warning("nobody to assign", ticket_id=state.ticket_id, department=department.id)
            return
        command = AssignTicket(
            ticket_id=state.ticket_id,
            actor=ROUTING_ACTOR,
            agent_id=agent,
            strategy=department.assignment,
        )
        await self._apply(command, trigger)
        await self._open.set(state.ticket_id, agent)

    async def refresh(self, ticket_id: str) -> None:
        """Bring the ticket's shared entries up to date: its open assignment, its deadline."""
        history = await self._history(ticket_id)
        state = fold([e.data for e in history])
        if state is None:
            return
        working = state.status in ("open", "pending")
        await self._open.set(ticket_id, state.assignee if working else None)
        await self._timers.set(ticket_id, self._next_attention(history))

    def _next_attention(self, history: Sequence[Envelope]) -> datetime | None:
        pairs = _pairs(history)
        clock = fold_clock(pairs, self._directory.sla_plan)
        moments = [
            next_deadline(clock) if clock else None,
            auto_close_at(pairs, self._directory.auto_close_after),
        ]
        present = [m for m in moments if m is not None]
        return min(present) if present else None

    async def tick(self) -> int:
        """Act on every ticket whose deadline has passed; how many were looked at."""
        now = self._clock()
        due = self._timers.due(now)
        for ticket_id in due:
            await self.fire(ticket_id, now)
        return len(due)

    async def fire(self, ticket_id: str, now: datetime) -> None:
        """Raise the SLA breaches that are due, auto-close when the quiet period is over."""
        history = await self._history(ticket_id)
        if not history:
            await self._timers.set(ticket_id, None)
            return
        trigger, pairs = history[-1], _pairs(history)
        clock = fold_clock(pairs, self._directory.sla_plan)
        for target, due_at in due_breaches(clock, now) if clock else ():
            breach = RecordSlaBreach(
                ticket_id=ticket_id, actor=ROUTING_ACTOR, target=target, due_at=due_at
            )
            await self._apply(breach, trigger)
        if auto_close_due(pairs, self._directory.auto_close_after, now):
            await self._apply(Close(ticket_id=ticket_id, actor=ROUTING_ACTOR), trigger)
        await self.refresh(ticket_id)

    async def _apply(self, command: Command, trigger: Envelope) -> None:
        meta = Metadata(
            source=SOURCE,
            actor=ROUTING_ACTOR,
            correlation_id=trigger.correlation_id,
            causation_id=trigger.id,
        )
        try:
            await execute(self._store, command, meta, clock=self._clock)
        except TicketRuleViolation as violation:
            if violation.rule not in _ALREADY and violation.rule != "ticket_closed":
                raise
            _log.debug("nothing to do", ticket_id=command.ticket_id, rule=violation.rule)

    async def _history(self, ticket_id: str) -> list[Envelope]:
        return [recorded.envelope for recorded in (await self._store.load(ticket_id)).events]


def _pairs(history: Sequence[Envelope]) -> list[tuple[AnyTicketEvent, datetime]]:
    return [(envelope.data, envelope.time) for envelope in history]
