"""An intake app on a real NATS server, with the development directory and a fixed key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ticketstream.intake.main import build_app
from ticketstream.intake.settings import IntakeSettings

SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
ALEX = {"Authorization": "Bearer ts-dev-alex"}
SAM = {"Authorization": "Bearer ts-dev-sam"}

TICKET: dict[str, Any] = {
    "name": "Dana Whitfield",
    "email": "dana@example.com",
    "subject": "Unable to access e-mail",
    "message": "I cannot log in to my mailbox since this morning.",
    "help_topic": "email-support",
}


@pytest.fixture
async def client(nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = IntakeSettings(nats_url=nats_url, log_format="json", secret_key=SECRET_KEY)
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def open_ticket(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/tickets", json={**TICKET, **changes})
    assert response.status_code == 201, response.text
    opened: dict[str, Any] = response.json()
    return opened
