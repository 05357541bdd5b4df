"""intake's HTTP commands (DESIGN.md §5): thin routes that validate and call one function."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ticketstream.events import Priority, Requester
from ticketstream.eventstore import ConcurrencyConflict, EventStore
from ticketstream.servicekit import ApiError, correlation_id

from .opening import open_ticket

router = APIRouter(prefix="/api/v1")


def _deliverable_address(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


_Trimmed = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class OpenTicketRequest(BaseModel):
    """The "Open a New Ticket" form, as JSON."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[_Trimmed, StringConstraints(max_length=128)] = Field(
        description="The requester's name", examples=["Dana Whitfield"]
    )
    email: Annotated[str, StringConstraints(max_length=254), AfterValidator(_deliverable_address)]
    subject: Annotated[_Trimmed, StringConstraints(max_length=255)] = Field(
        examples=["Unable to access e-mail"]
    )
    message: Annotated[_Trimmed, StringConstraints(max_length=100_000)]
    help_topic: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = Field(
        examples=["email-support"]
    )
    priority: Priority | None = None


class TicketOpened(BaseModel):
    """Where the new ticket is: its number, version and stream position."""

    ticket_id: str
    version: int
    position: int = Field(description="Stream position; pass it as min_position to queries")
    correlation_id: str


def store_of(request: Request) -> EventStore:
    store: EventStore = request.app.state.store
    return store


@router.post("/tickets", status_code=201, response_model=TicketOpened)
async def open_a_ticket(
    body: OpenTicketRequest, store: Annotated[EventStore, Depends(store_of)]
) -> TicketOpened:
    """Open a ticket for a requester (the JSON API behind the portal's form)."""
    cid = correlation_id()
    try:
        result = await open_ticket(
            store,
            requester=Requester(name=body.name, email=body.email),
            subject=body.subject,
            message=body.message,
            help_topic=body.help_topic,
            priority=body.priority,
            channel="api",
            correlation_id=cid,
            clock=lambda: datetime.now(UTC),
        )
    except ConcurrencyConflict as conflict:
        raise ApiError(409, "conflict", str(conflict)) from conflict
    return TicketOpened(
        ticket_id=result.ticket_id,
        version=result.version,
        position=result.position,
        correlation_id=cid,
    )
