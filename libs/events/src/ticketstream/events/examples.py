"""One example envelope per event type: the life of ticket ``4K7Q2M9X``, version by version.

The examples are fixed (ids, times), so documents generated from them are deterministic.
They appear in the AsyncAPI document, and tests use them as valid samples of every type.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .catalog import (
    Actor,
    AgentReplied,
    AttachmentRef,
    AutoReplyReceived,
    EmailFailed,
    EmailSent,
    FeedbackSubmitted,
    InternalNoteAdded,
    PriorityChanged,
    Requester,
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
from .envelope import Envelope

__all__ = ["EXAMPLES", "EXAMPLE_TICKET_ID", "example_of"]

EXAMPLE_TICKET_ID = "4K7Q2M9X"
_T0 = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
_ID = EXAMPLE_TICKET_ID
_REQUESTER = Actor(kind="requester", id="ann@example.com")
_AGENT = Actor(kind="agent", id="bob")
_ROUTING = Actor(kind="system", id="ticketstream/routing")
_NOTIFY = Actor(kind="system", id="ticketstream/notify")
_INTAKE = Actor(kind="system", id="ticketstream/intake")
_SCREENSHOT = AttachmentRef(
    object_name="att-0c5e2f6a",
    filename="screenshot.png",
    content_type="image/png",
    size=48_213,
    sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
)

_EVENTS: tuple[tuple[Actor, TicketEvent], ...] = (
    (
        _REQUESTER,
        TicketCreated(
            ticket_id=_ID,
            channel="email",
            requester=Requester(name="Ann Smith", email="ann@example.com"),
            subject="Printer on floor 3 is offline",
            message="It shows 'offline' since this morning.",
            help_topic="hardware",
            priority="high",
            attachments=(_SCREENSHOT,),
            email_message_id="<CAF1234@mail.example.com>",
        ),
    ),
    (
        _ROUTING,
        TicketRouted(
            ticket_id=_ID,
            department="it-support",
            priority="high",
            sla_plan="standard",
            first_response_due=_T0 + timedelta(hours=4),
            resolution_due=_T0 + timedelta(days=2),
        ),
    ),
    (_ROUTING, TicketAssigned(ticket_id=_ID, agent_id="carol", strategy="round_robin")),
    (_AGENT, TicketUnassigned(ticket_id=_ID, previous_agent_id="carol")),
    (
        _AGENT,
        TicketTransferred(
            ticket_id=_ID,
            from_department="it-support",
            to_department="facilities",
            reason="Printers belong to facilities.",
        ),
    ),
    (_AGENT, AgentReplied(ticket_id=_ID, agent_id="bob", body="Is the power light on?")),
    (_AGENT, InternalNoteAdded(ticket_id=_ID, agent_id="bob", body="Probably the network port.")),
    (
        _REQUESTER,
        RequesterReplied(
            ticket_id=_ID,
            channel="email",
            body="Yes, the light is on.",
            email_message_id="<CAF5678@mail.example.com>",
        ),
    ),
    (_AGENT, TicketCategorized(ticket_id=_ID, category="printing")),
    (_AGENT, TagsChanged(ticket_id=_ID, added=("floor-3",), tags=("floor-3",))),
    (_AGENT, PriorityChanged(ticket_id=_ID, priority="medium", previous_priority="high")),
    (_AGENT, TicketPendingOnRequester(ticket_id=_ID, reason="Waiting for the asset tag.")),
    (_AGENT, TicketResolved(ticket_id=_ID, agent_id="bob", resolution="Replaced the cable.")),
    (_REQUESTER, ResolutionConfirmed(ticket_id=_ID)),
    (_REQUESTER, TicketReopened(ticket_id=_ID, reason="Offline again.")),
    (_AGENT, TicketClosed(ticket_id=_ID, reason="agent")),
    (
        _ROUTING,
        SlaBreached(ticket_id=_ID, target="resolution", due_at=_T0 + timedelta(days=2)),
    ),
    (_REQUESTER, FeedbackSubmitted(ticket_id=_ID, rating=4, comment="Quick, thanks.")),
    (
        _NOTIFY,
        EmailSent(
            ticket_id=_ID,
            cause_event_id="00000000-0000-4000-8000-000000000006",
            recipient="ann@example.com",
            role="requester",
            template="agent_replied",
            message_id="<ts-4K7Q2M9X-6@ticketstream.io>",
            subject="[#4K7Q2M9X] Printer on floor 3 is offline",
        ),
    ),
    (
        _NOTIFY,
        EmailFailed(
            ticket_id=_ID,
            cause_event_id="00000000-0000-4000-8000-000000000006",
            recipient="ann@example.com",
            role="requester",
            template="agent_replied",
            error="550 5.1.1 mailbox unavailable",
            permanent=True,
        ),
    ),
    (
        _INTAKE,
        AutoReplyReceived(
            ticket_id=_ID,
            kind="auto_reply",
            from_address="ann@example.com",
            subject="Out of office: [#4K7Q2M9X] Printer on floor 3 is offline",
            reason="Auto-Submitted: auto-replied",
            email_message_id="<CAF9012@mail.example.com>",
        ),
    ),
)


def _envelope(version: int, actor: Actor, event: TicketEvent) -> Envelope:
    return Envelope.model_validate(
        {
            "id": f"00000000-0000-4000-8000-{version:012d}",
            "source": actor.id if actor.kind == "system" else "ticketstream/intake",
            "type": event_type(type(event)),
            "subject": event.ticket_id,
            "time": _T0 + timedelta(minutes=version),
            "ticketversion": version,
            "correlationid": "7d1c1d52-5b0e-4d8e-9a3f-2f7d9f1c0b11",
            "causationid": None if version == 1 else f"00000000-0000-4000-8000-{version - 1:012d}",
            "actortype": actor.kind,
            "actorid": actor.id,
            "data": event,
        }
    )


EXAMPLES: tuple[Envelope, ...] = tuple(
    _envelope(version, actor, event) for version, (actor, event) in enumerate(_EVENTS, start=1)
)
"""One valid envelope per event type, in the order of ``EVENT_CLASSES``."""


def example_of(event_class: type[TicketEvent]) -> Envelope:
    """The example envelope whose data is an ``event_class`` event."""
    for envelope in EXAMPLES:
        if type(envelope.data) is event_class:
            return envelope
    raise LookupError(f"no example for {event_class.__name__}")
