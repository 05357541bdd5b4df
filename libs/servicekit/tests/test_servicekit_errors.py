"""Every failure of a request answers in the standard error body, with the right status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.unit

TICKETS = "/api/v1/departments/support/tickets"
VALID = {"requester": {"name": "Ada", "email": "ada@example.org"}, "subject": "Printer on fire"}


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    return error


async def test_a_valid_command_passes(client: httpx.AsyncClient) -> None:
    response = await client.post(TICKETS, json=VALID)

    assert response.status_code == 201
    assert response.json()["subject"] == "Printer on fire"


async def test_invalid_field_is_422_naming_field_and_rule(client: httpx.AsyncClient) -> None:
    command = {"requester": {"name": "Ada", "email": "not-an-address"}, "subject": "Help"}

    response = await client.post(TICKETS, json=command)

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    assert error["details"] == [
        {
            "field": "requester.email",
            "in": "body",
            "rule": "value_error",
            "message": "value is not a valid email address",
        }
    ]
    assert "requester.email" in error["message"]


async def test_every_problem_is_listed(client: httpx.AsyncClient) -> None:
    response = await client.post(TICKETS, json={"requester": {"name": ""}, "subject": ""})

    assert response.status_code == 422
    found = {(d["field"], d["rule"]) for d in error_of(response)["details"]}
    assert found == {
        ("requester.name", "string_too_short"),
        ("requester.email", "missing"),
        ("subject", "string_too_short"),
    }


async def test_query_and_path_problems_say_where(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{TICKETS}?notify=perhaps", json=VALID)

    assert response.status_code == 422
    assert error_of(response)["details"] == [
        {
            "field": "notify",
            "in": "query",
            "rule": "bool_parsing",
            "message": "Input should be a valid boolean, unable to interpret input",
        }
    ]


async def test_missing_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(TICKETS, headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert error_of(response)["details"][0] | {"message": ""} == {
        "field": "",
        "in": "body",
        "rule": "missing",
        "message": "",
    }


async def test_malformed_json_is_400_naming_the_position(client: httpx.AsyncClient) -> None:
    response = await client.post(
        TICKETS,
        content=b'{\n  "subject": "Help",\n  "requester": }',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "malformed_json"
    assert "line 3 column 16" in error["message"]
    assert error["details"][0]["position"] == 38
    assert error["details"][0]["rule"] == "json_invalid"


@pytest.mark.parametrize(
    ("headers", "mentions"),
    [({"content-type": "text/plain"}, "'text/plain'"), ({}, "no Content-Type")],
)
async def test_non_json_body_is_415(
    client: httpx.AsyncClient, headers: dict[str, str], mentions: str
) -> None:
    response = await client.post(TICKETS, content=b'{"subject": "x"}', headers=headers)

    assert response.status_code == 415
    error = error_of(response)
    assert error["code"] == "unsupported_media_type"
    assert mentions in error["message"]
    assert "application/json" in error["message"]


async def test_json_suffix_media_types_are_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        TICKETS,
        content=httpx.Request("POST", "/", json=VALID).content,
        headers={"content-type": "application/vnd.ticketstream+json; charset=utf-8"},
    )

    assert response.status_code == 201


async def test_declared_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    big = VALID | {"subject": "x" * 2000}

    response = await client.post(TICKETS, json=big)

    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "content_too_large"
    assert "1024 bytes" in error["message"]


async def test_declared_oversized_body_is_413_even_where_nothing_reads_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/no/such/route", content=b"x" * 5000)

    assert response.status_code == 413
    assert error_of(response)["code"] == "content_too_large"


async def test_streamed_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"subject": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'"}'

    response = await client.post(
        TICKETS, content=chunks(), headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert error_of(response)["code"] == "content_too_large"


async def test_streamed_body_under_the_limit_passes(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield httpx.Request("POST", "/", json=VALID).content

    response = await client.post(
        TICKETS, content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 201


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert "/api/v1/nothing-here" in error["message"]


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")

    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert "DELETE" in error["message"]
    assert "GET" in response.headers["allow"]


async def test_api_error_keeps_its_code_and_details(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/tickets/T-42/assignment")

    assert response.status_code == 409
    assert error_of(response) == {
        "code": "version_conflict",
        "message": "Ticket T-42 changed meanwhile; reload it and try again.",
        "details": [{"expected_version": 3, "actual_version": 4}],
    }


async def test_unhandled_exception_is_500_without_leaking(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")

    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error"
    assert response.headers["x-correlation-id"] in error["message"]
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
