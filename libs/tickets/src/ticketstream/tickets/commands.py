"""Commands: what someone asks of a ticket, named in the imperative.

Every command names its ticket (``ticket_id``) and who asks (``actor``). A command checks
its own shape when it is built (a pydantic ``ValidationError`` at the edge: lengths,
ranges, an agent actor's id); whether the ticket accepts it is for ``decide`` to say.
"""

from __future__ import annotations

from typing import Annotated, Self, TypeAlias

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from ticketstream.events import (
    Actor,
    AgentId,
    AssignmentStrategy,
    AttachmentRef,
    AutoReplyKind,
    Channel,
    DepartmentId,
    EmailAddress,
    Label,
    Priority,
    RecipientRole,
    Requester,
    SlaTarget,
    Text,
    TicketId,
)

__all__ = [
    "COMMAND_CLASSES",
    "AddInternalNote",
    "AssignTicket",
    "Categorize",
    "ChangePriority",
    "ChangeTags",
    "Close",
    "Command",
    "ConfirmResolution",
    "MarkPending",
    "OpenTicket",
    "RecordAutoReply",
    "RecordEmailFailed",
    "RecordEmailSent",
    "RecordSlaBreach",
    "Reopen",
    "ReplyAsAgent",
    "ReplyAsRequester",
    "Resolve",
    "RouteTicket",
    "SubmitFeedback",
    "TicketCommand",
    "TransferTicket",
    "UnassignTicket",
]

_Subject = Annotated[str, StringConstraints(min_length=1, max_length=255)]
_MessageId = Annotated[str, StringConstraints(max_length=998)]
_EventId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
_HeaderText = Annotated[str, StringConstraints(min_length=1, max_length=998)]
_AGENT_ID: TypeAdapter[str] = TypeAdapter(AgentId)


class TicketCommand(BaseModel):
    """Fields of every command: the ticket it is for and who asks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ticket_id: TicketId
    actor: Actor

    @model_validator(mode="after")
    def _agent_actor_has_an_agent_id(self) -> Self:
        # Agent ids end up in events (agent_id fields), so they must have the contract's shape.
        if self.actor.kind == "agent":
            try:
                _AGENT_ID.validate_python(self.actor.id)
            except ValidationError:
                raise ValueError(
                    f"agent actor id {self.actor.id!r} is not a valid agent id "
                    "(lowercase letters, digits, '.', '_' or '-'; at most 64)"
                ) from None
        return self


class OpenTicket(TicketCommand):
    """Open a new ticket: a requester themself, an agent on their behalf, or intake (system)."""

    channel: Channel
    requester: Requester
    subject: _Subject
    message: Text
    help_topic: Label
    priority: Priority | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    email_message_id: _MessageId | None = None


class RouteTicket(TicketCommand):
    """Place the ticket in a department with its priority, SLA plan and due times."""

    department: DepartmentId
    priority: Priority
    sla_plan: Label | None = None
    first_response_due: AwareDatetime | None = None
    resolution_due: AwareDatetime | None = None
    category: Label | None = None


class AssignTicket(TicketCommand):
    """Give the ticket to an agent: by hand (``manual``, agents) or by a strategy (system)."""

    agent_id: AgentId
    strategy: AssignmentStrategy = "manual"


class UnassignTicket(TicketCommand):
    """Take the ticket away from its agent."""


class TransferTicket(TicketCommand):
    """Move the ticket to another department; its assignee is released."""

    to_department: DepartmentId
    reason: Text | None = None


class ReplyAsAgent(TicketCommand):
    """Answer the requester publicly (they get it by e-mail)."""

    body: Text
    attachments: tuple[AttachmentRef, ...] = ()


class AddInternalNote(TicketCommand):
    """Write a note only agents see; allowed in any status, closed included."""

    body: Text
    attachments: tuple[AttachmentRef, ...] = ()


class ReplyAsRequester(TicketCommand):
    """The requester writes on their ticket (portal, e-mail or API)."""

    channel: Channel
    body: Text
    attachments: tuple[AttachmentRef, ...] = ()
    email_message_id: _MessageId | None = None


class Categorize(TicketCommand):
    """Set or change the ticket's category."""

    category: Label


class ChangeTags(TicketCommand):
    """Add and remove tags in one step; a tag may not be in both sets."""

    add: frozenset[Label] = frozenset()
    remove: frozenset[Label] = frozenset()


class ChangePriority(TicketCommand):
    """Set the ticket's priority."""

    priority: Priority


class MarkPending(TicketCommand):
    """Wait on the requester (SLA clocks pause until they reply)."""

    reason: Text | None = None


class Resolve(TicketCommand):
    """Resolve the ticket with the resolution the requester is asked to confirm."""

    resolution: Text


class ConfirmResolution(TicketCommand):
    """The requester confirms the resolution; the ticket closes with it."""


class Reopen(TicketCommand):
    """Open a resolved ticket again (requester or agent) or a closed one (agent only)."""

    reason: Text | None = None


class Close(TicketCommand):
    """Close the ticket: an agent closes it by hand, the system auto-closes a resolved one.

    The close reason follows from the actor: ``agent`` for an agent, ``auto`` for the system.
    """


class RecordSlaBreach(TicketCommand):
    """Record that an SLA target passed unmet (routing's overdue check)."""

    target: SlaTarget
    due_at: AwareDatetime


class SubmitFeedback(TicketCommand):
    """The requester answers the satisfaction survey of their closed ticket, once."""

    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class RecordEmailSent(TicketCommand):
    """Record that notify delivered an e-mail caused by an event of this ticket."""

    cause_event_id: _EventId
    recipient: EmailAddress
    role: RecipientRole
    template: Label
    message_id: _HeaderText
    subject: _HeaderText


class RecordEmailFailed(TicketCommand):
    """Record that notify could not deliver an e-mail (``permanent``: it will not retry)."""

    cause_event_id: _EventId
    recipient: EmailAddress
    role: RecipientRole
    template: Label
    error: Annotated[str, StringConstraints(min_length=1, max_length=2_000)]
    permanent: bool


class RecordAutoReply(TicketCommand):
    """Record an automatic reply or a bounce that arrived for this ticket (intake).

    Allowed in any status and never acted on: it neither reopens nor resumes the ticket.
    """

    kind: AutoReplyKind
    from_address: EmailAddress
    subject: _HeaderText
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    email_message_id: _MessageId | None = None


Command: TypeAlias = (
    OpenTicket
    | RouteTicket
    | AssignTicket
    | UnassignTicket
    | TransferTicket
    | ReplyAsAgent
    | AddInternalNote
    | ReplyAsRequester
    | Categorize
    | ChangeTags
    | ChangePriority
    | MarkPending
    | Resolve
    | ConfirmResolution
    | Reopen
    | Close
    | RecordSlaBreach
    | SubmitFeedback
    | RecordEmailSent
    | RecordEmailFailed
    | RecordAutoReply
)
"""Every command ``decide`` accepts."""

COMMAND_CLASSES: tuple[type[TicketCommand], ...] = (
    OpenTicket,
    RouteTicket,
    AssignTicket,
    UnassignTicket,
    TransferTicket,
    ReplyAsAgent,
    AddInternalNote,
    ReplyAsRequester,
    Categorize,
    ChangeTags,
    ChangePriority,
    MarkPending,
    Resolve,
    ConfirmResolution,
    Reopen,
    Close,
    RecordSlaBreach,
    SubmitFeedback,
    RecordEmailSent,
    RecordEmailFailed,
    RecordAutoReply,
)
