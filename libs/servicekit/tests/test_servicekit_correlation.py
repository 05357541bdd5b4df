"""Correlation ids: generated, echoed, validated, visible to handlers."""

from __future__ import annotations

import uuid

import httpx
import pytest

from ticketstream.servicekit import (
    bind_correlation_id,
    correlation_id,
    current_correlation_id,
    is_valid_correlation_id,
    log_context,
)

pytestmark = pytest.mark.unit

HEADER = "X-Correlation-Id"
TICKETS = "/api/v1/departments/support/tickets"
VALID = {"requester": {"name": "Ada", "email": "ada@example.org"}, "subject": "Help"}


async def test_generated_when_absent(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    generated = response.headers[HEADER]
    assert uuid.UUID(generated).version == 4


async def test_each_request_gets_its_own(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")

    assert first.headers[HEADER] != second.headers[HEADER]


@pytest.mark.parametrize("cid", ["req-1", "a" * 128, "svc:intake.42_x-Y"])
async def test_valid_one_is_echoed_and_seen_by_the_handler(
    client: httpx.AsyncClient, cid: str
) -> None:
    response = await client.post(TICKETS, json=VALID, headers={HEADER: cid})

    assert response.headers[HEADER] == cid
    assert response.json()["cid"] == cid


@pytest.mark.parametrize("cid", ["a" * 129, "has space", "semi;colon", "quote'", ""])
async def test_invalid_one_is_replaced(client: httpx.AsyncClient, cid: str) -> None:
    response = await client.get("/healthz", headers={HEADER: cid})

    assert response.headers[HEADER] != cid
    assert uuid.UUID(response.headers[HEADER]).version == 4


async def test_echoed_on_errors_too(client: httpx.AsyncClient) -> None:
    not_found = await client.get("/nope", headers={HEADER: "cid-404"})
    failed = await client.get("/boom", headers={HEADER: "cid-500"})

    assert not_found.headers[HEADER] == "cid-404"
    assert failed.headers[HEADER] == "cid-500"
    assert "cid-500" in failed.json()["error"]["message"]


async def test_request_context_does_not_leak_into_the_caller(client: httpx.AsyncClient) -> None:
    await client.get("/healthz", headers={HEADER: "cid-in-request"})

    assert current_correlation_id() != "cid-in-request"


def test_validation_rule() -> None:
    assert is_valid_correlation_id("abc-123")
    assert not is_valid_correlation_id("")
    assert not is_valid_correlation_id("x" * 129)
    assert not is_valid_correlation_id("new\nline")


def test_outside_a_request_one_is_started_and_kept() -> None:
    with log_context():
        started = correlation_id()
        assert correlation_id() == started
        bind_correlation_id("from-an-event")
        assert correlation_id() == "from-an-event"
