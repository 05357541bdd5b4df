"""The ticket decider: ``decide`` what a command means, ``evolve`` the state by an event.

Pure functions, no I/O and no clock. A rejected command raises :class:`TicketRuleViolation`
and emits nothing. Checks run in a fixed order, so one command always breaks the same rule:
the ticket exists (or not, for ``OpenTicket``), the actor may give the command, the command
is well formed, then the ticket's status and fields allow it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import assert_never

from ticketstream.events import (
    AgentReplied,
    AnyTicketEvent,
    AutoReplyReceived,
    EmailFailed,
    EmailSent,
    FeedbackSubmitted,
    InternalNoteAdded,
    PriorityChanged,
    RequesterReplied,
    ResolutionConfirmed,
    SlaBreached,
    TagsChanged,
    TicketAssigned,
    TicketCategorized,
    TicketClosed,
    TicketCreated,
    TicketPendingOnRequester,
    TicketReopened,
    TicketResolved,
    TicketRouted,
    TicketTransferred,
    TicketUnassigned,
)

from .commands import (
    AddInternalNote,
    AssignTicket,
    Categorize,
    ChangePriority,
    ChangeTags,
    Close,
    Command,
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
from .errors import InvalidHistoryError, TicketRuleViolation
from .permissions import authorize
from .state import TicketState

__all__ = ["REQUESTER_REPLY_REOPEN_REASON", "decide", "evolve", "fold"]

REQUESTER_REPLY_REOPEN_REASON = "requester replied"
"""The reason of the ``TicketReopened`` that follows a requester's reply to a resolved ticket."""


# ---------------------------------------------------------------------------------- decide


def decide(state: TicketState | None, command: Command) -> list[AnyTicketEvent]:
    """The events that carry out ``command`` on the ticket in ``state`` (``None``: no ticket).

    Returns one event, or two that belong together and must be appended atomically
    (a requester's reply that reopens a resolved ticket; a confirmation that closes it).
    Raises :class:`TicketRuleViolation` when the command is rejected.
    """
    match command:
        case OpenTicket():
            return _open_ticket(state, command)
        case RouteTicket():
            return _route_ticket(_existing(state, command), command)
        case AssignTicket():
            return _assign_ticket(_existing(state, command), command)
        case UnassignTicket():
            return _unassign_ticket(_existing(state, command), command)
        case TransferTicket():
            return _transfer_ticket(_existing(state, command), command)
        case ReplyAsAgent():
            return _reply_as_agent(_existing(state, command), command)
        case AddInternalNote():
            return _add_internal_note(_existing(state, command), command)
        case ReplyAsRequester():
            return _reply_as_requester(_existing(state, command), command)
        case Categorize():
            return _categorize(_existing(state, command), command)
        case ChangeTags():
            return _change_tags(_existing(state, command), command)
        case ChangePriority():
            return _change_priority(_existing(state, command), command)
        case MarkPending():
            return _mark_pending(_existing(state, command), command)
        case Resolve():
            return _resolve(_existing(state, command), command)
        case ConfirmResolution():
            return _confirm_resolution(_existing(state, command), command)
        case Reopen():
            return _reopen(_existing(state, command), command)
        case Close():
            return _close(_existing(state, command), command)
        case RecordSlaBreach():
            return _record_sla_breach(_existing(state, command), command)
        case SubmitFeedback():
            return _submit_feedback(_existing(state, command), command)
        case RecordEmailSent():
            return _record_email_sent(_existing(state, command), command)
        case RecordEmailFailed():
            return _record_email_failed(_existing(state, command), command)
        case RecordAutoReply():
            return _record_auto_reply(_existing(state, command), command)
        case _:
            assert_never(command)


def _existing(state: TicketState | None, command: TicketCommand) -> TicketState:
    """The ticket the command is for, once its actor is known to be allowed."""
    if state is None:
        raise TicketRuleViolation("ticket_not_found", f"ticket {command.ticket_id} does not exist")
    if state.ticket_id != command.ticket_id:
        raise TicketRuleViolation(
            "invalid_command",
            f"{type(command).__name__} is for ticket {command.ticket_id}, "
            f"but was decided against ticket {state.ticket_id}",
        )
    authorize(command, state.requester.email)
    return state


def _not_closed(state: TicketState, what: str) -> None:
    if state.status == "closed":
        raise TicketRuleViolation(
            "ticket_closed",
            f"ticket {state.ticket_id} is closed; an agent must reopen it before you can {what}",
        )


def _invalid_transition(state: TicketState, what: str, allowed: str) -> TicketRuleViolation:
    return TicketRuleViolation(
        "invalid_transition",
        f"cannot {what} ticket {state.ticket_id}: it is {state.status}, "
        f"and this is only possible when it is {allowed}",
    )


def _open_ticket(state: TicketState | None, c: OpenTicket) -> list[AnyTicketEvent]:
    if state is not None:
        raise TicketRuleViolation("ticket_exists", f"ticket {c.ticket_id} already exists")
    authorize(c, c.requester.email)
    return [
        TicketCreated(
            ticket_id=c.ticket_id,
            channel=c.channel,
            requester=c.requester,
            subject=c.subject,
            message=c.message,
            help_topic=c.help_topic,
            priority=c.priority,
            attachments=c.attachments,
            email_message_id=c.email_message_id,
        )
    ]


def _route_ticket(s: TicketState, c: RouteTicket) -> list[AnyTicketEvent]:
    _not_closed(s, "route it")
    if s.routed_department == c.department:
        raise TicketRuleViolation(
            "already_routed", f"ticket {s.ticket_id} is already routed to {c.department}"
        )
    return [
        TicketRouted(
            ticket_id=s.ticket_id,
            department=c.department,
            priority=c.priority,
            sla_plan=c.sla_plan,
            first_response_due=c.first_response_due,
            resolution_due=c.resolution_due,
            # Routing suggests a category; it never overrides one the ticket already has.
            category=c.category if s.category is None else None,
        )
    ]


def _assign_ticket(s: TicketState, c: AssignTicket) -> list[AnyTicketEvent]:
    if c.actor.kind == "system" and c.strategy == "manual":
        raise TicketRuleViolation(
            "not_allowed_for_actor",
            "the system assigns by a strategy (round_robin or least_open), never 'manual'",
        )
    if c.actor.kind == "agent" and c.strategy != "manual":
        raise TicketRuleViolation(
            "not_allowed_for_actor",
            f"an agent assigns by hand: strategy must be 'manual', not {c.strategy!r}",
        )
    _not_closed(s, "assign it")
    if s.assignee == c.agent_id:
        raise TicketRuleViolation(
            "already_assigned", f"ticket {s.ticket_id} is already assigned to {c.agent_id}"
        )
    if c.strategy != "manual" and s.assignee is not None:
        raise TicketRuleViolation(
            "already_assigned",
            f"ticket {s.ticket_id} is already assigned to {s.assignee}; "
            "automatic assignment never replaces an existing assignment",
        )
    return [TicketAssigned(ticket_id=s.ticket_id, agent_id=c.agent_id, strategy=c.strategy)]


def _unassign_ticket(s: TicketState, c: UnassignTicket) -> list[AnyTicketEvent]:
    _not_closed(s, "unassign it")
    if s.assignee is None:
        raise TicketRuleViolation("not_assigned", f"ticket {s.ticket_id} has no assignee")
    return [TicketUnassigned(ticket_id=s.ticket_id, previous_agent_id=s.assignee)]


def _transfer_ticket(s: TicketState, c: TransferTicket) -> list[AnyTicketEvent]:
    _not_closed(s, "transfer it")
    if s.department == c.to_department:
        raise TicketRuleViolation(
            "unchanged", f"ticket {s.ticket_id} is already in department {c.to_department}"
        )
    return [
        TicketTransferred(
            ticket_id=s.ticket_id,
            from_department=s.department,
            to_department=c.to_department,
            reason=c.reason,
        )
    ]


def _reply_as_agent(s: TicketState, c: ReplyAsAgent) -> list[AnyTicketEvent]:
    _not_closed(s, "reply")
    return [
        AgentReplied(
            ticket_id=s.ticket_id, agent_id=c.actor.id, body=c.body, attachments=c.attachments
        )
    ]


def _add_internal_note(s: TicketState, c: AddInternalNote) -> list[AnyTicketEvent]:
    # Allowed in every status, closed included: notes are the agents' audit trail.
    return [
        InternalNoteAdded(
            ticket_id=s.ticket_id, agent_id=c.actor.id, body=c.body, attachments=c.attachments
        )
    ]


def _reply_as_requester(s: TicketState, c: ReplyAsRequester) -> list[AnyTicketEvent]:
    if c.email_message_id and c.email_message_id in s.email_message_ids:
        raise TicketRuleViolation(
            "duplicate_email",
            f"the e-mail {c.email_message_id} is already on ticket {s.ticket_id}",
        )
    if s.status == "closed":
        raise TicketRuleViolation(
            "ticket_closed",
            f"ticket {s.ticket_id} is closed and takes no more replies; open a new ticket",
        )
    replied = RequesterReplied(
        ticket_id=s.ticket_id,
        channel=c.channel,
        body=c.body,
        attachments=c.attachments,
        email_message_id=c.email_message_id,
    )
    if s.status == "resolved":
        # Answering a resolution means it did not solve the problem: the ticket reopens.
        reopened = TicketReopened(ticket_id=s.ticket_id, reason=REQUESTER_REPLY_REOPEN_REASON)
        return [replied, reopened]
    return [replied]


def _categorize(s: TicketState, c: Categorize) -> list[AnyTicketEvent]:
    _not_closed(s, "categorize it")
    if s.category == c.category:
        raise TicketRuleViolation(
            "unchanged", f"ticket {s.ticket_id} is already in category {c.category!r}"
        )
    return [
        TicketCategorized(ticket_id=s.ticket_id, category=c.category, previous_category=s.category)
    ]


def _change_tags(s: TicketState, c: ChangeTags) -> list[AnyTicketEvent]:
    both = c.add & c.remove
    if both:
        raise TicketRuleViolation(
            "invalid_command",
            f"tags cannot be added and removed at once: {', '.join(sorted(both))}",
        )
    _not_closed(s, "change its tags")
    added = c.add - s.tags
    removed = c.remove & s.tags
    if not added and not removed:
        raise TicketRuleViolation(
            "unchanged",
            f"ticket {s.ticket_id} already has these tags and none of the ones to remove",
        )
    return [
        TagsChanged(
            ticket_id=s.ticket_id,
            added=tuple(sorted(added)),
            removed=tuple(sorted(removed)),
            tags=tuple(sorted((s.tags | added) - removed)),
        )
    ]


def _change_priority(s: TicketState, c: ChangePriority) -> list[AnyTicketEvent]:
    _not_closed(s, "change its priority")
    if s.priority == c.priority:
        raise TicketRuleViolation(
            "unchanged", f"ticket {s.ticket_id} already has priority {c.priority}"
        )
    return [
        PriorityChanged(ticket_id=s.ticket_id, priority=c.priority, previous_priority=s.priority)
    ]


def _mark_pending(s: TicketState, c: MarkPending) -> list[AnyTicketEvent]:
    if s.status != "open":
        raise _invalid_transition(s, "mark pending", "open")
    return [TicketPendingOnRequester(ticket_id=s.ticket_id, reason=c.reason)]


def _resolve(s: TicketState, c: Resolve) -> list[AnyTicketEvent]:
    if s.status not in ("open", "pending"):
        raise _invalid_transition(s, "resolve", "open or pending")
    return [TicketResolved(ticket_id=s.ticket_id, agent_id=c.actor.id, resolution=c.resolution)]


def _confirm_resolution(s: TicketState, c: ConfirmResolution) -> list[AnyTicketEvent]:
    if s.status != "resolved":
        raise _invalid_transition(s, "confirm the resolution of", "resolved")
    return [
        ResolutionConfirmed(ticket_id=s.ticket_id),
        TicketClosed(ticket_id=s.ticket_id, reason="confirmed"),
    ]


def _reopen(s: TicketState, c: Reopen) -> list[AnyTicketEvent]:
    if c.actor.kind == "requester" and s.status != "resolved":
        raise _invalid_transition(s, "reopen (as the requester)", "resolved")
    if s.status not in ("resolved", "closed"):
        raise _invalid_transition(s, "reopen", "resolved or closed")
    return [TicketReopened(ticket_id=s.ticket_id, reason=c.reason)]


def _close(s: TicketState, c: Close) -> list[AnyTicketEvent]:
    if c.actor.kind == "system":
        # Auto-close after the quiet period: only a resolution nobody answered closes itself.
        if s.status != "resolved":
            raise _invalid_transition(s, "auto-close", "resolved")
        return [TicketClosed(ticket_id=s.ticket_id, reason="auto")]
    if s.status == "closed":
        raise _invalid_transition(s, "close", "open, pending or resolved")
    return [TicketClosed(ticket_id=s.ticket_id, reason="agent")]


def _record_sla_breach(s: TicketState, c: RecordSlaBreach) -> list[AnyTicketEvent]:
    if c.target in s.breached:
        raise TicketRuleViolation(
            "already_breached",
            f"the {c.target} target of ticket {s.ticket_id} is already recorded as breached",
        )
    if c.target == "first_response" and s.first_responded:
        raise TicketRuleViolation(
            "sla_met", f"ticket {s.ticket_id} already has an agent reply: first response was met"
        )
    if s.status in ("resolved", "closed"):
        # The resolution answers the requester too, so neither clock runs on after it.
        raise TicketRuleViolation(
            "sla_met", f"ticket {s.ticket_id} is {s.status}: its {c.target} target was met"
        )
    return [SlaBreached(ticket_id=s.ticket_id, target=c.target, due_at=c.due_at)]


def _submit_feedback(s: TicketState, c: SubmitFeedback) -> list[AnyTicketEvent]:
    if s.feedback_rating is not None:
        raise TicketRuleViolation(
            "feedback_already_given",
            f"feedback on ticket {s.ticket_id} was already given; it is asked only once",
        )
    if s.status != "closed":
        raise _invalid_transition(s, "give feedback on", "closed")
    return [FeedbackSubmitted(ticket_id=s.ticket_id, rating=c.rating, comment=c.comment)]


def _record_email_sent(s: TicketState, c: RecordEmailSent) -> list[AnyTicketEvent]:
    return [
        EmailSent(
            ticket_id=s.ticket_id,
            cause_event_id=c.cause_event_id,
            recipient=c.recipient,
            role=c.role,
            template=c.template,
            message_id=c.message_id,
            subject=c.subject,
        )
    ]


def _record_email_failed(s: TicketState, c: RecordEmailFailed) -> list[AnyTicketEvent]:
    return [
        EmailFailed(
            ticket_id=s.ticket_id,
            cause_event_id=c.cause_event_id,
            recipient=c.recipient,
            role=c.role,
            template=c.template,
            error=c.error,
            permanent=c.permanent,
        )
    ]


def _record_auto_reply(s: TicketState, c: RecordAutoReply) -> list[AnyTicketEvent]:
    # Allowed in every status, closed included, and never acted on: an out-of-office answer
    # or a bounce neither reopens a resolved ticket nor resumes a pending one.
    if c.email_message_id and c.email_message_id in s.email_message_ids:
        raise TicketRuleViolation(
            "duplicate_email",
            f"the e-mail {c.email_message_id} is already on ticket {s.ticket_id}",
        )
    return [
        AutoReplyReceived(
            ticket_id=s.ticket_id,
            kind=c.kind,
            from_address=c.from_address,
            subject=c.subject,
            reason=c.reason,
            email_message_id=c.email_message_id,
        )
    ]


# ---------------------------------------------------------------------------------- evolve


def evolve(state: TicketState | None, event: AnyTicketEvent) -> TicketState:
    """The ticket after ``event``; every event adds one to ``version``.

    Events are facts: evolve does not re-check the rules that allowed them. It raises
    :class:`InvalidHistoryError` only when the history cannot describe one ticket.
    """
    if state is None:
        if not isinstance(event, TicketCreated):
            raise InvalidHistoryError(
                f"the history of ticket {event.ticket_id} starts with {event.type}, "
                "not with a ticket created event"
            )
        return TicketState(
            ticket_id=event.ticket_id,
            version=1,
            status="open",
            channel=event.channel,
            requester=event.requester,
            subject=event.subject,
            help_topic=event.help_topic,
            priority=event.priority,
            email_message_ids=_message_ids(event.email_message_id),
        )
    if event.ticket_id != state.ticket_id:
        raise InvalidHistoryError(
            f"event {event.type} of ticket {event.ticket_id} "
            f"cannot apply to ticket {state.ticket_id}"
        )
    s = replace(state, version=state.version + 1)
    match event:
        case TicketCreated():
            raise InvalidHistoryError(f"ticket {state.ticket_id} is created twice")
        case TicketRouted():
            return replace(
                s,
                department=event.department,
                routed_department=event.department,
                priority=event.priority,
                sla_plan=event.sla_plan,
                first_response_due=event.first_response_due,
                resolution_due=event.resolution_due,
                category=s.category if s.category is not None else event.category,
            )
        case TicketAssigned():
            return replace(s, assignee=event.agent_id, assigned_manually=event.strategy == "manual")
        case TicketUnassigned():
            return replace(s, assignee=None, assigned_manually=False)
        case TicketTransferred():
            return replace(
                s,
                department=event.to_department,
                routed_department=None,
                assignee=None,
                assigned_manually=False,
            )
        case AgentReplied():
            return replace(s, first_responded=True)
        case RequesterReplied():
            return replace(
                s,
                status="open" if s.status == "pending" else s.status,
                email_message_ids=s.email_message_ids | _message_ids(event.email_message_id),
            )
        case TicketCategorized():
            return replace(s, category=event.category)
        case TagsChanged():
            return replace(s, tags=frozenset(event.tags))
        case PriorityChanged():
            return replace(s, priority=event.priority)
        case TicketPendingOnRequester():
            return replace(s, status="pending")
        case TicketResolved():
            # The resolution is a public answer e-mailed to the requester: a first response.
            return replace(s, status="resolved", resolution=event.resolution, first_responded=True)
        case TicketReopened():
            return replace(
                s,
                status="open",
                resolution=None,
                close_reason=None,
                reopen_count=s.reopen_count + 1,
            )
        case TicketClosed():
            return replace(s, status="closed", close_reason=event.reason)
        case SlaBreached():
            return replace(s, breached=s.breached | {event.target})
        case FeedbackSubmitted():
            return replace(s, feedback_rating=event.rating)
        case AutoReplyReceived():
            # Recorded, never acted on: the status stays, only its Message-ID is remembered.
            return replace(
                s, email_message_ids=s.email_message_ids | _message_ids(event.email_message_id)
            )
        case InternalNoteAdded() | ResolutionConfirmed() | EmailSent() | EmailFailed():
            return s
        case _:
            assert_never(event)


def fold(events: Iterable[AnyTicketEvent], state: TicketState | None = None) -> TicketState | None:
    """The ticket after all ``events`` (in order), starting from ``state`` (default: none).

    Returns ``None`` for an empty history that starts from nothing.
    """
    for event in events:
        state = evolve(state, event)
    return state


def _message_ids(message_id: str | None) -> frozenset[str]:
    return frozenset({message_id}) if message_id else frozenset()
