"""The requester's view of a ticket, built from its events: what is shown, and what never is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketstream.events import (
    EVENT_TYPES,
    Actor,
    AgentReplied,
    AnyTicketEvent,
    AttachmentRef,
    Envelope,
    InternalNoteAdded,
    Metadata,
    Requester,
    RequesterReplied,
    TicketClosed,
    TicketCreated,
    TicketPendingOnRequester,
    TicketResolved,
    wrap,
)
from ticketstream.events.examples import EXAMPLE_TICKET_ID, EXAMPLES, example_of
from ticketstream.intake.portal.thread import (
    Message,
    StatusLine,
    public_thread,
    requester_ticket,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
PREFIX = "io.ticketstream.ticket."
SHOWN = {
    "created.v1",
    "agent_replied.v1",
    "requester_replied.v1",
    "pending.v1",
    "resolved.v1",
    "reopened.v1",
    "closed.v1",
    "feedback_submitted.v1",
}
REPORT = AttachmentRef(
    object_name="a" * 64, filename="report.pdf", content_type="application/pdf", size=10,
    sha256="a" * 64,
)  # fmt: skip
NOTE_FILE = REPORT.model_copy(update={"object_name": "b" * 64, "sha256": "b" * 64})


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def created(**changes: object) -> TicketCreated:
    fields: dict[str, object] = {
        "ticket_id": "T1000",
        "channel": "web",
        "requester": Requester(name="Dana Whitfield", email="dana@example.com"),
        "subject": "Unable to access e-mail",
        "message": "I cannot log in.",
        "help_topic": "email-support",
        **changes,
    }
    return TicketCreated.model_validate(fields)


def history(*events: AnyTicketEvent) -> list[Envelope]:
    meta = Metadata(source="test", actor=Actor(kind="requester", id="dana@example.com"))
    envelopes: list[Envelope] = []
    for n, event in enumerate(events):
        envelopes += wrap([event], first_version=n + 1, meta=meta, time=at(n))
    return envelopes


def test_the_public_thread_of_a_whole_life_in_order() -> None:
    screenshot = example_of(TicketCreated).data.attachments  # type: ignore[union-attr]
    assert public_thread(EXAMPLES) == [
        Message(
            "opening", "Ann Smith", "It shows 'offline' since this morning.", at(1), screenshot
        ),
        Message("agent", "Support", "Is the power light on?", at(6)),
        Message("requester", "Ann Smith", "Yes, the light is on.", at(8)),
        StatusLine("Waiting for your reply", at(12), "Waiting for the asset tag."),
        StatusLine("Resolved", at(13), "Replaced the cable."),
        StatusLine("Reopened", at(15), "Offline again."),
        StatusLine("Closed by support", at(16)),
        StatusLine("You rated the support 4 out of 5", at(18), "Quick, thanks."),
    ]


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_is_either_shown_or_deliberately_hidden(event_type: str) -> None:
    shown = bool(public_thread([example_of(EVENT_TYPES[event_type])]))
    assert shown == (event_type.removeprefix(PREFIX) in SHOWN), (
        f"{event_type}: decide whether requesters may see it, then update SHOWN"
    )


def test_internal_notes_and_their_attachments_never_show() -> None:
    note = InternalNoteAdded(
        ticket_id="T1000", agent_id="alex", body="fraud rule hit", attachments=(NOTE_FILE,)
    )
    ticket = requester_ticket(history(created(attachments=(REPORT,)), note))
    assert ticket is not None
    assert all("fraud" not in getattr(item, "body", "") for item in ticket.thread)
    assert len(ticket.thread) == 1
    assert ticket.attachment(REPORT.sha256) == REPORT
    assert ticket.attachment(NOTE_FILE.sha256) is None
    assert ticket.attachment("c" * 64) is None


def test_agents_are_named_support_and_the_requester_by_their_name() -> None:
    envelopes = history(
        created(),
        AgentReplied(ticket_id="T1000", agent_id="alex", body="Try again?"),
        RequesterReplied(ticket_id="T1000", channel="web", body="Still no luck."),
    )
    authors = [
        (item.kind, item.author) for item in public_thread(envelopes) if isinstance(item, Message)
    ]
    assert authors == [
        ("opening", "Dana Whitfield"),
        ("agent", "Support"),
        ("requester", "Dana Whitfield"),
    ]


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ("confirmed", "Closed: you confirmed the resolution"),
        ("agent", "Closed by support"),
        ("auto", "Closed automatically after the resolution was not answered"),
    ],
)
def test_a_closure_says_how_it_closed(reason: str, text: str) -> None:
    envelopes = history(
        created(),
        TicketResolved(ticket_id="T1000", agent_id="alex", resolution="Reset it."),
        TicketClosed.model_validate({"ticket_id": "T1000", "reason": reason}),
    )
    assert public_thread(envelopes)[-1] == StatusLine(text, at(2))


@pytest.mark.parametrize(
    ("events", "status", "label"),
    [
        ((), "open", "Open"),
        ((TicketPendingOnRequester(ticket_id="T1000"),), "pending", "Waiting for your reply"),
        (
            (TicketResolved(ticket_id="T1000", agent_id="alex", resolution="Done."),),
            "resolved",
            "Resolved — please confirm",
        ),
        ((TicketClosed(ticket_id="T1000", reason="agent"),), "closed", "Closed"),
    ],
)
def test_the_status_in_the_requesters_words(
    events: tuple[AnyTicketEvent, ...], status: str, label: str
) -> None:
    ticket = requester_ticket(history(created(), *events))
    assert ticket is not None
    assert (ticket.status, ticket.status_label) == (status, label)
    assert ticket.subject == "Unable to access e-mail"
    assert ticket.feedback_given is False


def test_the_requester_ticket_of_the_examples() -> None:
    ticket = requester_ticket(EXAMPLES)
    assert ticket is not None
    assert ticket.ticket_id == EXAMPLE_TICKET_ID
    assert ticket.status == "closed"
    assert ticket.feedback_given is True


def test_no_events_is_no_ticket() -> None:
    assert requester_ticket([]) is None
    assert public_thread([]) == []
