"""``GET /api/v1/tickets/{id}/attachments/{sha256}``: a file, for an agent or the requester."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from ticketstream.events import Actor, AttachmentRef, Envelope
from ticketstream.eventstore import AttachmentStore, EventStore
from ticketstream.servicekit import ApiError

from .actors import TicketIdPath, attachments_of, store_of, ticket_actor
from .portal.downloads import attachment_response
from .portal.thread import requester_ticket

router = APIRouter(prefix="/api/v1/tickets/{ticket_id}", tags=["attachments"])

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The file's SHA-256")]


def _on_ticket(envelopes: list[Envelope], sha256: str) -> AttachmentRef | None:
    """Any attachment of the ticket, internal notes' included (what an agent may see)."""
    for envelope in envelopes:
        refs: tuple[AttachmentRef, ...] = getattr(envelope.data, "attachments", ())
        for ref in refs:
            if ref.sha256 == sha256:
                return ref
    return None


@router.get("/attachments/{sha256}", response_class=Response)
async def download(
    ticket_id: TicketIdPath,
    sha256: Sha256,
    actor: Annotated[Actor, Depends(ticket_actor)],
    store: Annotated[EventStore, Depends(store_of)],
    files: Annotated[AttachmentStore, Depends(attachments_of)],
) -> Response:
    """The file: any of the ticket's for an agent; its public thread's for the requester."""
    envelopes = [recorded.envelope for recorded in (await store.load(ticket_id)).events]
    if actor.kind == "agent":
        ref = _on_ticket(envelopes, sha256)
    else:
        ticket = requester_ticket(envelopes)
        ref = ticket.attachment(sha256) if ticket else None
    if ref is None:
        raise ApiError(404, "attachment_not_found", f"ticket {ticket_id} has no such attachment")
    return attachment_response(ref, await files.get(ref))
