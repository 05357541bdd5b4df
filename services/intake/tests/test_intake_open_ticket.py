"""POST /api/v1/tickets on a real NATS server: the ticket lands, bad input never does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from ticketstream.events import TicketCreated
from ticketstream.eventstore import JetStreamEventStore
from ticketstream.intake.main import build_app
from ticketstream.intake.settings import IntakeSettings

pytestmark = pytest.mark.integration

VALID: dict[str, Any] = {
    "name": "Dana Whitfield",
    "email": "dana@example.com",
    "subject": "Unable to access e-mail",
    "message": "I cannot log in to my mailbox since this morning.",
    "help_topic": "email-support",
}


@pytest.fixture
async def client(nats_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(IntakeSettings(nats_url=nats_url, log_format="json"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


def nats_of(client: httpx.AsyncClient) -> NatsClient:
    nc: NatsClient = client.app.state.nc  # type: ignore[attr-defined]
    return nc


async def stream_messages(client: httpx.AsyncClient) -> int:
    info = await nats_of(client).jetstream().stream_info("TICKETS")
    return int(info.state.messages)


async def test_opening_a_ticket_appends_ticket_created(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/tickets",
        json={**VALID, "priority": "high"},
        headers={"X-Correlation-Id": "corr-123"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"] == 1
    assert body["position"] > 0
    assert body["correlation_id"] == "corr-123"
    assert response.headers["X-Correlation-Id"] == "corr-123"

    stream = await JetStreamEventStore(nats_of(client)).load(body["ticket_id"])
    [recorded] = stream.events
    assert recorded.position == body["position"]
    envelope = recorded.envelope
    assert isinstance(envelope.data, TicketCreated)
    assert envelope.data.subject == VALID["subject"]
    assert envelope.data.channel == "api"
    assert envelope.data.priority == "high"
    assert envelope.correlation_id == "corr-123"
    assert (envelope.actor_type, envelope.actor_id) == ("requester", "dana@example.com")
    assert envelope.source == "ticketstream/intake"


async def test_every_ticket_gets_its_own_number(client: httpx.AsyncClient) -> None:
    numbers = set()
    for _ in range(20):
        response = await client.post("/api/v1/tickets", json=VALID)
        assert response.status_code == 201
        numbers.add(response.json()["ticket_id"])
    assert len(numbers) == 20


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"email": None}, "email", "missing"),
        ({"email": "not-an-address"}, "email", "value_error"),
        ({"email": "dana@@example.com"}, "email", "value_error"),
        ({"name": "   "}, "name", "string_too_short"),
        ({"subject": ""}, "subject", "string_too_short"),
        ({"subject": "x" * 256}, "subject", "string_too_long"),
        ({"message": None}, "message", "missing"),
        ({"help_topic": "Email Support!"}, "help_topic", "string_pattern_mismatch"),
        ({"priority": "critical"}, "priority", "literal_error"),
        ({"ticket_id": "ABCD1234"}, "ticket_id", "extra_forbidden"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, change: dict[str, Any], field: str, rule: str
) -> None:
    before = await stream_messages(client)
    body = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    response = await client.post("/api/v1/tickets", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert {"field": field, "rule": rule} in [
        {"field": d["field"], "rule": d["rule"]} for d in error["details"]
    ]
    assert field in error["message"]
    assert await stream_messages(client) == before


async def test_malformed_json_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/tickets", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


async def test_a_body_that_is_not_json_is_a_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/tickets", content=b"name=Dana", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


async def test_a_huge_body_is_a_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/tickets", json={**VALID, "message": "x" * 2_000_000})
    assert response.status_code == 413


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"nats": True}
    assert (await client.get("/openapi.json")).json()["paths"]["/api/v1/tickets"]["post"]
