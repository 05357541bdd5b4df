"""Opening a ticket over HTTP (DESIGN.md §5): JSON, or multipart with attachments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ticketstream.directory import Directory
from ticketstream.events import Actor, Channel, Metadata, Requester
from ticketstream.eventstore import AttachmentStore, ConcurrencyConflict, EventStore
from ticketstream.servicekit import ApiError, correlation_id
from ticketstream.signing import Signer
from ticketstream.tickets import OpenTicket

from .actors import attachments_of, directory_of, signer_of, store_of
from .opening import SOURCE, open_ticket
from .ticket_form import OPENAPI_BODY, OpenTicketRequest, Upload, read_open_request
from .validation import known

router = APIRouter(prefix="/api/v1", tags=["tickets"])


class TicketOpened(BaseModel):
    """Where the new ticket is (number, version, stream position) and the requester's
    secret link, the only way a requester reaches their ticket."""

    ticket_id: str
    version: int
    position: int = Field(description="Stream position; pass it as min_position to queries")
    correlation_id: str
    secret: str = Field(description="The requester's ticket secret (X-Ticket-Secret)")
    link: str = Field(description="The requester's page for this ticket")


@router.post("/tickets", status_code=201, response_model=TicketOpened, openapi_extra=OPENAPI_BODY)
async def open_a_ticket(
    request: Request,
    store: Annotated[EventStore, Depends(store_of)],
    directory: Annotated[Directory, Depends(directory_of)],
    signer: Annotated[Signer, Depends(signer_of)],
    attachments: Annotated[AttachmentStore, Depends(attachments_of)],
) -> TicketOpened:
    """Open a ticket for a requester: JSON, or multipart/form-data with ``attachments``."""
    body, uploads = await read_open_request(request, request.app.state.attachment_limits)
    return await open_from_form(body, uploads, "api", store, directory, signer, attachments)


async def open_from_form(
    body: OpenTicketRequest,
    uploads: list[Upload],
    channel: Channel,
    store: EventStore,
    directory: Directory,
    signer: Signer,
    attachments: AttachmentStore,
) -> TicketOpened:
    """Check the form against the directory, store its files, open the ticket."""
    known("help_topic", body.help_topic, directory.help_topic_ids())
    if body.priority is not None:
        known("priority", body.priority, directory.priorities)
    refs = [await attachments.put(u.filename, u.content_type, u.data) for u in uploads]
    requester = Requester(name=body.name, email=body.email)
    actor = Actor(kind="requester", id=requester.email)

    def command_for(ticket_id: str) -> OpenTicket:
        return OpenTicket(
            ticket_id=ticket_id,
            actor=actor,
            channel=channel,
            requester=requester,
            subject=body.subject,
            message=body.message,
            help_topic=body.help_topic,
            priority=body.priority,
            attachments=tuple(refs),
        )

    cid = correlation_id()
    meta = Metadata(source=SOURCE, actor=actor, correlation_id=cid)
    try:
        result = await open_ticket(store, command_for, meta, clock=lambda: datetime.now(UTC))
    except ConcurrencyConflict as conflict:
        raise ApiError(409, "conflict", str(conflict)) from conflict
    secret = signer.requester_secret(result.ticket_id)
    return TicketOpened(
        ticket_id=result.ticket_id,
        version=result.version,
        position=result.position,
        correlation_id=cid,
        secret=secret,
        link=requester_link(directory, result.ticket_id, secret),
    )


def requester_link(directory: Directory, ticket_id: str, secret: str) -> str:
    """The requester's page for their ticket, with its secret."""
    return f"{directory.organization.public_url.rstrip('/')}/tickets/{ticket_id}?secret={secret}"
