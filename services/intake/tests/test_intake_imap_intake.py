"""intake with its IMAP poller on: real Dovecot, real NATS, tickets opened once across restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from ticketstream.embedded.dovecot import EmbeddedDovecot, start_dovecot
from ticketstream.eventstore import JetStreamEventStore
from ticketstream.intake.inbound import ticket_id_for
from ticketstream.intake.main import build_app
from ticketstream.intake.settings import IntakeSettings

from .conftest import SECRET_KEY

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dovecot(server_dir: Callable[[str], Path]) -> Iterator[EmbeddedDovecot]:
    with start_dovecot(server_dir("dovecot"), password="imap-intake-pw") as server:
        yield server


def mail(n: int) -> tuple[str, bytes]:
    message = EmailMessage()
    message["From"] = f"Requester {n} <requester{n}@example.com>"
    message["To"] = "support@example.com"
    message["Subject"] = f"Printer {n} is on fire"
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    message.set_content(f"Printer {n} smells of smoke.")
    return str(message["Message-ID"]), bytes(message)


def settings(nats_url: str, dovecot: EmbeddedDovecot) -> IntakeSettings:
    return IntakeSettings(
        nats_url=nats_url,
        secret_key=SECRET_KEY,
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_user=dovecot.user,
        imap_password=dovecot.password,
        imap_tls="none",
        imap_interval_seconds=0.2,
    )


async def run_intake_until(nats_url: str, dovecot: EmbeddedDovecot, ticket_ids: list[str]) -> None:
    app = build_app(settings(nats_url, dovecot))
    async with app.router.lifespan_context(app):
        store = JetStreamEventStore(app.state.nc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            loaded = [await store.load(t) for t in ticket_ids]
            if all(s.version >= 1 for s in loaded):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # a few more polls: nothing may be taken twice


async def test_mail_in_the_mailbox_opens_tickets_once_across_restarts(
    nats_url: str, dovecot: EmbeddedDovecot
) -> None:
    messages = [mail(n) for n in range(3)]
    conn = dovecot.connect()
    for _, raw in messages:
        conn.append("INBOX", None, None, raw)
    conn.logout()
    ticket_ids = [ticket_id_for(message_id) for message_id, _ in messages]

    await run_intake_until(nats_url, dovecot, ticket_ids)
    await run_intake_until(nats_url, dovecot, ticket_ids)  # a restart

    app = build_app(settings(nats_url, dovecot))
    async with app.router.lifespan_context(app):
        store = JetStreamEventStore(app.state.nc)
        for ticket_id, (message_id, _) in zip(ticket_ids, messages, strict=True):
            stream = await store.load(ticket_id)
            assert stream.version == 1, ticket_id
            assert stream.events[0].envelope.data.email_message_id == message_id  # type: ignore[union-attr]
    conn = dovecot.connect()
    conn.select("INBOX")
    _, found = conn.uid("SEARCH", "UNKEYWORD", "$Ticketstream")
    conn.logout()
    assert found == [b""]
