"""Where a new or transferred ticket goes: the ``RouteTicket`` command routing appends."""

from __future__ import annotations

from datetime import datetime

from ticketstream.directory import Directory, SlaPlan
from ticketstream.events import Actor
from ticketstream.tickets import RouteTicket, TicketState

from .sla import due_times

__all__ = ["ROUTING_ACTOR", "route_command"]

ROUTING_ACTOR = Actor(kind="system", id="routing")
"""Who routing's commands come from."""


def route_command(
    directory: Directory, state: TicketState, opened_at: datetime
) -> RouteTicket | None:
    """The command that routes the ticket, or ``None`` when it must not be routed.

    Not routed: a closed ticket, or one already routed (``routed_department`` is set; a
    transfer clears it, so a transferred ticket is routed again, by its new department).

    - department: the help topic's, or after a transfer the one it was transferred to;
    - priority: the ticket's own (asked for by the requester, or set since) if the
      directory offers it, else the help topic's default;
    - SLA plan: the help topic's (its own, else its department's) while the ticket is in
      the topic's department; in any other department, that department's plan;
    - due times: from ``opened_at`` (when the ticket was opened, also after a transfer) on
      that plan and priority, without pauses (the SLA clock adds those);
    - category: the help topic's (the ticket rules keep a category the ticket already has).

    Raises ``UnknownIdError`` when the ticket's help topic or department is not in the
    directory.
    """
    if state.status == "closed" or state.routed_department is not None:
        return None
    topic = directory.help_topic(state.help_topic)
    department = state.department if state.department is not None else topic.department
    priority = state.priority if state.priority in directory.priorities else topic.priority
    plan: SlaPlan = (
        directory.sla_plan_for_topic(topic.id)
        if department == topic.department
        else directory.sla_plan(directory.department(department).sla_plan)
    )
    first_response_due, resolution_due = due_times(plan, priority, opened_at)
    return RouteTicket(
        ticket_id=state.ticket_id,
        actor=ROUTING_ACTOR,
        department=department,
        priority=priority,
        sla_plan=plan.id,
        first_response_due=first_response_due,
        resolution_due=resolution_due,
        category=topic.category,
    )
