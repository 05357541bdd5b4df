"""Reaching a ticket through its secret link, for the portal's pages and forms."""

from __future__ import annotations

import re

from ticketstream.events import Actor
from ticketstream.eventstore import EventStore
from ticketstream.servicekit import ApiError
from ticketstream.signing import Signer

from ..actors import requester_of
from .thread import RequesterTicket, requester_ticket

_TICKET_NUMBER = re.compile(r"[0-9A-Z]{4,32}")


async def requester(ticket_id: str, secret: str | None, store: EventStore, signer: Signer) -> Actor:
    """The requester of ``ticket_id`` when ``secret`` opens it (403 otherwise, 404: no ticket)."""
    if not _TICKET_NUMBER.fullmatch(ticket_id):
        raise _no_ticket(ticket_id)
    return await requester_of(ticket_id, secret or "", store, signer)


async def load_ticket(
    ticket_id: str, secret: str | None, store: EventStore, signer: Signer
) -> RequesterTicket:
    """The requester's view of ``ticket_id``, for the holder of its secret only."""
    await requester(ticket_id, secret, store, signer)
    stream = await store.load(ticket_id)
    ticket = requester_ticket([recorded.envelope for recorded in stream.events])
    if ticket is None:
        raise _no_ticket(ticket_id)
    return ticket


def _no_ticket(ticket_id: str) -> ApiError:
    return ApiError(404, "ticket_not_found", f"There is no ticket {ticket_id}.")
