"""Agent and requester commands on a ticket (DESIGN.md §5): validate, call one function."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from ticketstream.directory import Directory
from ticketstream.events import Actor, AgentId, DepartmentId, Label, Priority
from ticketstream.eventstore import EventStore
from ticketstream.tickets import (
    AddInternalNote,
    AssignTicket,
    Categorize,
    ChangePriority,
    ChangeTags,
    Close,
    Command,
    ConfirmResolution,
    MarkPending,
    Reopen,
    ReplyAsAgent,
    ReplyAsRequester,
    Resolve,
    SubmitFeedback,
    TransferTicket,
    UnassignTicket,
)

from .actors import TicketIdPath, agent_actor, directory_of, store_of, ticket_actor
from .outcomes import CommandAccepted, build, run
from .validation import known

router = APIRouter(prefix="/api/v1/tickets/{ticket_id}", tags=["ticket commands"])

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000)]
Store = Annotated[EventStore, Depends(store_of)]
Agent = Annotated[Actor, Depends(agent_actor)]
AgentOrRequester = Annotated[Actor, Depends(ticket_actor)]
Dir = Annotated[Directory, Depends(directory_of)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyBody(_Body):
    body: Text


class AssignmentBody(_Body):
    agent_id: AgentId | None = Field(description="The agent to assign; null unassigns")


class TransferBody(_Body):
    department: DepartmentId
    reason: Text | None = None


class PriorityBody(_Body):
    priority: Priority


class CategoryBody(_Body):
    category: Label


class TagsBody(_Body):
    add: list[Label] = Field(default_factory=list, max_length=50)
    remove: list[Label] = Field(default_factory=list, max_length=50)


class StatusBody(_Body):
    status: Literal["pending", "resolved", "closed"]
    resolution: Text | None = Field(
        default=None, validate_default=True, description="Required when resolving"
    )
    reason: Text | None = Field(default=None, description="Why the ticket waits (pending)")

    @field_validator("resolution")
    @classmethod
    def _resolution_when_resolved(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("status") == "resolved" and value is None:
            raise ValueError("a resolution is required when status is 'resolved'")
        return value


class ReopenBody(_Body):
    reason: Text | None = None


class FeedbackBody(_Body):
    rating: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)] | None = (
        None
    )


@router.post("/replies", response_model=CommandAccepted)
async def reply(
    ticket_id: TicketIdPath, body: ReplyBody, actor: AgentOrRequester, store: Store
) -> CommandAccepted:
    """A public reply: by an agent (e-mailed to the requester) or by the requester."""
    if actor.kind == "agent":
        command = build(ReplyAsAgent, ticket_id=ticket_id, actor=actor, body=body.body)
    else:
        command = build(
            ReplyAsRequester, ticket_id=ticket_id, actor=actor, channel="api", body=body.body
        )
    return await run(store, command, actor)


@router.post("/notes", response_model=CommandAccepted)
async def note(
    ticket_id: TicketIdPath, body: ReplyBody, actor: Agent, store: Store
) -> CommandAccepted:
    """An internal note: agents only, never shown or sent to the requester."""
    command = build(AddInternalNote, ticket_id=ticket_id, actor=actor, body=body.body)
    return await run(store, command, actor)


@router.post("/assignment", response_model=CommandAccepted)
async def assignment(
    ticket_id: TicketIdPath, body: AssignmentBody, actor: Agent, store: Store, directory: Dir
) -> CommandAccepted:
    """Assign the ticket to an agent by hand (wins over automation), or unassign it."""
    if body.agent_id is None:
        return await run(store, build(UnassignTicket, ticket_id=ticket_id, actor=actor), actor)
    known("agent_id", body.agent_id, (a.id for a in directory.agents))
    command = build(AssignTicket, ticket_id=ticket_id, actor=actor, agent_id=body.agent_id)
    return await run(store, command, actor)


@router.post("/transfer", response_model=CommandAccepted)
async def transfer(
    ticket_id: TicketIdPath, body: TransferBody, actor: Agent, store: Store, directory: Dir
) -> CommandAccepted:
    """Move the ticket to another department; its assignee is released."""
    known("department", body.department, directory.department_ids())
    command = build(
        TransferTicket,
        ticket_id=ticket_id,
        actor=actor,
        to_department=body.department,
        reason=body.reason,
    )
    return await run(store, command, actor)


@router.post("/priority", response_model=CommandAccepted)
async def priority(
    ticket_id: TicketIdPath, body: PriorityBody, actor: Agent, store: Store, directory: Dir
) -> CommandAccepted:
    """Set the ticket's priority."""
    known("priority", body.priority, directory.priorities)
    command = build(ChangePriority, ticket_id=ticket_id, actor=actor, priority=body.priority)
    return await run(store, command, actor)


@router.post("/category", response_model=CommandAccepted)
async def category(
    ticket_id: TicketIdPath, body: CategoryBody, actor: Agent, store: Store, directory: Dir
) -> CommandAccepted:
    """Categorize the ticket (software, hardware, network, e-mail ... from the directory)."""
    known("category", body.category, directory.category_ids())
    command = build(Categorize, ticket_id=ticket_id, actor=actor, category=body.category)
    return await run(store, command, actor)


@router.post("/tags", response_model=CommandAccepted)
async def tags(
    ticket_id: TicketIdPath, body: TagsBody, actor: Agent, store: Store
) -> CommandAccepted:
    """Add and remove tags."""
    command = build(
        ChangeTags,
        ticket_id=ticket_id,
        actor=actor,
        add=frozenset(body.add),
        remove=frozenset(body.remove),
    )
    return await run(store, command, actor)


@router.post("/status", response_model=CommandAccepted)
async def status(
    ticket_id: TicketIdPath, body: StatusBody, actor: Agent, store: Store
) -> CommandAccepted:
    """Pending on the requester, resolved (with the resolution), or closed."""
    command: Command
    if body.status == "pending":
        command = build(MarkPending, ticket_id=ticket_id, actor=actor, reason=body.reason)
    elif body.status == "resolved":
        command = build(Resolve, ticket_id=ticket_id, actor=actor, resolution=body.resolution)
    else:
        command = build(Close, ticket_id=ticket_id, actor=actor)
    return await run(store, command, actor)


@router.post("/reopen", response_model=CommandAccepted)
async def reopen(
    ticket_id: TicketIdPath,
    actor: AgentOrRequester,
    store: Store,
    body: Annotated[ReopenBody | None, Body()] = None,
) -> CommandAccepted:
    """Reopen: the requester a resolved ticket; an agent a resolved or closed one."""
    reason = body.reason if body else None
    return await run(store, build(Reopen, ticket_id=ticket_id, actor=actor, reason=reason), actor)


@router.post("/confirm", response_model=CommandAccepted)
async def confirm(
    ticket_id: TicketIdPath, actor: AgentOrRequester, store: Store
) -> CommandAccepted:
    """The requester confirms the resolution; the ticket closes."""
    return await run(store, build(ConfirmResolution, ticket_id=ticket_id, actor=actor), actor)


@router.post("/feedback", response_model=CommandAccepted)
async def feedback(
    ticket_id: TicketIdPath, body: FeedbackBody, actor: AgentOrRequester, store: Store
) -> CommandAccepted:
    """The requester's satisfaction survey, once, after closure."""
    command = build(
        SubmitFeedback, ticket_id=ticket_id, actor=actor, rating=body.rating, comment=body.comment
    )
    return await run(store, command, actor)
