"""Agent and requester commands on a real NATS server: the lifecycle, auth, rules, races."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ticketstream.eventstore import JetStreamEventStore

from .conftest import ALEX, SAM, TICKET, open_ticket

pytestmark = pytest.mark.integration


def as_requester(opened: dict[str, Any]) -> dict[str, str]:
    return {"X-Ticket-Secret": opened["secret"]}


async def post(
    client: httpx.AsyncClient,
    opened: dict[str, Any],
    command: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/api/v1/tickets/{opened['ticket_id']}/{command}", json=body, headers=headers
    )


async def history(client: httpx.AsyncClient, ticket_id: str) -> list[str]:
    store = JetStreamEventStore(client.app.state.nc)  # type: ignore[attr-defined]
    stream = await store.load(ticket_id)
    return [e.envelope.type.removeprefix("io.ticketstream.ticket.") for e in stream.events]


async def test_the_seed_scenario_through_the_api(client: httpx.AsyncClient) -> None:
    opened = await open_ticket(client)
    steps: list[tuple[str, dict[str, Any] | None, dict[str, str]]] = [
        ("assignment", {"agent_id": "alex"}, ALEX),
        ("replies", {"body": "We have received your ticket and are looking into it."}, ALEX),
        ("category", {"category": "email"}, ALEX),
        ("priority", {"priority": "high"}, ALEX),
        ("tags", {"add": ["account", "lockout"]}, ALEX),
        ("notes", {"body": "Account locked after failed logins."}, ALEX),
        ("status", {"status": "pending", "reason": "Which device?"}, ALEX),
        ("replies", {"body": "My phone."}, as_requester(opened)),
        ("replies", {"body": "Identified the issue. Unlocking the account."}, ALEX),
        ("status", {"status": "resolved", "resolution": "Unlocked the account."}, ALEX),
        ("confirm", None, as_requester(opened)),
        ("feedback", {"rating": 5, "comment": "Quick, thanks!"}, as_requester(opened)),
    ]
    for command, body, headers in steps:
        response = await post(client, opened, command, body, headers)
        assert response.status_code == 200, (command, response.text)
    assert await history(client, opened["ticket_id"]) == [
        "created.v1",
        "assigned.v1",
        "agent_replied.v1",
        "categorized.v1",
        "priority_changed.v1",
        "tags_changed.v1",
        "note_added.v1",
        "pending.v1",
        "requester_replied.v1",
        "agent_replied.v1",
        "resolved.v1",
        "resolution_confirmed.v1",
        "closed.v1",
        "feedback_submitted.v1",
    ]
    confirm = response  # the last one answered; check what a command answers
    assert confirm.json()["version"] == 14
    assert confirm.json()["events"] == ["io.ticketstream.ticket.feedback_submitted.v1"]


async def test_the_reopen_path(client: httpx.AsyncClient) -> None:
    opened = await open_ticket(client)
    resolve = {"status": "resolved", "resolution": "Cleared the cache."}
    assert (await post(client, opened, "status", resolve, ALEX)).status_code == 200
    reopened = await post(
        client, opened, "reopen", {"reason": "Still broken"}, as_requester(opened)
    )
    assert reopened.status_code == 200
    assert (await post(client, opened, "status", resolve, ALEX)).status_code == 200
    closed = await post(client, opened, "status", {"status": "closed"}, ALEX)
    assert closed.status_code == 200
    # An agent may reopen a closed ticket; its requester may not.
    refused = await post(client, opened, "reopen", None, as_requester(opened))
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    assert (await post(client, opened, "reopen", None, ALEX)).status_code == 200


async def test_a_command_records_actor_and_correlation(client: httpx.AsyncClient) -> None:
    opened = await open_ticket(client)
    await client.post(
        f"/api/v1/tickets/{opened['ticket_id']}/notes",
        json={"body": "checking"},
        headers={**SAM, "X-Correlation-Id": "corr-note"},
    )
    store = JetStreamEventStore(client.app.state.nc)  # type: ignore[attr-defined]
    last = (await store.load(opened["ticket_id"])).events[-1].envelope
    assert (last.actor_type, last.actor_id, last.correlation_id) == ("agent", "sam", "corr-note")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token"}, 401),
        ({"Authorization": "Basic YWxleDpwdw=="}, 401),
        ({"X-Ticket-Secret": "not-the-secret"}, 401),  # notes are for agents only
    ],
)
async def test_agent_commands_need_an_agent_token(
    client: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    opened = await open_ticket(client)
    response = await post(client, opened, "notes", {"body": "x"}, headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_requester_secret_opens_only_its_own_ticket(client: httpx.AsyncClient) -> None:
    mine = await open_ticket(client)
    theirs = await open_ticket(client, email="eve@example.com", name="Eve")
    response = await post(client, theirs, "replies", {"body": "hi"}, as_requester(mine))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    wrong = await post(client, mine, "replies", {"body": "hi"}, {"X-Ticket-Secret": "x" * 32})
    assert wrong.status_code == 403
    missing = await post(client, mine, "replies", {"body": "hi"})
    assert missing.status_code == 401
    by_query = await client.post(
        f"/api/v1/tickets/{mine['ticket_id']}/replies?secret={mine['secret']}", json={"body": "q"}
    )
    assert by_query.status_code == 200


async def test_the_rules_answer_with_the_rule_named(client: httpx.AsyncClient) -> None:
    opened = await open_ticket(client)
    agent_confirms = await post(client, opened, "confirm", None, ALEX)
    assert agent_confirms.status_code == 403
    assert agent_confirms.json()["error"]["code"] == "not_allowed_for_actor"
    too_early = await post(client, opened, "feedback", {"rating": 4}, as_requester(opened))
    assert too_early.status_code == 409
    assert too_early.json()["error"]["code"] == "invalid_transition"
    assert (await post(client, opened, "priority", {"priority": "high"}, ALEX)).status_code == 200
    same = await post(client, opened, "priority", {"priority": "high"}, ALEX)
    assert (same.status_code, same.json()["error"]["code"]) == (409, "unchanged")
    assert (await post(client, opened, "status", {"status": "closed"}, ALEX)).status_code == 200
    late = await post(client, opened, "replies", {"body": "more"}, as_requester(opened))
    assert (late.status_code, late.json()["error"]["code"]) == (409, "ticket_closed")


async def test_a_ticket_that_does_not_exist_is_a_404(client: httpx.AsyncClient) -> None:
    response = await post(client, {"ticket_id": "NOSUCH00"}, "notes", {"body": "x"}, ALEX)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ticket_not_found")


@pytest.mark.parametrize(
    ("command", "body", "field", "rule"),
    [
        ("status", {"status": "resolved"}, "resolution", "value_error"),
        ("status", {"status": "archived"}, "status", "literal_error"),
        ("transfer", {"department": "plumbing"}, "department", "unknown_department"),
        ("category", {"category": "furniture"}, "category", "unknown_category"),
        ("assignment", {"agent_id": "nobody"}, "agent_id", "unknown_agent_id"),
        ("assignment", {"agent_id": "Not An Id"}, "agent_id", "string_pattern_mismatch"),
        ("replies", {"body": "   "}, "body", "string_too_short"),
        ("tags", {"add": ["x" * 65]}, "add.0", "string_too_long"),
        ("tags", {"add": ["a"], "remove": ["a"]}, "add", "invalid_command"),
        ("priority", {"priority": "critical"}, "priority", "literal_error"),
        ("notes", {"body": "x", "internal": False}, "internal", "extra_forbidden"),
    ],
)
async def test_bad_command_input_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, command: str, body: dict[str, Any], field: str, rule: str
) -> None:
    opened = await open_ticket(client)
    response = await post(client, opened, command, body, ALEX)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    found = [(d.get("field"), d.get("rule")) for d in error["details"]]
    assert (field, rule) in found or (rule == "invalid_command" and error["code"] == rule), found
    assert await history(client, opened["ticket_id"]) == ["created.v1"]


async def test_twenty_concurrent_commands_on_one_ticket_all_land_or_conflict(
    client: httpx.AsyncClient,
) -> None:
    opened = await open_ticket(client)
    responses = await asyncio.gather(
        *[post(client, opened, "notes", {"body": f"note {n}"}, ALEX) for n in range(20)]
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}
    landed = statuses.count(200)
    assert await history(client, opened["ticket_id"]) == ["created.v1"] + ["note_added.v1"] * landed
    conflicts = [r for r in responses if r.status_code == 409]
    assert all(r.json()["error"]["code"] == "conflict" for r in conflicts)
    assert landed >= 10


async def test_attachments_download_for_agents_and_only_public_ones_for_the_requester(
    client: httpx.AsyncClient,
) -> None:
    files = [("attachments", ("error.log", b"disk full", "text/plain"))]
    response = await client.post("/api/v1/tickets", data=TICKET, files=files)
    opened = response.json()
    stream = await JetStreamEventStore(client.app.state.nc).load(opened["ticket_id"])  # type: ignore[attr-defined]
    sha = stream.events[0].envelope.data.attachments[0].sha256  # type: ignore[union-attr]
    url = f"/api/v1/tickets/{opened['ticket_id']}/attachments/{sha}"

    as_agent = await client.get(url, headers=ALEX)
    assert (as_agent.status_code, as_agent.content) == (200, b"disk full")
    assert as_agent.headers["content-disposition"].startswith("attachment;")
    assert as_agent.headers["x-content-type-options"] == "nosniff"
    assert (await client.get(url, headers=as_requester(opened))).status_code == 200
    assert (await client.get(url)).status_code == 401
    other = await open_ticket(client, email="eve@example.com")
    assert (await client.get(url, headers=as_requester(other))).status_code == 403
    missing = url[:-64] + "0" * 64
    assert (await client.get(missing, headers=ALEX)).status_code == 404
