"""notify's composing part: who gets which e-mail for each event, and each e-mail's message."""

from __future__ import annotations

import email
import email.policy
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from ticketstream.directory import (
    Directory,
    default_directory_path,
    directory_from_env,
    validate_directory,
)
from ticketstream.events import (
    Actor,
    AttachmentRef,
    EmailSent,
    Requester,
)
from ticketstream.events.envelope import Envelope, Metadata, wrap
from ticketstream.notify.compose import (
    TEMPLATES,
    Planned,
    Templates,
    build_message,
    emails_for,
)
from ticketstream.signing import Signer, ticket_from_subject
from ticketstream.tickets import (
    AddInternalNote,
    AssignTicket,
    Categorize,
    ChangePriority,
    Close,
    Command,
    ConfirmResolution,
    MarkPending,
    OpenTicket,
    RecordSlaBreach,
    Reopen,
    ReplyAsAgent,
    ReplyAsRequester,
    Resolve,
    RouteTicket,
    SubmitFeedback,
    TicketState,
    decide,
    fold,
)

pytestmark = pytest.mark.unit

T = "4K7Q2M9X"
T0 = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
DIRECTORY = directory_from_env({})
SIGNER = Signer(b"k" * 32)
TEMPLATES_ = Templates()
ANN = Requester(name="Ann Smith", email="ann@example.com")
REQUESTER = Actor(kind="requester", id=ANN.email)
ALEX = Actor(kind="agent", id="alex")
SAM = Actor(kind="agent", id="sam")
ROUTING = Actor(kind="system", id="ticketstream/routing")
SCREENSHOT = AttachmentRef(
    object_name="att-1",
    filename="screenshot.png",
    content_type="image/png",
    size=10,
    sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
)


@dataclass
class Sent:
    planned: Planned
    envelope: Envelope
    message: EmailMessage
    parsed: EmailMessage


@dataclass
class Desk:
    """A ticket driven through the rules, with notify composing after every event."""

    directory: Directory = DIRECTORY
    templates: Templates = TEMPLATES_
    state: TicketState | None = None
    envelopes: list[Envelope] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    threads: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def do(self, command: Command) -> list[Sent]:
        events = decide(self.state, command)
        meta = Metadata(source="test", actor=command.actor)
        time = T0 + timedelta(minutes=len(self.envelopes))
        envelopes = wrap(
            events,
            first_version=(self.state.version if self.state else 0) + 1,
            meta=meta,
            time=time,
        )
        return [item for envelope in envelopes for item in self.apply(envelope)]

    def apply(self, envelope: Envelope) -> list[Sent]:
        before = self.state
        after = fold([envelope.data], before)
        assert after is not None
        self.state = after
        self.envelopes.append(envelope)
        new = []
        for planned in emails_for(envelope, before, after, self.directory):
            message = build_message(
                planned,
                ticket=after,
                envelope=envelope,
                directory=self.directory,
                signer=SIGNER,
                templates=self.templates,
                thread_ids=list(self.threads[planned.recipient]),
            )
            self.threads[planned.recipient].append(str(message["Message-ID"]))
            parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            new.append(Sent(planned, envelope, message, parsed))
        self.sent += new
        return new

    def open(self, **changes: Any) -> list[Sent]:
        fields: dict[str, Any] = {
            "ticket_id": T,
            "actor": REQUESTER,
            "channel": "web",
            "requester": ANN,
            "subject": "Unable to access email",
            "message": "I cannot log in to my mailbox.",
            "help_topic": "email-support",
        }
        return self.do(OpenTicket(**(fields | changes)))

    def route(self) -> list[Sent]:
        return self.do(
            RouteTicket(
                ticket_id=T,
                actor=ROUTING,
                department="it-support",
                priority="medium",
                sla_plan="standard",
                first_response_due=T0 + timedelta(hours=8),
                resolution_due=T0 + timedelta(days=3),
            )
        )

    def assign(self, actor: Actor = ROUTING, agent: str = "alex") -> list[Sent]:
        strategy = "round_robin" if actor.kind == "system" else "manual"
        return self.do(AssignTicket(ticket_id=T, actor=actor, agent_id=agent, strategy=strategy))


def seed_scenario(desk: Desk) -> list[list[Sent]]:
    """osTicket's walk-through "User Unable to Access Email", event by event."""
    return [
        desk.open(),
        desk.route(),
        desk.assign(),
        desk.do(ReplyAsAgent(ticket_id=T, actor=ALEX, body="We have received your ticket.")),
        desk.do(Categorize(ticket_id=T, actor=ALEX, category="email")),
        desk.do(ChangePriority(ticket_id=T, actor=ALEX, priority="high")),
        desk.do(AddInternalNote(ticket_id=T, actor=ALEX, body="Account locked: 5 failed logins")),
        desk.do(MarkPending(ticket_id=T, actor=ALEX, reason="When did you last log in?")),
        desk.do(ReplyAsRequester(ticket_id=T, actor=REQUESTER, channel="email", body="Monday.")),
        desk.do(ReplyAsAgent(ticket_id=T, actor=ALEX, body="Identified the issue. Unlocking.")),
        desk.do(Resolve(ticket_id=T, actor=ALEX, resolution="Unlocked your account.")),
        desk.do(ConfirmResolution(ticket_id=T, actor=REQUESTER)),
        desk.do(SubmitFeedback(ticket_id=T, actor=REQUESTER, rating=5, comment="Quick!")),
    ]


def pairs(sent: list[Sent]) -> list[tuple[str, str]]:
    return [(s.planned.recipient, s.planned.template) for s in sent]


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def html_links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


def text_links(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def directory_with_alerts(**alerts: bool) -> Directory:
    data = yaml.safe_load(default_directory_path().read_text(encoding="utf-8"))
    for department in data["departments"]:
        department["alerts"] = alerts
    return validate_directory(data)


# ------------------------------------------------------------------------- who gets what


def test_the_seed_scenario_mails_exactly_the_expected_e_mails_in_order() -> None:
    desk = Desk()
    steps = seed_scenario(desk)

    ann, alex, sam = "ann@example.com", "alex@example.com", "sam@example.com"
    assert [pairs(step) for step in steps] == [
        [(ann, "acknowledgement")],
        [(alex, "new_ticket"), (sam, "new_ticket")],
        [(alex, "assigned")],
        [(ann, "agent_reply")],
        [],  # categorized
        [],  # priority changed
        [],  # internal note: never mailed
        [(ann, "pending")],
        [(alex, "requester_replied")],  # the requester's own reply: nothing to them
        [(ann, "agent_reply")],
        [(ann, "resolved")],
        [(ann, "closed")],  # confirmed + closed: the survey
        [],  # feedback
    ]
    assert {s.planned.role for s in desk.sent if s.planned.recipient == ann} == {"requester"}
    assert {s.planned.role for s in desk.sent if s.planned.recipient != ann} == {"agent"}
    # Every e-mail names the event that caused it.
    for s in desk.sent:
        assert s.planned.cause_event_id == s.envelope.id
        assert s.parsed["X-Ticketstream-Event"] == s.envelope.id


def test_notes_and_e_mail_bookkeeping_are_never_mailed() -> None:
    desk = Desk()
    desk.open()
    desk.route()
    desk.assign()
    assert desk.do(AddInternalNote(ticket_id=T, actor=ALEX, body="secret note")) == []
    first = desk.envelopes[0]
    bookkeeping = EmailSent(
        ticket_id=T,
        cause_event_id=first.id,
        recipient=ANN.email,
        role="requester",
        template="acknowledgement",
        message_id="<x@example.com>",
        subject="[#4K7Q2M9X] Unable to access email",
    )
    envelope = wrap(
        [bookkeeping],
        first_version=desk.state.version + 1 if desk.state else 1,
        meta=Metadata(source="test", actor=Actor(kind="system", id="ticketstream/notify")),
        time=T0,
    )[0]
    assert desk.apply(envelope) == []
    assert all("secret note" not in s.message.as_string() for s in desk.sent)


def test_a_requester_reply_mails_the_requester_nothing_and_alerts_the_assignee() -> None:
    desk = Desk()
    desk.open()
    desk.route()
    desk.assign()
    sent = desk.do(ReplyAsRequester(ticket_id=T, actor=REQUESTER, channel="email", body="More"))
    assert pairs(sent) == [("alex@example.com", "requester_replied")]


def test_a_reply_to_a_resolution_reopens_and_acknowledges_the_reopening() -> None:
    desk = Desk()
    desk.open()
    desk.route()
    desk.assign()
    desk.do(Resolve(ticket_id=T, actor=ALEX, resolution="Done."))
    sent = desk.do(ReplyAsRequester(ticket_id=T, actor=REQUESTER, channel="email", body="No!"))
    assert pairs(sent) == [
        ("alex@example.com", "requester_replied"),
        ("ann@example.com", "reopened"),
    ]
    text, _ = parts(sent[1].parsed)
    assert "open again, as you asked" in text


def test_reopened_by_an_agent_tells_the_requester_who() -> None:
    desk = Desk()
    desk.open()
    desk.route()
    desk.assign()
    desk.do(Resolve(ticket_id=T, actor=ALEX, resolution="Done."))
    desk.do(Close(ticket_id=T, actor=ALEX))
    sent = desk.do(Reopen(ticket_id=T, actor=SAM, reason="Still broken per phone call"))
    assert pairs(sent) == [("ann@example.com", "reopened")]
    text, html = parts(sent[0].parsed)
    assert "Sam Rivera reopened your ticket" in text
    assert "Still broken per phone call" in html


def test_closing_by_an_agent_and_auto_close_send_the_survey() -> None:
    for closer, phrase in ((ALEX, "is now closed"), (ROUTING, "have not heard back")):
        desk = Desk()
        desk.open()
        desk.route()
        desk.assign()
        desk.do(Resolve(ticket_id=T, actor=ALEX, resolution="Done."))
        sent = desk.do(Close(ticket_id=T, actor=closer))
        assert pairs(sent) == [("ann@example.com", "closed")]
        text, _ = parts(sent[0].parsed)
        assert phrase in text
        assert "How did we do?" in text


def test_an_agent_who_assigns_themself_gets_no_alert() -> None:
    desk = Desk()
    desk.open()
    desk.route()
    assert desk.assign(actor=SAM, agent="sam") == []
    assert pairs(desk.assign(actor=SAM, agent="alex")) == [("alex@example.com", "assigned")]


def test_an_agent_is_not_alerted_of_what_they_did_themself() -> None:
    desk = Desk()
    desk.open()
    # An agent routes by hand: the other members hear of it, the agent does not.
    sent = desk.do(RouteTicket(ticket_id=T, actor=ALEX, department="it-support", priority="medium"))
    assert pairs(sent) == [("sam@example.com", "new_ticket")]


def test_sla_breach_alerts_the_assignee_or_else_the_department() -> None:
    desk = Desk()
    desk.open()
    desk.route()
    breach = RecordSlaBreach(ticket_id=T, actor=ROUTING, target="first_response", due_at=T0)
    sent = desk.do(breach)
    assert pairs(sent) == [
        ("alex@example.com", "sla_breached"),
        ("sam@example.com", "sla_breached"),
    ]
    desk.assign(agent="sam")
    resolution = RecordSlaBreach(ticket_id=T, actor=ROUTING, target="resolution", due_at=T0)
    sent = desk.do(resolution)
    assert pairs(sent) == [("sam@example.com", "sla_breached")]
    text, _ = parts(sent[0].parsed)
    assert "resolution was due Fri 4 Dec 2026, 17:00 UTC" in text


def test_department_alert_flags_turn_agent_alerts_off() -> None:
    desk = Desk(
        directory=directory_with_alerts(
            new_ticket=False, assigned=False, requester_replied=False, sla_breached=False
        )
    )
    steps = seed_scenario(desk)
    assert {s.planned.role for step in steps for s in step} == {"requester"}
    assert len(desk.sent) == 6

    only_assigned = Desk(directory=directory_with_alerts(new_ticket=False, requester_replied=False))
    seed_scenario(only_assigned)
    assert [p for p in pairs(only_assigned.sent) if not p[0].startswith("ann")] == [
        ("alex@example.com", "assigned")
    ]


def test_a_ticket_not_routed_yet_alerts_no_agent() -> None:
    desk = Desk()
    desk.open()
    sent = desk.do(ReplyAsRequester(ticket_id=T, actor=REQUESTER, channel="web", body="Hello?"))
    assert sent == []


# --------------------------------------------------------------------------- the messages


def test_every_message_has_the_headers_and_parts_it_should() -> None:
    desk = Desk()
    seed_scenario(desk)
    domain = "example.com"
    ids = [s.parsed["Message-ID"] for s in desk.sent]
    assert len(set(ids)) == len(ids)  # distinct per (event, recipient)
    for s in desk.sent:
        m, p = s.parsed, s.planned
        assert m["From"].addresses[0].addr_spec == "support@example.com"
        assert m["From"].addresses[0].display_name == "Example Co"
        assert [a.addr_spec for a in m["To"].addresses] == [p.recipient]
        assert ticket_from_subject(m["Subject"]) == T
        assert m["Subject"].startswith(f"[#{T}]") or m["Subject"].startswith(f"Re: [#{T}]")
        assert m["Date"].datetime == s.envelope.time
        # Message-ID: stable per (event, recipient), valid syntax, signed for this ticket.
        message_id = m["Message-ID"]
        assert re.fullmatch(r"<[A-Za-z0-9.]+@[A-Za-z0-9.-]+>", message_id)
        assert message_id == SIGNER.message_id(T, s.envelope.id, p.recipient, domain)
        assert SIGNER.ticket_from_message_id(message_id) == T
        # Reply-To routes the reply back onto the ticket.
        reply_to = m["Reply-To"].addresses[0].addr_spec
        assert SIGNER.ticket_from_reply_address(reply_to) == T
        # Automatic e-mails say so (RFC 3834); an agent's reply is written by a person.
        if p.template == "agent_reply":
            assert m["Auto-Submitted"] is None
            assert m["X-Auto-Response-Suppress"] is None
        else:
            assert m["Auto-Submitted"] == "auto-generated"
            assert m["X-Auto-Response-Suppress"] == "All"
        # multipart/alternative: text first, then HTML.
        assert m.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in m.iter_parts()] == ["text/plain", "text/html"]
        text, html = parts(m)
        assert T in text
        assert T in html
        assert html.lstrip().startswith("<!DOCTYPE html>")


def test_message_ids_are_the_same_when_built_again_and_differ_per_recipient() -> None:
    desk = Desk()
    desk.open()
    sent = desk.route()
    again = [
        build_message(
            s.planned,
            ticket=desk.state or pytest.fail("no ticket"),
            envelope=s.envelope,
            directory=DIRECTORY,
            signer=SIGNER,
            templates=TEMPLATES_,
            thread_ids=[],
        )
        for s in sent
    ]
    assert [m["Message-ID"] for m in again] == [s.message["Message-ID"] for s in sent]
    assert sent[0].message["Message-ID"] != sent[1].message["Message-ID"]
    assert again[0].as_bytes() == sent[0].message.as_bytes()


def test_threading_headers_chain_each_recipients_e_mails() -> None:
    desk = Desk()
    seed_scenario(desk)
    by_recipient: dict[str, list[Sent]] = defaultdict(list)
    for s in desk.sent:
        by_recipient[s.planned.recipient].append(s)
    assert set(by_recipient) == {"ann@example.com", "alex@example.com", "sam@example.com"}
    for mails in by_recipient.values():
        first = mails[0].parsed
        assert first["In-Reply-To"] is None
        assert first["References"] is None
        assert not first["Subject"].startswith("Re:")
        for n, s in enumerate(mails[1:], start=1):
            earlier = [str(m.parsed["Message-ID"]) for m in mails[:n]]
            assert s.parsed["In-Reply-To"] == earlier[0]
            assert s.parsed["References"].split() == earlier
            assert s.parsed["Subject"].startswith(f"Re: [#{T}]")


def test_thread_ids_that_could_break_a_header_are_left_out() -> None:
    desk = Desk()
    sent = desk.open()[0]
    message = build_message(
        sent.planned,
        ticket=desk.state or pytest.fail("no ticket"),
        envelope=sent.envelope,
        directory=DIRECTORY,
        signer=SIGNER,
        templates=TEMPLATES_,
        thread_ids=["<ok@mail.example.com>", "<bad\r\nBcc: x@evil.example>", "no-brackets"],
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["References"] == "<ok@mail.example.com>"
    assert parsed["Bcc"] is None


def test_requester_links_open_their_ticket_and_agents_get_none() -> None:
    desk = Desk()
    seed_scenario(desk)
    secret = SIGNER.requester_secret(T)
    for s in desk.sent:
        text, html = parts(s.parsed)
        links = text_links(text) + html_links(html)
        if s.planned.role == "agent":
            assert links == []
            assert secret not in s.message.as_string()
            continue
        assert links, s.planned.template
        for link in links:
            url = urlsplit(link)
            assert f"{url.scheme}://{url.netloc}" == "http://127.0.0.1:8001"
            assert url.path in (f"/tickets/{T}", f"/tickets/{T}/feedback")
            (given,) = parse_qs(url.query)["secret"]
            assert SIGNER.verify_requester_secret(T, given)


def test_the_resolution_mail_links_confirm_and_reopen_to_the_ticket_page() -> None:
    desk = Desk()
    steps = seed_scenario(desk)
    (resolved,) = steps[10]
    assert resolved.planned.template == "resolved"
    text, html = parts(resolved.parsed)
    assert "Unlocked your account." in text
    assert "Unlocked your account." in html
    assert "Yes, it's solved: http://127.0.0.1:8001/tickets/" in text
    assert "No, reopen it: http://127.0.0.1:8001/tickets/" in text
    assert len({urlsplit(link).path for link in html_links(html)}) == 1


def test_the_closure_mail_carries_the_survey_with_ratings_one_to_five() -> None:
    desk = Desk()
    steps = seed_scenario(desk)
    (closed,) = steps[11]
    text, html = parts(closed.parsed)
    for links in (text_links(text), html_links(html)):
        survey = [urlsplit(link) for link in links if urlsplit(link).path.endswith("/feedback")]
        assert [url.path for url in survey] == [f"/tickets/{T}/feedback"] * 5
        assert [parse_qs(url.query)["rating"] for url in survey] == [
            ["1"],
            ["2"],
            ["3"],
            ["4"],
            ["5"],
        ]
        for url in survey:
            assert SIGNER.verify_requester_secret(T, parse_qs(url.query)["secret"][0])


def test_the_acknowledgement_gives_the_number_next_steps_and_expected_resolution() -> None:
    desk = Desk()
    (ack,) = desk.open()
    text, html = parts(ack.parsed)
    assert f"Your ticket number is #{T}." in text
    assert "What happens next" in text
    # Not routed yet: the SLA target of the help topic's plan and priority (standard, medium).
    assert "within 3 days" in text
    assert "within <strong>3 days</strong>" in html
    # Once the due time is known (the sender composes later), it is given exactly.
    routed = desk.route()
    assert desk.state is not None
    message = build_message(
        ack.planned,
        ticket=desk.state,
        envelope=ack.envelope,
        directory=DIRECTORY,
        signer=SIGNER,
        templates=TEMPLATES_,
        thread_ids=[],
    )
    text, _ = parts(message)
    assert "resolve it by Mon 7 Dec 2026, 17:00 UTC" in text
    assert routed  # the department heard of it


def test_an_agent_reply_shows_the_agent_the_text_and_attachments() -> None:
    desk = Desk()
    desk.open()
    desk.route()
    desk.assign()
    body = "Line one\nLine two & more"
    (reply,) = desk.do(ReplyAsAgent(ticket_id=T, actor=ALEX, body=body, attachments=(SCREENSHOT,)))
    text, html = parts(reply.parsed)
    assert "Alex Morgan wrote:" in text
    assert body in text
    assert "screenshot.png" in text
    assert "Line one<br>\nLine two &amp; more" in html


def test_an_agent_opening_a_ticket_by_phone_still_acknowledges_it() -> None:
    desk = Desk()
    (ack,) = desk.open(actor=ALEX, channel="phone")
    assert ack.planned.template == "acknowledgement"
    text, _ = parts(ack.parsed)
    assert "Alex Morgan opened a ticket for you" in text


# ---------------------------------------------------------------------------- injection

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def test_injection_arrives_inert_in_html_and_unchanged_in_text() -> None:
    desk = Desk()
    name = f"Eve {SCRIPT}"
    subject = f"Help {SCRIPT} {IMG}"
    desk.open(
        requester=Requester(name=name, email="eve@example.com"),
        actor=Actor(kind="requester", id="eve@example.com"),
        subject=subject,
    )
    desk.route()
    desk.assign()
    body = f"Hi {IMG}\n{SCRIPT}"
    desk.do(ReplyAsAgent(ticket_id=T, actor=ALEX, body=body))
    desk.do(
        ReplyAsRequester(
            ticket_id=T,
            actor=Actor(kind="requester", id="eve@example.com"),
            channel="email",
            body=body,
        )
    )
    desk.do(MarkPending(ticket_id=T, actor=ALEX, reason=body))
    desk.do(Resolve(ticket_id=T, actor=ALEX, resolution=body))
    assert {s.planned.template for s in desk.sent} >= {
        "acknowledgement",
        "new_ticket",
        "assigned",
        "agent_reply",
        "requester_replied",
        "pending",
        "resolved",
    }
    for s in desk.sent:
        text, html = parts(s.parsed)
        assert "<script" not in html.lower()
        assert "<img" not in html.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert SCRIPT in text  # the text part is plain: as written
        assert html_links(html) == [] or all(
            urlsplit(link).scheme == "http" for link in html_links(html)
        )
    by_template = {s.planned.template: s for s in desk.sent}
    for template in ("agent_reply", "requester_replied", "pending", "resolved"):
        text, html = parts(by_template[template].parsed)
        assert body in text
        assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    # The subject header carries the subject as written (a header is not HTML).
    assert SCRIPT in by_template["acknowledgement"].parsed["Subject"]


def test_header_injection_in_a_name_or_subject_stays_in_its_header() -> None:
    desk = Desk()
    (ack,) = desk.open(
        requester=Requester(name="Eve\r\nBcc: victim@example.net", email="eve@example.com"),
        actor=Actor(kind="requester", id="eve@example.com"),
        subject="Hi\r\nBcc: victim@example.net",
    )
    assert ack.parsed["Bcc"] is None
    assert [a.addr_spec for a in ack.parsed["To"].addresses] == ["eve@example.com"]
    assert "\n" not in ack.parsed["Subject"]


# ---------------------------------------------------------------------------- templates


def test_every_kind_has_both_parts_packaged() -> None:
    package = Path(__file__).parents[1] / "src/ticketstream/notify/templates"
    for kind in TEMPLATES:
        assert (package / f"{kind}.txt.j2").is_file()
        assert (package / f"{kind}.html.j2").is_file()


def test_an_operator_override_replaces_one_template(tmp_path: Path) -> None:
    (tmp_path / "acknowledgement.txt.j2").write_text(
        "Custom thanks, {{ ticket.requester.name }}: #{{ ticket.ticket_id }}\n", encoding="utf-8"
    )
    desk = Desk(templates=Templates(override_dir=tmp_path))
    (ack,) = desk.open()
    text, html = parts(ack.parsed)
    assert text == f"Custom thanks, Ann Smith: #{T}\n"
    assert "What happens next" in html  # the HTML part stays packaged
    desk.route()
    (assigned,) = desk.assign()
    assert "has been assigned to you" in parts(assigned.parsed)[0]


def test_an_override_folder_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        Templates(override_dir=tmp_path / "missing")
