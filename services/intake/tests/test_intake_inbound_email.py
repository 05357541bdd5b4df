"""POST /api/v1/inbound/email on a real NATS server: open, thread, dedupe, never loop."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx
import pytest

from ticketstream.events import AgentReplied, AutoReplyReceived, RequesterReplied, TicketCreated
from ticketstream.eventstore import JetStreamEventStore
from ticketstream.intake.main import build_app
from ticketstream.intake.settings import IntakeSettings
from ticketstream.signing import Signer

from .conftest import ALEX, SECRET_KEY

pytestmark = pytest.mark.integration

SIGNER = Signer.from_secret(SECRET_KEY)
SUPPORT = "support@example.com"


def email(
    body: str = "My mailbox says my account is locked.",
    *,
    sender: str = "Dana Whitfield <dana@example.com>",
    to: str = SUPPORT,
    subject: str = "Unable to access e-mail",
    headers: dict[str, str] | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if attachment:
        message.add_attachment(
            attachment[1], maintype="application", subtype="pdf", filename=attachment[0]
        )
    return bytes(message)


async def deliver(client: httpx.AsyncClient, raw: bytes, **headers: str) -> httpx.Response:
    return await client.post(
        "/api/v1/inbound/email",
        content=raw,
        headers={"Content-Type": "message/rfc822", **headers},
    )


async def events(client: httpx.AsyncClient, ticket_id: str) -> list[Any]:
    store = JetStreamEventStore(client.app.state.nc)  # type: ignore[attr-defined]
    return [e.envelope.data for e in (await store.load(ticket_id)).events]


async def opened_by_email(client: httpx.AsyncClient) -> tuple[str, bytes]:
    raw = email()
    response = await deliver(client, raw)
    assert response.status_code == 202, response.text
    assert response.json()["outcome"] == "created"
    return response.json()["ticket_id"], raw


async def test_an_email_opens_a_ticket(client: httpx.AsyncClient) -> None:
    ticket_id, _ = await opened_by_email(client)
    [created] = await events(client, ticket_id)
    assert isinstance(created, TicketCreated)
    assert created.channel == "email"
    assert (created.requester.name, created.requester.email) == (
        "Dana Whitfield",
        "dana@example.com",
    )
    assert created.subject == "Unable to access e-mail"
    assert created.message == "My mailbox says my account is locked."
    assert created.help_topic == "general-inquiry"
    assert created.email_message_id is not None


async def test_the_same_email_twice_opens_one_ticket(client: httpx.AsyncClient) -> None:
    ticket_id, raw = await opened_by_email(client)
    again = await deliver(client, raw)
    assert again.status_code == 202
    assert (again.json()["outcome"], again.json()["ticket_id"]) == ("duplicate", ticket_id)
    assert len(await events(client, ticket_id)) == 1


def reply_to(ticket_id: str, body: str, **kwargs: Any) -> bytes:
    quoted = f"{body}\n\nOn Fri, 4 Dec 2026 at 10:00, Support <{SUPPORT}> wrote:\n> We are on it.\n"
    return email(quoted, subject=f"Re: [#{ticket_id}] Unable to access e-mail", **kwargs)


async def test_a_reply_to_the_signed_reply_address_threads(client: httpx.AsyncClient) -> None:
    ticket_id, _ = await opened_by_email(client)
    raw = reply_to(
        ticket_id, "It happens on my phone.", to=SIGNER.reply_address(ticket_id, SUPPORT)
    )
    response = await deliver(client, raw)
    assert (response.json()["outcome"], response.json()["ticket_id"]) == ("appended", ticket_id)
    reply = (await events(client, ticket_id))[-1]
    assert isinstance(reply, RequesterReplied)
    assert reply.body == "It happens on my phone."
    assert reply.channel == "email"
    again = await deliver(client, raw)
    assert again.json()["outcome"] == "duplicate"
    assert len(await events(client, ticket_id)) == 2


async def test_a_reply_to_a_message_we_sent_threads(client: httpx.AsyncClient) -> None:
    ticket_id, _ = await opened_by_email(client)
    sent = SIGNER.message_id(ticket_id, "event-1", "dana@example.com", "example.com")
    raw = reply_to(ticket_id, "Thanks!", headers={"In-Reply-To": sent, "References": sent})
    response = await deliver(client, raw)
    assert (response.json()["outcome"], response.json()["ticket_id"]) == ("appended", ticket_id)


async def test_a_subject_tag_threads_only_for_the_requester(client: httpx.AsyncClient) -> None:
    ticket_id, _ = await opened_by_email(client)
    mine = await deliver(client, reply_to(ticket_id, "Any news?"))
    assert (mine.json()["outcome"], mine.json()["ticket_id"]) == ("appended", ticket_id)
    stranger = await deliver(client, reply_to(ticket_id, "Me too", sender="eve@example.com"))
    assert stranger.json()["outcome"] == "created"
    assert stranger.json()["ticket_id"] != ticket_id


async def test_a_forged_reply_address_does_not_thread(client: httpx.AsyncClient) -> None:
    ticket_id, _ = await opened_by_email(client)
    forged = f"support+{ticket_id}.aaaaaaaaaa@example.com"
    response = await deliver(client, email("hello", sender="eve@example.com", to=forged))
    assert response.json()["outcome"] == "created"
    assert response.json()["ticket_id"] != ticket_id


async def test_an_agent_replying_by_email_posts_an_agent_reply(client: httpx.AsyncClient) -> None:
    ticket_id, _ = await opened_by_email(client)
    raw = reply_to(
        ticket_id,
        "Unlocked your account.",
        sender="Alex Rivera <alex@example.com>",
        to=SIGNER.reply_address(ticket_id, SUPPORT),
    )
    response = await deliver(client, raw)
    assert response.json()["outcome"] == "appended"
    reply = (await events(client, ticket_id))[-1]
    assert isinstance(reply, AgentReplied)
    assert (reply.agent_id, reply.body) == ("alex", "Unlocked your account.")


async def test_a_reply_to_a_resolved_ticket_reopens_it(client: httpx.AsyncClient) -> None:
    ticket_id, _ = await opened_by_email(client)
    resolve = {"status": "resolved", "resolution": "Unlocked."}
    assert (
        await client.post(f"/api/v1/tickets/{ticket_id}/status", json=resolve, headers=ALEX)
    ).status_code == 200
    await deliver(client, reply_to(ticket_id, "Still locked!"))
    kinds = [type(e).__name__ for e in await events(client, ticket_id)]
    assert kinds[-2:] == ["RequesterReplied", "TicketReopened"]


async def test_a_reply_to_a_closed_ticket_opens_a_new_one(client: httpx.AsyncClient) -> None:
    ticket_id, _ = await opened_by_email(client)
    closing = {"status": "closed"}
    await client.post(f"/api/v1/tickets/{ticket_id}/status", json=closing, headers=ALEX)
    response = await deliver(client, reply_to(ticket_id, "It broke again."))
    assert response.json()["outcome"] == "created"
    assert response.json()["ticket_id"] != ticket_id


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "dana@example.com", "auto_submitted"),
        ({"X-Autoreply": "yes"}, "dana@example.com", "auto_submitted"),
        ({"Precedence": "bulk"}, "news@example.com", "auto_submitted"),
    ],
)
async def test_automatic_mail_is_ignored(
    client: httpx.AsyncClient, headers: dict[str, str], sender: str, reason: str
) -> None:
    response = await deliver(client, email("I am out of office.", sender=sender, headers=headers))
    assert response.status_code == 202
    assert (response.json()["outcome"], response.json()["reason"]) == ("ignored", reason)
    assert response.json()["ticket_id"] is None


async def test_an_automatic_reply_to_a_ticket_is_recorded_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    ticket_id, _ = await opened_by_email(client)
    resolve = {"status": "resolved", "resolution": "Unlocked."}
    await client.post(f"/api/v1/tickets/{ticket_id}/status", json=resolve, headers=ALEX)
    raw = email(
        "I am out of office until Monday.",
        to=SIGNER.reply_address(ticket_id, SUPPORT),
        subject="Automatic reply: [#{ticket_id}] Unable to access e-mail",
        headers={"Auto-Submitted": "auto-replied"},
    )
    response = await deliver(client, raw)
    assert (response.json()["outcome"], response.json()["ticket_id"]) == ("recorded", ticket_id)
    recorded = (await events(client, ticket_id))[-1]
    assert isinstance(recorded, AutoReplyReceived)
    assert (recorded.kind, recorded.from_address) == ("auto_reply", "dana@example.com")
    assert "Auto-Submitted" in recorded.reason
    assert [type(e).__name__ for e in await events(client, ticket_id)][-2] == "TicketResolved"
    assert (await deliver(client, raw)).json()["outcome"] == "duplicate"


async def test_an_attachment_is_stored_and_referenced(client: httpx.AsyncClient) -> None:
    raw = email(attachment=("invoice.pdf", b"%PDF-1.4 invoice"))
    response = await deliver(client, raw)
    [created] = await events(client, response.json()["ticket_id"])
    assert [(a.filename, a.size) for a in created.attachments] == [("invoice.pdf", 16)]


async def test_what_is_not_an_email_is_a_422_and_a_wrong_type_a_415(
    client: httpx.AsyncClient,
) -> None:
    garbage = await deliver(client, b"\x00\x01 definitely not mail")
    assert (garbage.status_code, garbage.json()["error"]["code"]) == (422, "invalid_email")
    wrong = await client.post(
        "/api/v1/inbound/email", content=email(), headers={"Content-Type": "text/plain"}
    )
    assert wrong.status_code == 415


async def test_an_inbound_token_is_required_when_configured(nats_url: str) -> None:
    settings = IntakeSettings(
        nats_url=nats_url, secret_key=SECRET_KEY, inbound_token="inbound-token-0123456789"
    )
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            refused = await deliver(client, email())
            assert refused.status_code == 401
            accepted = await deliver(
                client, email(), Authorization="Bearer inbound-token-0123456789"
            )
            assert accepted.status_code == 202
