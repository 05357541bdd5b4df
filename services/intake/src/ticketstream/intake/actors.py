"""Who is acting: an agent by bearer token, or a requester by their ticket's secret."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from ticketstream.directory import Agent, Directory
from ticketstream.events import Actor
from ticketstream.eventstore import AttachmentStore, EventStore
from ticketstream.servicekit import ApiError, bearer_token, unauthorized
from ticketstream.signing import Signer
from ticketstream.ticketing import load_state

SECRET_HEADER = "X-Ticket-Secret"
TicketIdPath = Annotated[str, Path(pattern=r"^[0-9A-Z]{4,32}$", description="Ticket number")]


# The accessors are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a
# worker thread, and four thread hops per request cost more than the rest of the handler.
async def directory_of(request: Request) -> Directory:
    directory: Directory = request.app.state.directory
    return directory


async def store_of(request: Request) -> EventStore:
    store: EventStore = request.app.state.store
    return store


async def attachments_of(request: Request) -> AttachmentStore:
    attachments: AttachmentStore = request.app.state.attachments
    return attachments


async def signer_of(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def _agent(directory: Directory, token: str) -> Agent:
    agent = directory.agent_by_token(token)
    if agent is None:
        raise unauthorized("unknown agent token")
    return agent


async def agent_actor(
    directory: Annotated[Directory, Depends(directory_of)],
    authorization: Annotated[str | None, Header()] = None,
) -> Actor:
    """The agent behind ``Authorization: Bearer <token>`` (401 without a valid one)."""
    token = bearer_token(authorization)
    if token is None:
        raise unauthorized("agent commands need 'Authorization: Bearer <token>'")
    return Actor(kind="agent", id=_agent(directory, token).id)


async def ticket_actor(
    ticket_id: TicketIdPath,
    directory: Annotated[Directory, Depends(directory_of)],
    store: Annotated[EventStore, Depends(store_of)],
    signer: Annotated[Signer, Depends(signer_of)],
    authorization: Annotated[str | None, Header()] = None,
    x_ticket_secret: Annotated[str | None, Header()] = None,
    secret: Annotated[str | None, Query(description="The requester's ticket secret")] = None,
) -> Actor:
    """An agent (bearer token) or the ticket's requester (its secret, header or query)."""
    token = bearer_token(authorization)
    if token is not None:
        return Actor(kind="agent", id=_agent(directory, token).id)
    given = x_ticket_secret or secret
    if not given:
        raise unauthorized(
            f"give an agent token (Authorization: Bearer) or the requester's secret "
            f"({SECRET_HEADER} header or ?secret=)"
        )
    return await requester_of(ticket_id, given, store, signer)


async def requester_of(ticket_id: str, secret: str, store: EventStore, signer: Signer) -> Actor:
    """The requester of ``ticket_id`` when ``secret`` is that ticket's secret (403 otherwise)."""
    if not signer.verify_requester_secret(ticket_id, secret):
        raise ApiError(403, "forbidden", f"this secret does not open ticket {ticket_id}")
    state = await load_state(store, ticket_id)
    if state is None:
        raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id}")
    return Actor(kind="requester", id=state.requester.email)
