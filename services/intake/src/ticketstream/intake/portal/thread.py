"""What a requester sees of their ticket: the public thread, built from its events.

A pure function of the ticket's envelopes, so it is tested without a server. Only events on
an explicit allowlist are shown: internal notes, e-mail bookkeeping, routing, assignment,
tags and SLA events never reach the requester, and an event type added later stays hidden
until someone decides it is public.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal, TypeAlias

from ticketstream.events import (
    AgentReplied,
    AttachmentRef,
    CloseReason,
    Envelope,
    FeedbackSubmitted,
    RequesterReplied,
    TicketClosed,
    TicketCreated,
    TicketPendingOnRequester,
    TicketReopened,
    TicketResolved,
)
from ticketstream.tickets import TicketStatus, fold

__all__ = [
    "STATUS_LABELS",
    "Message",
    "RequesterTicket",
    "StatusLine",
    "ThreadItem",
    "public_thread",
    "requester_ticket",
]

SUPPORT = "Support"
"""How an agent is named to the requester: the desk answers, not a person's id."""

STATUS_LABELS: dict[TicketStatus, str] = {
    "open": "Open",
    "pending": "Waiting for your reply",
    "resolved": "Resolved — please confirm",
    "closed": "Closed",
}

_CLOSED: dict[CloseReason, str] = {
    "confirmed": "Closed: you confirmed the resolution",
    "agent": "Closed by support",
    "auto": "Closed automatically after the resolution was not answered",
}


@dataclass(frozen=True, slots=True)
class Message:
    """Something someone wrote on the ticket: the opening message or a public reply."""

    kind: Literal["opening", "agent", "requester"]
    author: str
    body: str
    at: datetime
    attachments: tuple[AttachmentRef, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusLine:
    """A change of status, shown as a small line; ``detail`` is the reason or resolution."""

    kind: ClassVar[Literal["status"]] = "status"
    text: str
    at: datetime
    detail: str | None = None


ThreadItem: TypeAlias = Message | StatusLine


@dataclass(frozen=True, slots=True)
class RequesterTicket:
    """The requester's page of one ticket."""

    ticket_id: str
    subject: str
    status: TicketStatus
    feedback_given: bool
    thread: tuple[ThreadItem, ...]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def attachment(self, sha256: str) -> AttachmentRef | None:
        """The attachment with this digest if the public thread carries it."""
        for item in self.thread:
            if isinstance(item, Message):
                for ref in item.attachments:
                    if ref.sha256 == sha256:
                        return ref
        return None


def requester_ticket(envelopes: Sequence[Envelope]) -> RequesterTicket | None:
    """The requester's view of a ticket from all its envelopes (``None``: no ticket)."""
    state = fold([envelope.data for envelope in envelopes])
    if state is None:
        return None
    return RequesterTicket(
        ticket_id=state.ticket_id,
        subject=state.subject,
        status=state.status,
        feedback_given=state.feedback_rating is not None,
        thread=tuple(public_thread(envelopes)),
    )


def public_thread(envelopes: Sequence[Envelope]) -> list[ThreadItem]:
    """The events a requester may see, in order, as messages and status lines."""
    requester = "You"
    items: list[ThreadItem] = []
    for envelope in envelopes:
        event, at = envelope.data, envelope.time
        if isinstance(event, TicketCreated):
            requester = event.requester.name
            items.append(Message("opening", requester, event.message, at, event.attachments))
        elif isinstance(event, AgentReplied):
            items.append(Message("agent", SUPPORT, event.body, at, event.attachments))
        elif isinstance(event, RequesterReplied):
            items.append(Message("requester", requester, event.body, at, event.attachments))
        elif isinstance(event, TicketPendingOnRequester):
            items.append(StatusLine("Waiting for your reply", at, event.reason))
        elif isinstance(event, TicketResolved):
            items.append(StatusLine("Resolved", at, event.resolution))
        elif isinstance(event, TicketReopened):
            items.append(StatusLine("Reopened", at, event.reason))
        elif isinstance(event, TicketClosed):
            items.append(StatusLine(_CLOSED[event.reason], at))
        elif isinstance(event, FeedbackSubmitted):
            text = f"You rated the support {event.rating} out of 5"
            items.append(StatusLine(text, at, event.comment or None))
    return items
