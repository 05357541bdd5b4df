"""The links notify puts in e-mails open the right page on intake (both in process, real NATS)."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from ticketstream.directory import directory_from_env
from ticketstream.eventstore import Batch
from ticketstream.intake.main import build_app
from ticketstream.intake.settings import IntakeSettings
from ticketstream.notify.compose import Templates
from ticketstream.notify.service import Notifier
from ticketstream.notify.smtp import InMemorySender
from ticketstream.signing import Signer

pytestmark = pytest.mark.integration

KEY = "cross-service-secret-key-0123456789abcdef"


async def test_the_acknowledgement_link_opens_the_requesters_page(nats_url: str) -> None:
    app = build_app(IntakeSettings(nats_url=nats_url, secret_key=KEY))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as intake:
            opened = (
                await intake.post(
                    "/api/v1/tickets",
                    json={
                        "name": "Dana",
                        "email": "dana@example.com",
                        "subject": "Unable to access e-mail",
                        "message": "Locked out.",
                        "help_topic": "email-support",
                    },
                )
            ).json()
            store = app.state.store
            sender = InMemorySender()
            notifier = Notifier(
                store,
                directory_from_env({}),
                Signer.from_secret(KEY),
                Templates(),
                sender,
                clock=lambda: datetime.now(UTC),
            )
            stream = await store.load(opened["ticket_id"])
            await notifier.handle(Batch(list(stream.events), stream.position))
            [ack] = sender.messages
            parsed = email.message_from_bytes(ack.as_bytes(), policy=email.policy.default)
            text = parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
            link = re.search(r"Follow your ticket: (\S+)", text).group(1)  # type: ignore[union-attr]
            page = await intake.get(urlsplit(link)._replace(scheme="", netloc="").geturl())
            assert page.status_code == 200
            assert opened["ticket_id"] in page.text
            assert opened["link"] == link
