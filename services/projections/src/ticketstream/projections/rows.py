"""The ticket read model as pure Python: what each event does to a ticket's row and thread.

The projector loads the rows a batch touches, folds the batch's events over them here, and
writes the results back in a few statements. Every event type has one small step: it changes
the row and returns the thread line the event adds. An event is applied only on top of the
version before it (its ``ticket_version`` is the row's ``version`` + 1); one at or below the
row's version is a duplicate; one further ahead is a version gap: not applied, reported, and
the ticket flagged ``stale`` (a rebuild repairs it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

from ticketstream.events import (
    AgentReplied,
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
    TicketEvent,
    TicketPendingOnRequester,
    TicketReopened,
    TicketResolved,
    TicketRouted,
    TicketTransferred,
    TicketUnassigned,
    event_type,
)
from ticketstream.eventstore import RecordedEvent


@dataclass(slots=True)
class TicketRow:
    """One row of ``tickets``, plus the text the batch adds to its search vector."""

    ticket_id: str
    version: int
    position: int
    status: str
    channel: str
    subject: str
    help_topic: str
    requester_name: str
    requester_email: str
    priority: str | None
    created_at: datetime
    updated_at: datetime
    department: str | None = None
    assignee: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    sla_plan: str | None = None
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    first_response_breached: bool = False
    resolution_breached: bool = False
    first_responded_at: datetime | None = None
    resolution: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    close_reason: str | None = None
    reopen_count: int = 0
    feedback_rating: int | None = None
    feedback_comment: str | None = None
    stale: bool = False
    searchable: list[str] = field(default_factory=list)
    """Not a column: text this batch adds to the row's search vector."""


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(TicketRow) if f.name != "searchable")


@dataclass(frozen=True, slots=True)
class ThreadLine:
    """What an event adds to the thread an agent reads."""

    kind: str
    body: str
    public: bool = False
    searchable: bool = True


@dataclass(frozen=True, slots=True)
class Applied:
    row: TicketRow
    line: ThreadLine


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Already applied: a redelivery or a replay."""


@dataclass(frozen=True, slots=True)
class Gap:
    """The event is not the row's next version."""

    row: TicketRow | None
    expected: int


Outcome = Applied | Duplicate | Gap

_E = TypeVar("_E", bound=TicketEvent)
Step = Callable[[TicketRow, _E, datetime], ThreadLine]


def _routed(row: TicketRow, e: TicketRouted, at: datetime) -> ThreadLine:
    row.department, row.priority, row.sla_plan = e.department, e.priority, e.sla_plan
    row.first_response_due, row.resolution_due = e.first_response_due, e.resolution_due
    row.category = row.category or e.category
    body = f"Routed to {e.department} (priority {e.priority}, SLA plan {e.sla_plan or 'none'})"
    return ThreadLine("routed", body, searchable=False)


def _assigned(row: TicketRow, e: TicketAssigned, at: datetime) -> ThreadLine:
    row.assignee = e.agent_id
    body = f"Assigned to {e.agent_id} ({e.strategy.replace('_', ' ')})"
    return ThreadLine("assigned", body, searchable=False)


def _unassigned(row: TicketRow, e: TicketUnassigned, at: datetime) -> ThreadLine:
    row.assignee = None
    return ThreadLine("unassigned", f"Unassigned from {e.previous_agent_id}", searchable=False)


def _transferred(row: TicketRow, e: TicketTransferred, at: datetime) -> ThreadLine:
    row.department, row.assignee = e.to_department, None
    body = f"Transferred from {e.from_department or 'none'} to {e.to_department}"
    return ThreadLine("transferred", body + (f": {e.reason}" if e.reason else ""))


def _agent_replied(row: TicketRow, e: AgentReplied, at: datetime) -> ThreadLine:
    row.first_responded_at = row.first_responded_at or at
    return ThreadLine("agent_reply", e.body, public=True)


def _note_added(row: TicketRow, e: InternalNoteAdded, at: datetime) -> ThreadLine:
    return ThreadLine("note", e.body)


def _requester_replied(row: TicketRow, e: RequesterReplied, at: datetime) -> ThreadLine:
    if row.status == "pending":
        row.status = "open"
    return ThreadLine("requester_reply", e.body, public=True)


def _categorized(row: TicketRow, e: TicketCategorized, at: datetime) -> ThreadLine:
    row.category = e.category
    body = f"Category set to {e.category}"
    if e.previous_category:
        body += f" (was {e.previous_category})"
    return ThreadLine("categorized", body)


def _tags_changed(row: TicketRow, e: TagsChanged, at: datetime) -> ThreadLine:
    row.tags = sorted(set(e.tags))
    parts = [f"added {', '.join(e.added)}"] if e.added else []
    parts += [f"removed {', '.join(e.removed)}"] if e.removed else []
    return ThreadLine("tags", "Tags " + ("; ".join(parts) or "unchanged"))


def _priority_changed(row: TicketRow, e: PriorityChanged, at: datetime) -> ThreadLine:
    row.priority = e.priority
    body = f"Priority set to {e.priority}"
    if e.previous_priority:
        body += f" (was {e.previous_priority})"
    return ThreadLine("priority", body, searchable=False)


def _pending(row: TicketRow, e: TicketPendingOnRequester, at: datetime) -> ThreadLine:
    row.status = "pending"
    body = "Pending on the requester" + (f": {e.reason}" if e.reason else "")
    return ThreadLine("pending", body, public=True)


def _resolved(row: TicketRow, e: TicketResolved, at: datetime) -> ThreadLine:
    row.status, row.resolution, row.resolved_at = "resolved", e.resolution, at
    # Like the ticket rules: the resolution is a public answer, so it is a first response too.
    row.first_responded_at = row.first_responded_at or at
    return ThreadLine("resolved", f"Resolved: {e.resolution}", public=True)


def _confirmed(row: TicketRow, e: ResolutionConfirmed, at: datetime) -> ThreadLine:
    body = "The requester confirmed the resolution"
    return ThreadLine("confirmed", body, public=True, searchable=False)


def _reopened(row: TicketRow, e: TicketReopened, at: datetime) -> ThreadLine:
    row.status, row.resolution, row.resolved_at = "open", None, None
    row.closed_at, row.close_reason = None, None
    row.reopen_count += 1
    return ThreadLine("reopened", "Reopened" + (f": {e.reason}" if e.reason else ""), public=True)


_CLOSE_REASONS = {
    "confirmed": "confirmed by the requester",
    "agent": "by an agent",
    "auto": "automatically after the quiet period",
}


def _closed(row: TicketRow, e: TicketClosed, at: datetime) -> ThreadLine:
    row.status, row.closed_at, row.close_reason = "closed", at, e.reason
    body = f"Closed ({_CLOSE_REASONS[e.reason]})"
    return ThreadLine("closed", body, public=True, searchable=False)


def _sla_breached(row: TicketRow, e: SlaBreached, at: datetime) -> ThreadLine:
    if e.target == "first_response":
        row.first_response_breached = True
    else:
        row.resolution_breached = True
    body = f"SLA {e.target.replace('_', ' ')} target missed (due {e.due_at.isoformat()})"
    return ThreadLine("sla_breached", body, searchable=False)


def _feedback(row: TicketRow, e: FeedbackSubmitted, at: datetime) -> ThreadLine:
    row.feedback_rating, row.feedback_comment = e.rating, e.comment
    body = f"Satisfaction {e.rating}/5" + (f": {e.comment}" if e.comment else "")
    return ThreadLine("feedback", body, public=True)


def _email_sent(row: TicketRow, e: EmailSent, at: datetime) -> ThreadLine:
    body = (
        f"E-mail sent to {e.role} {e.recipient}: {e.subject!r} "
        f"(template {e.template}, Message-ID {e.message_id}, caused by {e.cause_event_id})"
    )
    return ThreadLine("email_sent", body, searchable=False)


def _email_failed(row: TicketRow, e: EmailFailed, at: datetime) -> ThreadLine:
    kind = "permanently" if e.permanent else "temporarily"
    body = (
        f"E-mail to {e.role} {e.recipient} failed {kind}: {e.error} "
        f"(template {e.template}, caused by {e.cause_event_id})"
    )
    return ThreadLine("email_failed", body, searchable=False)


def _auto_reply(row: TicketRow, e: AutoReplyReceived, at: datetime) -> ThreadLine:
    what = "Bounce" if e.kind == "bounce" else "Automatic reply"
    body = f"{what} from {e.from_address}: {e.subject!r} ({e.reason})"
    return ThreadLine("auto_reply", body, searchable=False)


STEPS: dict[str, Step[Any]] = {
    event_type(TicketRouted): _routed,
    event_type(TicketAssigned): _assigned,
    event_type(TicketUnassigned): _unassigned,
    event_type(TicketTransferred): _transferred,
    event_type(AgentReplied): _agent_replied,
    event_type(InternalNoteAdded): _note_added,
    event_type(RequesterReplied): _requester_replied,
    event_type(TicketCategorized): _categorized,
    event_type(TagsChanged): _tags_changed,
    event_type(PriorityChanged): _priority_changed,
    event_type(TicketPendingOnRequester): _pending,
    event_type(TicketResolved): _resolved,
    event_type(ResolutionConfirmed): _confirmed,
    event_type(TicketReopened): _reopened,
    event_type(TicketClosed): _closed,
    event_type(SlaBreached): _sla_breached,
    event_type(FeedbackSubmitted): _feedback,
    event_type(EmailSent): _email_sent,
    event_type(EmailFailed): _email_failed,
    event_type(AutoReplyReceived): _auto_reply,
}
PROJECTED: frozenset[str] = frozenset({event_type(TicketCreated), *STEPS})


def _created(recorded: RecordedEvent) -> Applied:
    envelope = recorded.envelope
    e = envelope.data
    assert isinstance(e, TicketCreated)
    row = TicketRow(
        ticket_id=e.ticket_id,
        version=envelope.ticket_version,
        position=recorded.position,
        status="open",
        channel=e.channel,
        subject=e.subject,
        help_topic=e.help_topic,
        requester_name=e.requester.name,
        requester_email=e.requester.email,
        priority=e.priority,
        created_at=envelope.time,
        updated_at=envelope.time,
        searchable=[e.subject, e.message],
    )
    return Applied(row, ThreadLine("message", e.message, public=True))


def apply(row: TicketRow | None, recorded: RecordedEvent) -> Outcome:
    """What ``recorded`` does to its ticket's ``row`` (None when there is none yet).

    ``row`` is changed in place when the event applies.
    """
    envelope = recorded.envelope
    version = envelope.ticket_version
    if isinstance(envelope.data, TicketCreated):
        if row is not None:
            return Duplicate()
        return _created(recorded) if version == 1 else Gap(None, 1)
    if row is None:
        return Gap(None, 1)
    if version <= row.version:
        return Duplicate()
    if version != row.version + 1:
        row.stale = True
        return Gap(row, row.version + 1)
    line = STEPS[envelope.type](row, envelope.data, envelope.time)
    row.version, row.position, row.updated_at = version, recorded.position, envelope.time
    if line.searchable:
        row.searchable.append(line.body)
    return Applied(row, line)
