"""notify on a real NATS server and a real SMTP server: every e-mail once, and on the record."""

from __future__ import annotations

import email
import email.policy
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest

from ticketstream.directory import directory_from_env
from ticketstream.events import Actor, EmailFailed, EmailSent, Metadata, Requester
from ticketstream.eventstore import (
    AppendResult,
    Batch,
    JetStreamEventStore,
    StreamSettings,
    ensure_stream,
)
from ticketstream.notify.compose import Templates
from ticketstream.notify.policy import SendPolicy
from ticketstream.notify.service import Notifier
from ticketstream.notify.sink import MailSink
from ticketstream.notify.smtp import DeliveryFailed, InMemorySender, SmtpSender, SmtpSettings
from ticketstream.signing import Signer
from ticketstream.ticketing import execute
from ticketstream.tickets import (
    AddInternalNote,
    AssignTicket,
    Command,
    ConfirmResolution,
    OpenTicket,
    ReplyAsAgent,
    ReplyAsRequester,
    Resolve,
    RouteTicket,
)

pytestmark = pytest.mark.integration

POLICY = email.policy.default
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SIGNER = Signer.from_secret("notify-test-secret-key-0123456789abcdef")
DANA = Requester(name="Dana Whitfield", email="dana@example.com")
AS_DANA = Actor(kind="requester", id=DANA.email)
ALEX = Actor(kind="agent", id="alex")
ROUTING = Actor(kind="system", id="routing")


@dataclass
class Setup:
    store: JetStreamEventStore
    notifier: Notifier
    batches: list[Batch]

    async def act(self, command: Command) -> AppendResult:
        meta = Metadata(source="tests", actor=command.actor)
        result = await execute(self.store, command, meta, clock=lambda: datetime.now(UTC))
        batch = Batch(list(result.events), result.position)
        self.batches.append(batch)
        await self.notifier.handle(batch)
        return result

    async def records(self, ticket_id: str) -> list[Any]:
        events = (await self.store.load(ticket_id)).events
        return [
            e.envelope.data for e in events if isinstance(e.envelope.data, EmailSent | EmailFailed)
        ]


async def make(nats_url: str, sender: Any) -> tuple[Setup, Any]:
    nc = await nats.connect(nats_url)
    await ensure_stream(nc, StreamSettings())
    store = JetStreamEventStore(nc)
    notifier = Notifier(
        store, directory_from_env({}), SIGNER, Templates(), sender, clock=lambda: datetime.now(UTC)
    )
    return Setup(store, notifier, []), nc


@pytest.fixture
def sink(tmp_path: Path) -> Any:
    with MailSink(tmp_path / "mail") as running:
        yield running


@pytest.fixture
async def smtp_setup(nats_url: str, sink: MailSink) -> AsyncIterator[Setup]:
    settings = SmtpSettings(host="127.0.0.1", port=sink.port, security="none")
    setup, nc = await make(nats_url, SmtpSender(settings))
    yield setup
    await nc.drain()


def new_ticket_id() -> str:
    return "N" + "".join(secrets.choice(ALPHABET) for _ in range(11))


async def seed_scenario(setup: Setup) -> str:
    """The seed's "User Unable to Access Email", as the services would append it."""
    t = new_ticket_id()
    now = datetime.now(UTC)
    for command in [
        OpenTicket(
            ticket_id=t,
            actor=AS_DANA,
            channel="web",
            requester=DANA,
            subject="Unable to Access Email",
            message="My account seems locked.",
            help_topic="email-support",
        ),
        RouteTicket(
            ticket_id=t,
            actor=ROUTING,
            department="it-support",
            priority="medium",
            sla_plan="standard",
            first_response_due=now + timedelta(hours=8),
            resolution_due=now + timedelta(days=3),
            category="email",
        ),
        AssignTicket(ticket_id=t, actor=ROUTING, agent_id="alex", strategy="round_robin"),
        ReplyAsAgent(ticket_id=t, actor=ALEX, body="We have received your ticket."),
        AddInternalNote(ticket_id=t, actor=ALEX, body="Account locked after failed logins."),
        ReplyAsRequester(ticket_id=t, actor=AS_DANA, channel="web", body="Thanks!"),
        Resolve(ticket_id=t, actor=ALEX, resolution="Unlocked the account."),
        ConfirmResolution(ticket_id=t, actor=AS_DANA),
    ]:
        await setup.act(command)
    return t


async def test_the_seed_scenario_sends_each_email_once_and_records_it(
    smtp_setup: Setup, sink: MailSink
) -> None:
    ticket_id = await seed_scenario(smtp_setup)
    records = await smtp_setup.records(ticket_id)
    sent = [(r.recipient, r.template) for r in records if isinstance(r, EmailSent)]
    assert sent == [
        ("dana@example.com", "acknowledgement"),
        ("alex@example.com", "new_ticket"),
        ("sam@example.com", "new_ticket"),
        ("alex@example.com", "assigned"),
        ("dana@example.com", "agent_reply"),
        ("alex@example.com", "requester_replied"),
        ("dana@example.com", "resolved"),
        ("dana@example.com", "closed"),
    ]
    files = sink.files()
    assert len(files) == len(sent)
    messages = [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files
    ]
    to_dana = [m for m in messages if m["To"].addresses[0].addr_spec == "dana@example.com"]
    assert all(f"[#{ticket_id}]" in m["Subject"] for m in messages)
    # Mail clients thread them: each later e-mail to Dana answers the first and lists all.
    for n, later in enumerate(to_dana[1:], start=1):
        assert later["In-Reply-To"] == to_dana[0]["Message-ID"]
        assert all(m["Message-ID"] in later["References"] for m in to_dana[:n])
    assert SIGNER.ticket_from_reply_address(str(to_dana[0]["Reply-To"])) == ticket_id
    assert {r.message_id for r in records} == {m["Message-ID"] for m in messages}

    # Redelivery of every batch (a restart, another replica): nothing is sent again.
    for batch in smtp_setup.batches:
        await smtp_setup.notifier.handle(batch)
    assert len(sink.files()) == len(sent)
    assert len(await smtp_setup.records(ticket_id)) == len(records)


async def test_a_transient_failure_is_retried_and_sends_once(nats_url: str) -> None:
    sender = InMemorySender()
    setup, nc = await make(nats_url, sender)
    try:
        sender.fail_next(DeliveryFailed("451 try later", permanent=False))
        with pytest.raises(DeliveryFailed):
            await seed_first(setup)
        assert sender.messages == []
        await setup.notifier.handle(setup.batches[0])  # the redelivery
        await setup.notifier.handle(setup.batches[0])
        assert [m["To"] for m in sender.messages] == ["Dana Whitfield <dana@example.com>"]
    finally:
        await nc.drain()


async def test_a_permanent_failure_is_recorded_and_not_retried(nats_url: str) -> None:
    sender = InMemorySender()
    setup, nc = await make(nats_url, sender)
    try:
        sender.fail_next(DeliveryFailed("550 no such user", permanent=True, code=550))
        ticket_id = await seed_first(setup)
        await setup.notifier.handle(setup.batches[0])
        [failed] = await setup.records(ticket_id)
        assert isinstance(failed, EmailFailed)
        assert (failed.permanent, failed.recipient) == (True, "dana@example.com")
        assert "550" in failed.error
        assert sender.messages == []
    finally:
        await nc.drain()


async def seed_first(setup: Setup) -> str:
    ticket_id = new_ticket_id()
    opening = OpenTicket(
        ticket_id=ticket_id,
        actor=AS_DANA,
        channel="web",
        requester=DANA,
        subject="Printer on fire",
        message="Smoke!",
        help_topic="hardware",
    )
    meta = Metadata(source="tests", actor=AS_DANA)
    result = await execute(setup.store, opening, meta, clock=lambda: datetime.now(UTC))
    batch = Batch(list(result.events), result.position)
    setup.batches.append(batch)
    await setup.notifier.handle(batch)
    return ticket_id


async def test_a_denied_address_gets_nothing_and_the_reason_is_recorded(nats_url: str) -> None:
    sender = InMemorySender()
    setup, nc = await make(nats_url, sender)
    setup.notifier._policy = SendPolicy(["dana@*"], 30, lambda: datetime.now(UTC))
    try:
        ticket_id = await seed_first(setup)
        [failed] = await setup.records(ticket_id)
        assert isinstance(failed, EmailFailed)
        assert "deny list" in failed.error
        assert sender.sent_to("dana@example.com") == []
    finally:
        await nc.drain()


def test_a_mail_loop_is_held_back_after_the_hourly_limit() -> None:
    now = [datetime(2026, 12, 4, 12, 0, tzinfo=UTC)]
    policy = SendPolicy([], 3, lambda: now[0])
    for _ in range(3):
        assert policy.refusal("dana@example.com", "requester") is None
        policy.sent("dana@example.com")
    assert "mail loop" in (policy.refusal("DANA@example.com", "requester") or "")
    assert policy.refusal("alex@example.com", "agent") is None  # agents are not limited
    now[0] += timedelta(hours=1, seconds=1)
    assert policy.refusal("dana@example.com", "requester") is None


def test_the_requesters_own_emails_are_part_of_their_thread() -> None:
    from datetime import UTC, datetime

    from ticketstream.events import (
        Actor,
        EmailSent,
        Metadata,
        Requester,
        RequesterReplied,
        TicketCreated,
        wrap,
    )
    from ticketstream.notify.service import _thread

    dana = Actor(kind="requester", id="dana@example.com")
    opened = TicketCreated(
        ticket_id="MAIL0001",
        channel="email",
        requester=Requester(name="Dana", email="Dana@Example.com"),
        subject="Locked out",
        message="Help",
        help_topic="email-support",
        email_message_id="<first@dana.example>",
    )
    ack = EmailSent(
        ticket_id="MAIL0001",
        cause_event_id="e1",
        recipient="dana@example.com",
        role="requester",
        template="acknowledgement",
        subject="[#MAIL0001] Locked out",
        message_id="<ack@desk.example>",
    )
    answer = RequesterReplied(
        ticket_id="MAIL0001", channel="email", body="Still", email_message_id="<2nd@dana.example>"
    )
    meta = Metadata(source="tests", actor=dana)
    history = wrap([opened, ack, answer], first_version=1, meta=meta, time=datetime.now(UTC))
    assert _thread(history, "dana@example.com") == [
        "<first@dana.example>",
        "<ack@desk.example>",
        "<2nd@dana.example>",
    ]
    assert _thread(history, "alex@example.com") == []
