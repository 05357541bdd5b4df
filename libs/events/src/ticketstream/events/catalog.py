"""The ticket event catalog: every event a ticket can have, as frozen pydantic models.

Each model's ``type`` is also its CloudEvents ``type``. A published type is never edited:
a change gets a new model with a new ``.vN`` type and an upcaster from the old one
(see :mod:`ticketstream.events.upcasting`).
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "EVENT_CLASSES",
    "EVENT_TYPES",
    "PRIORITIES",
    "TYPE_PREFIX",
    "Actor",
    "ActorKind",
    "AgentId",
    "AgentReplied",
    "AnyTicketEvent",
    "AssignmentStrategy",
    "AttachmentRef",
    "AutoReplyKind",
    "AutoReplyReceived",
    "Channel",
    "CloseReason",
    "DepartmentId",
    "EmailAddress",
    "EmailFailed",
    "EmailSent",
    "FeedbackSubmitted",
    "InternalNoteAdded",
    "Label",
    "Priority",
    "PriorityChanged",
    "RecipientRole",
    "Requester",
    "RequesterReplied",
    "ResolutionConfirmed",
    "SlaBreached",
    "SlaTarget",
    "TagsChanged",
    "Text",
    "TicketAssigned",
    "TicketCategorized",
    "TicketClosed",
    "TicketCreated",
    "TicketEvent",
    "TicketId",
    "TicketPendingOnRequester",
    "TicketReopened",
    "TicketResolved",
    "TicketRouted",
    "TicketTransferred",
    "TicketUnassigned",
    "event_type",
]

TYPE_PREFIX = "io.ticketstream.ticket."

TicketId: TypeAlias = Annotated[
    str, StringConstraints(pattern=r"^[0-9A-Z]{4,32}$"), Field(description="Ticket number")
]
AgentId: TypeAlias = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
DepartmentId: TypeAlias = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
EmailAddress: TypeAlias = Annotated[
    str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)
]
Text: TypeAlias = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
Label: TypeAlias = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Priority: TypeAlias = Literal["low", "medium", "high", "urgent"]
Channel: TypeAlias = Literal["web", "email", "api", "phone"]
CloseReason: TypeAlias = Literal["confirmed", "agent", "auto"]
SlaTarget: TypeAlias = Literal["first_response", "resolution"]
AssignmentStrategy: TypeAlias = Literal["manual", "round_robin", "least_open"]
RecipientRole: TypeAlias = Literal["requester", "agent"]
AutoReplyKind: TypeAlias = Literal["auto_reply", "bounce"]

PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high", "urgent")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Requester(_Model):
    """The person the ticket is for."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    email: EmailAddress


class AttachmentRef(_Model):
    """A file stored once in the JetStream object store and referenced by events."""

    object_name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    size: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class TicketEvent(_Model):
    """Fields every ticket event carries in its payload."""

    ticket_id: TicketId


class TicketCreated(TicketEvent):
    """A requester (or an agent on their behalf) opened a ticket."""

    type: Literal["io.ticketstream.ticket.created.v1"] = "io.ticketstream.ticket.created.v1"
    channel: Channel
    requester: Requester
    subject: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    message: Text
    help_topic: Label
    priority: Priority | None = Field(default=None, description="Priority the requester asked for")
    attachments: tuple[AttachmentRef, ...] = ()
    email_message_id: str | None = Field(
        default=None, max_length=998, description="Message-ID of the e-mail that opened it"
    )


class TicketRouted(TicketEvent):
    """Routing placed the ticket in a department, with its priority and SLA due times."""

    type: Literal["io.ticketstream.ticket.routed.v1"] = "io.ticketstream.ticket.routed.v1"
    department: DepartmentId
    priority: Priority
    sla_plan: Label | None = None
    first_response_due: AwareDatetime | None = None
    resolution_due: AwareDatetime | None = None
    category: Label | None = None


class TicketAssigned(TicketEvent):
    """The ticket was given to an agent, by hand or by the department's strategy."""

    type: Literal["io.ticketstream.ticket.assigned.v1"] = "io.ticketstream.ticket.assigned.v1"
    agent_id: AgentId
    strategy: AssignmentStrategy = "manual"


class TicketUnassigned(TicketEvent):
    """The ticket no longer has an agent."""

    type: Literal["io.ticketstream.ticket.unassigned.v1"] = "io.ticketstream.ticket.unassigned.v1"
    previous_agent_id: AgentId


class TicketTransferred(TicketEvent):
    """The ticket moved to another department; its assignee, if any, is released."""

    type: Literal["io.ticketstream.ticket.transferred.v1"] = "io.ticketstream.ticket.transferred.v1"
    from_department: DepartmentId | None
    to_department: DepartmentId
    reason: Text | None = None


class AgentReplied(TicketEvent):
    """An agent answered the requester (public, e-mailed)."""

    type: Literal["io.ticketstream.ticket.agent_replied.v1"] = (
        "io.ticketstream.ticket.agent_replied.v1"
    )
    agent_id: AgentId
    body: Text
    attachments: tuple[AttachmentRef, ...] = ()


class InternalNoteAdded(TicketEvent):
    """An agent wrote a note that only agents see."""

    type: Literal["io.ticketstream.ticket.note_added.v1"] = "io.ticketstream.ticket.note_added.v1"
    agent_id: AgentId
    body: Text
    attachments: tuple[AttachmentRef, ...] = ()


class RequesterReplied(TicketEvent):
    """The requester wrote on their ticket; a ticket pending on them becomes open again."""

    type: Literal["io.ticketstream.ticket.requester_replied.v1"] = (
        "io.ticketstream.ticket.requester_replied.v1"
    )
    channel: Channel
    body: Text
    attachments: tuple[AttachmentRef, ...] = ()
    email_message_id: str | None = Field(default=None, max_length=998)


class TicketCategorized(TicketEvent):
    """The ticket's category was set or changed."""

    type: Literal["io.ticketstream.ticket.categorized.v1"] = "io.ticketstream.ticket.categorized.v1"
    category: Label
    previous_category: Label | None = None


class TagsChanged(TicketEvent):
    """Tags were added to or removed from the ticket; ``tags`` is the resulting set."""

    type: Literal["io.ticketstream.ticket.tags_changed.v1"] = (
        "io.ticketstream.ticket.tags_changed.v1"
    )
    added: tuple[Label, ...] = ()
    removed: tuple[Label, ...] = ()
    tags: tuple[Label, ...]


class PriorityChanged(TicketEvent):
    """An agent changed the ticket's priority."""

    type: Literal["io.ticketstream.ticket.priority_changed.v1"] = (
        "io.ticketstream.ticket.priority_changed.v1"
    )
    priority: Priority
    previous_priority: Priority | None = None


class TicketPendingOnRequester(TicketEvent):
    """The agent waits for the requester; SLA clocks pause until the requester replies."""

    type: Literal["io.ticketstream.ticket.pending.v1"] = "io.ticketstream.ticket.pending.v1"
    reason: Text | None = None


class TicketResolved(TicketEvent):
    """An agent resolved the ticket; the requester may confirm or reopen."""

    type: Literal["io.ticketstream.ticket.resolved.v1"] = "io.ticketstream.ticket.resolved.v1"
    agent_id: AgentId
    resolution: Text


class ResolutionConfirmed(TicketEvent):
    """The requester confirmed that the resolution solved their problem."""

    type: Literal["io.ticketstream.ticket.resolution_confirmed.v1"] = (
        "io.ticketstream.ticket.resolution_confirmed.v1"
    )


class TicketReopened(TicketEvent):
    """A resolved or closed ticket is open again."""

    type: Literal["io.ticketstream.ticket.reopened.v1"] = "io.ticketstream.ticket.reopened.v1"
    reason: Text | None = None


class TicketClosed(TicketEvent):
    """The ticket is closed: confirmed by the requester, closed by an agent, or auto-closed."""

    type: Literal["io.ticketstream.ticket.closed.v1"] = "io.ticketstream.ticket.closed.v1"
    reason: CloseReason


class SlaBreached(TicketEvent):
    """An SLA target passed unmet (raised once per target per ticket)."""

    type: Literal["io.ticketstream.ticket.sla_breached.v1"] = (
        "io.ticketstream.ticket.sla_breached.v1"
    )
    target: SlaTarget
    due_at: AwareDatetime


class FeedbackSubmitted(TicketEvent):
    """The requester answered the satisfaction survey of a closed ticket."""

    type: Literal["io.ticketstream.ticket.feedback_submitted.v1"] = (
        "io.ticketstream.ticket.feedback_submitted.v1"
    )
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class EmailSent(TicketEvent):
    """notify delivered an e-mail caused by another event of this ticket."""

    type: Literal["io.ticketstream.ticket.email_sent.v1"] = "io.ticketstream.ticket.email_sent.v1"
    cause_event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    recipient: EmailAddress
    role: RecipientRole
    template: Label
    message_id: Annotated[str, StringConstraints(min_length=1, max_length=998)]
    subject: Annotated[str, StringConstraints(min_length=1, max_length=998)]


class EmailFailed(TicketEvent):
    """notify could not deliver an e-mail; ``permanent`` failures are not retried."""

    type: Literal["io.ticketstream.ticket.email_failed.v1"] = (
        "io.ticketstream.ticket.email_failed.v1"
    )
    cause_event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    recipient: EmailAddress
    role: RecipientRole
    template: Label
    error: Annotated[str, StringConstraints(min_length=1, max_length=2_000)]
    permanent: bool


class AutoReplyReceived(TicketEvent):
    """An automatic reply or a bounce arrived for this ticket; it is recorded and never acted on
    (it neither reopens nor resumes the ticket)."""

    type: Literal["io.ticketstream.ticket.auto_reply_received.v1"] = (
        "io.ticketstream.ticket.auto_reply_received.v1"
    )
    kind: AutoReplyKind
    from_address: EmailAddress
    subject: Annotated[str, StringConstraints(min_length=1, max_length=998)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] = Field(
        description='What marked it automatic, e.g. "Auto-Submitted: auto-replied"'
    )
    email_message_id: str | None = Field(default=None, max_length=998)


AnyTicketEvent: TypeAlias = Annotated[
    TicketCreated
    | TicketRouted
    | TicketAssigned
    | TicketUnassigned
    | TicketTransferred
    | AgentReplied
    | InternalNoteAdded
    | RequesterReplied
    | TicketCategorized
    | TagsChanged
    | PriorityChanged
    | TicketPendingOnRequester
    | TicketResolved
    | ResolutionConfirmed
    | TicketReopened
    | TicketClosed
    | SlaBreached
    | FeedbackSubmitted
    | EmailSent
    | EmailFailed
    | AutoReplyReceived,
    Field(discriminator="type"),
]
"""The discriminated union of every current ticket event."""

EVENT_CLASSES: tuple[type[TicketEvent], ...] = (
    TicketCreated,
    TicketRouted,
    TicketAssigned,
    TicketUnassigned,
    TicketTransferred,
    AgentReplied,
    InternalNoteAdded,
    RequesterReplied,
    TicketCategorized,
    TagsChanged,
    PriorityChanged,
    TicketPendingOnRequester,
    TicketResolved,
    ResolutionConfirmed,
    TicketReopened,
    TicketClosed,
    SlaBreached,
    FeedbackSubmitted,
    EmailSent,
    EmailFailed,
    AutoReplyReceived,
)


def event_type(cls: type[TicketEvent]) -> str:
    """The CloudEvents type of an event class, e.g. ``io.ticketstream.ticket.created.v1``."""
    default = cls.model_fields["type"].default
    assert isinstance(default, str)
    return default


EVENT_TYPES: dict[str, type[TicketEvent]] = {event_type(c): c for c in EVENT_CLASSES}


ActorKind: TypeAlias = Literal["requester", "agent", "system"]


class Actor(_Model):
    """Who caused an event: a requester (by e-mail address), an agent (by id) or a service."""

    kind: ActorKind
    id: Annotated[str, StringConstraints(min_length=1, max_length=254)]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"
