"""Who gets which e-mail for one ticket event: a pure function of the event and the ticket.

Requester (the person the ticket is for):

============================  ===================  =========================================
event                         template             note
============================  ===================  =========================================
TicketCreated                 ``acknowledgement``  always (the deny list and rate limit are
                                                   the sender's business, not this table's)
AgentReplied                  ``agent_reply``      public replies only; notes never mail
TicketPendingOnRequester      ``pending``          "we need more information"
TicketResolved                ``resolved``         with confirm and reopen links
TicketClosed                  ``closed``           any reason, with the satisfaction survey
TicketReopened                ``reopened``         by the requester (their acknowledgement)
                                                   or by an agent
============================  ===================  =========================================

Nothing else mails the requester: not their own reply (``RequesterReplied``), not a
confirmation or their feedback, never an internal note, never notify's own bookkeeping
(``EmailSent``/``EmailFailed``) nor an auto-reply that arrived (``AutoReplyReceived``).

Agents, each only when the ticket's department has the matching ``alerts`` flag on:

========================  =====================  ==============================================
event                     template               to
========================  =====================  ==============================================
TicketRouted              ``new_ticket``         every member of the department
TicketAssigned            ``assigned``           the assignee, unless they assigned themself
RequesterReplied          ``requester_replied``  the assignee (unassigned: the members)
SlaBreached               ``sla_breached``       the assignee (unassigned: the members)
========================  =====================  ==============================================

An agent never gets an alert about what they did themself, one event never mails one
address twice, and an agent or department the directory no longer knows is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from ticketstream.directory import Department, Directory, UnknownIdError
from ticketstream.events import (
    AgentReplied,
    RecipientRole,
    RequesterReplied,
    SlaBreached,
    TicketAssigned,
    TicketClosed,
    TicketCreated,
    TicketPendingOnRequester,
    TicketReopened,
    TicketResolved,
    TicketRouted,
)
from ticketstream.events.envelope import Envelope
from ticketstream.tickets import TicketState

__all__ = [
    "AGENT_TEMPLATES",
    "AUTOMATIC_TEMPLATES",
    "REQUESTER_TEMPLATES",
    "TEMPLATES",
    "Planned",
    "TemplateName",
    "emails_for",
]

TemplateName: TypeAlias = Literal[
    "acknowledgement",
    "agent_reply",
    "pending",
    "resolved",
    "closed",
    "reopened",
    "new_ticket",
    "assigned",
    "requester_replied",
    "sla_breached",
]

REQUESTER_TEMPLATES: tuple[TemplateName, ...] = (
    "acknowledgement",
    "agent_reply",
    "pending",
    "resolved",
    "closed",
    "reopened",
)
AGENT_TEMPLATES: tuple[TemplateName, ...] = (
    "new_ticket",
    "assigned",
    "requester_replied",
    "sla_breached",
)
TEMPLATES: tuple[TemplateName, ...] = REQUESTER_TEMPLATES + AGENT_TEMPLATES
"""Every kind of e-mail notify sends; each has a ``.txt.j2`` and a ``.html.j2`` template."""
AUTOMATIC_TEMPLATES: frozenset[str] = frozenset(TEMPLATES) - {"agent_reply"}
"""Machine-written e-mails (``Auto-Submitted: auto-generated``); an agent's reply is human."""


@dataclass(frozen=True, slots=True)
class Planned:
    """One e-mail to send: to whom, in which role, from which template, because of which event.

    ``(cause_event_id, recipient)`` identifies the e-mail: its Message-ID is derived from it,
    and notify never sends the same pair twice. ``name`` is the recipient's display name.
    """

    recipient: str
    role: RecipientRole
    template: TemplateName
    cause_event_id: str
    name: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(cause_event_id, recipient in lower case)``: what must never be mailed twice."""
        return (self.cause_event_id, self.recipient.strip().lower())


def emails_for(
    envelope: Envelope,
    state_before: TicketState | None,
    state_after: TicketState,
    directory: Directory,
) -> list[Planned]:
    """The e-mails one event causes, requester first, then agents in directory order.

    ``state_before`` is the ticket before the event (``None`` for its creation) and
    ``state_after`` the ticket with it. Pure: no clock, no I/O.
    """
    event = envelope.data
    planned: list[Planned] = []

    def requester(template: TemplateName) -> None:
        person = state_after.requester
        planned.append(Planned(person.email, "requester", template, envelope.id, person.name))

    match event:
        case TicketCreated():
            requester("acknowledgement")
        case AgentReplied():
            requester("agent_reply")
        case TicketPendingOnRequester():
            requester("pending")
        case TicketResolved():
            requester("resolved")
        case TicketClosed():
            requester("closed")
        case TicketReopened():
            requester("reopened")
        case TicketRouted():
            department = _department(directory, event.department)
            if department is not None and department.alerts.new_ticket:
                planned += _agents(directory, department.members, "new_ticket", envelope)
        case TicketAssigned():
            department = _department(directory, state_after.department)
            if department is not None and department.alerts.assigned:
                planned += _agents(directory, (event.agent_id,), "assigned", envelope)
        case RequesterReplied():
            department = _department(directory, state_after.department)
            if department is not None and department.alerts.requester_replied:
                planned += _agents(
                    directory, _owners(state_after, department), "requester_replied", envelope
                )
        case SlaBreached():
            department = _department(directory, state_after.department)
            if department is not None and department.alerts.sla_breached:
                planned += _agents(
                    directory, _owners(state_after, department), "sla_breached", envelope
                )
        case _:
            pass
    return _unique(planned)


def _department(directory: Directory, department_id: str | None) -> Department | None:
    if department_id is None:
        return None
    try:
        return directory.department(department_id)
    except UnknownIdError:
        return None


def _owners(ticket: TicketState, department: Department) -> tuple[str, ...]:
    """Who answers for the ticket: its assignee, or the whole department while unassigned."""
    return (ticket.assignee,) if ticket.assignee else department.members


def _agents(
    directory: Directory,
    agent_ids: tuple[str, ...],
    template: TemplateName,
    envelope: Envelope,
) -> list[Planned]:
    """An alert to each of ``agent_ids`` except the agent who caused the event."""
    actor = envelope.actor_id if envelope.actor_type == "agent" else None
    planned = []
    for agent_id in agent_ids:
        if agent_id == actor:
            continue
        try:
            agent = directory.agent(agent_id)
        except UnknownIdError:
            continue
        planned.append(Planned(agent.email, "agent", template, envelope.id, agent.name))
    return planned


def _unique(planned: list[Planned]) -> list[Planned]:
    """The first e-mail to each address: one event never mails one address twice."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for item in planned:
        if item.key not in seen:
            seen.add(item.key)
            unique.append(item)
    return unique
