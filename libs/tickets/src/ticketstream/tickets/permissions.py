"""Who may give which command: requesters, agents, or the system (Ticketstream's services).

A requester may only act on their own ticket: the actor id must be the ticket's requester
e-mail address, compared case-insensitively. Some commands narrow this further by status or
strategy (an agent reopens a closed ticket, a requester does not); ``decide`` checks those.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ticketstream.events import Actor, ActorKind

from .commands import (
    AddInternalNote,
    AssignTicket,
    Categorize,
    ChangePriority,
    ChangeTags,
    Close,
    ConfirmResolution,
    MarkPending,
    OpenTicket,
    RecordAutoReply,
    RecordEmailFailed,
    RecordEmailSent,
    RecordSlaBreach,
    Reopen,
    ReplyAsAgent,
    ReplyAsRequester,
    Resolve,
    RouteTicket,
    SubmitFeedback,
    TicketCommand,
    TransferTicket,
    UnassignTicket,
)
from .errors import TicketRuleViolation

__all__ = ["ALLOWED_ACTORS", "authorize", "is_requester"]

_REQUESTER = frozenset[ActorKind]({"requester"})
_AGENT = frozenset[ActorKind]({"agent"})
_SYSTEM = frozenset[ActorKind]({"system"})
_AGENT_OR_SYSTEM = frozenset[ActorKind]({"agent", "system"})

ALLOWED_ACTORS: Mapping[type[TicketCommand], frozenset[ActorKind]] = MappingProxyType(
    {
        OpenTicket: frozenset({"requester", "agent", "system"}),
        RouteTicket: _AGENT_OR_SYSTEM,
        AssignTicket: _AGENT_OR_SYSTEM,
        UnassignTicket: _AGENT,
        TransferTicket: _AGENT,
        ReplyAsAgent: _AGENT,
        AddInternalNote: _AGENT,
        ReplyAsRequester: _REQUESTER,
        Categorize: _AGENT_OR_SYSTEM,
        ChangeTags: _AGENT,
        ChangePriority: _AGENT,
        MarkPending: _AGENT,
        Resolve: _AGENT,
        ConfirmResolution: _REQUESTER,
        Reopen: frozenset({"requester", "agent"}),
        Close: _AGENT_OR_SYSTEM,
        RecordSlaBreach: _SYSTEM,
        SubmitFeedback: _REQUESTER,
        RecordEmailSent: _SYSTEM,
        RecordEmailFailed: _SYSTEM,
        RecordAutoReply: _SYSTEM,
    }
)
"""The kinds of actor that may give each command."""


_WHO: Mapping[ActorKind, str] = {
    "requester": "the requester",
    "agent": "an agent",
    "system": "the system",
}


def is_requester(actor: Actor, requester_email: str) -> bool:
    """Whether ``actor`` is the requester with this e-mail address (case-insensitive)."""
    return actor.kind == "requester" and actor.id.casefold() == requester_email.casefold()


def authorize(command: TicketCommand, requester_email: str) -> None:
    """Raise :class:`TicketRuleViolation` unless the command's actor may give it.

    ``not_allowed_for_actor`` when the actor's kind may not give the command at all,
    ``not_requester`` when a requester acts on someone else's ticket.
    """
    actor = command.actor
    allowed = ALLOWED_ACTORS[type(command)]
    name = type(command).__name__
    if actor.kind not in allowed:
        who = " or ".join(phrase for kind, phrase in _WHO.items() if kind in allowed)
        raise TicketRuleViolation(
            "not_allowed_for_actor",
            f"{name} may only be given by {who}, not by {actor.kind} {actor.id!r}",
        )
    if actor.kind == "requester" and not is_requester(actor, requester_email):
        raise TicketRuleViolation(
            "not_requester",
            f"{actor.id!r} is not the requester of ticket {command.ticket_id}; "
            "a requester may only act on their own ticket",
        )
