"""POST /api/v1/tickets on a real NATS server: the ticket lands, bad input never does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from ticketstream.events import TicketCreated
from ticketstream.eventstore import AttachmentStore, JetStreamEventStore
from ticketstream.eventstore.attachments import BUCKET
from ticketstream.signing import Signer

from .conftest import SECRET_KEY, TICKET

pytestmark = pytest.mark.integration

VALID = TICKET


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
    assert Signer.from_secret(SECRET_KEY).verify_requester_secret(body["ticket_id"], body["secret"])
    assert body["link"] == (
        f"http://127.0.0.1:8001/tickets/{body['ticket_id']}?secret={body['secret']}"
    )


async def test_an_unknown_help_topic_is_a_422_listing_the_valid_ones(
    client: httpx.AsyncClient,
) -> None:
    before = await stream_messages(client)
    response = await client.post("/api/v1/tickets", json={**VALID, "help_topic": "plumbing"})
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "help_topic"
    assert detail["rule"] == "unknown_help_topic"
    assert "email-support" in detail["message"]
    assert await stream_messages(client) == before


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
    too_big = "x" * (27 * 1024 * 1024)  # intake takes up to 26 MiB (attachments)
    response = await client.post("/api/v1/tickets", json={**VALID, "message": too_big})
    assert response.status_code == 413


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"nats": True}
    assert (await client.get("/openapi.json")).json()["paths"]["/api/v1/tickets"]["post"]


async def test_a_form_with_attachments_stores_them_once_and_references_them(
    client: httpx.AsyncClient,
) -> None:
    log = b"2026-12-04 login failed for dana\n" * 1000
    files = [
        ("attachments", ("mail.log", log, "text/plain")),
        ("attachments", ("screen.png", b"\x89PNG fake", "image/png")),
    ]
    response = await client.post("/api/v1/tickets", data=VALID, files=files)
    assert response.status_code == 201, response.text
    stream = await JetStreamEventStore(nats_of(client)).load(response.json()["ticket_id"])
    created = stream.events[0].envelope.data
    assert isinstance(created, TicketCreated)
    assert created.channel == "api"
    assert [(a.filename, a.content_type, a.size) for a in created.attachments] == [
        ("mail.log", "text/plain", len(log)),
        ("screen.png", "image/png", 9),
    ]
    attachments = AttachmentStore(await nats_of(client).jetstream().object_store(BUCKET))
    assert await attachments.get(created.attachments[0]) == log


async def test_a_form_field_error_is_the_same_422_as_in_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/tickets", data={**VALID, "email": "nope"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "email"


async def test_attachment_limits_are_4xx_naming_the_limit(client: httpx.AsyncClient) -> None:
    before = await stream_messages(client)
    many = [("attachments", (f"f{n}.txt", b"x", "text/plain")) for n in range(11)]
    response = await client.post("/api/v1/tickets", data=VALID, files=many)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["rule"] == "too_many"
    big = [("attachments", ("big.bin", b"x" * (10 * 1024 * 1024 + 1), "application/zip"))]
    response = await client.post("/api/v1/tickets", data=VALID, files=big)
    assert response.status_code == 413
    assert response.json()["error"]["details"][0]["rule"] == "too_large"
    assert "TICKETSTREAM_ATTACHMENT_MAX_BYTES" in response.json()["error"]["message"]
    exe = [("attachments", ("setup.exe", b"MZ", "application/x-msdownload"))]
    response = await client.post("/api/v1/tickets", data=VALID, files=exe)
    assert response.status_code == 415
    assert response.json()["error"]["details"][0]["field"] == "attachments"
    assert "TICKETSTREAM_ATTACHMENT_TYPES" in response.json()["error"]["message"]
    assert await stream_messages(client) == before
