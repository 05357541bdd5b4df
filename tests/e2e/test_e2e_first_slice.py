"""The first slice end to end: a ticket opened on intake is read back from projections."""

from __future__ import annotations

import httpx
import pytest

from ..conftest import ServiceProcess

pytestmark = pytest.mark.e2e

# Services on a busy two-core machine: give them time rather than fail on a slow answer.
slow_server = httpx.Client(timeout=60)

TICKET = {
    "name": "Dana Whitfield",
    "email": "dana@example.com",
    "subject": "Unable to access e-mail",
    "message": "I cannot log in to my mailbox since this morning.",
    "help_topic": "email-support",
}


def test_a_ticket_opened_on_intake_is_read_back_from_projections(
    services: dict[str, ServiceProcess],
) -> None:
    intake, projections = services["intake"], services["projections"]
    opened = slow_server.post(
        f"{intake.url}/api/v1/tickets", json=TICKET, headers={"X-Correlation-Id": "e2e-corr-1"}
    )
    assert opened.status_code == 201, opened.text
    ticket_id, position = opened.json()["ticket_id"], opened.json()["position"]

    read = slow_server.get(
        f"{projections.url}/api/v1/tickets/{ticket_id}",
        params={"min_position": position},
        headers={"Authorization": "Bearer ts-dev-alex"},
    )
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["position"] >= position
    assert int(read.headers["X-Ticketstream-Position"]) >= position
    ticket = body["ticket"]
    assert ticket["ticket_id"] == ticket_id
    assert ticket["status"] == "open"
    assert ticket["subject"] == TICKET["subject"]
    assert ticket["requester"] == {"name": "Dana Whitfield", "email": "dana@example.com"}
    assert [entry["body"] for entry in ticket["thread"]] == [TICKET["message"]]

    logged = [r for r in intake.log_records() if r.get("correlation_id") == "e2e-corr-1"]
    assert logged, intake.logs()
    assert all(r["service"] == "intake" for r in logged)


def test_many_tickets_are_all_readable_at_their_positions(
    services: dict[str, ServiceProcess],
) -> None:
    intake, projections = services["intake"], services["projections"]
    with httpx.Client(timeout=60, headers={"Authorization": "Bearer ts-dev-alex"}) as client:
        opened = [
            client.post(f"{intake.url}/api/v1/tickets", json=TICKET).json() for _ in range(50)
        ]
        last = max(o["position"] for o in opened)
        for o in opened:
            read = client.get(
                f"{projections.url}/api/v1/tickets/{o['ticket_id']}",
                params={"min_position": last},
            )
            assert read.status_code == 200, read.text


def test_services_stop_cleanly_on_sigterm(services: dict[str, ServiceProcess]) -> None:
    for service in services.values():
        assert service.stop() == 0, service.logs()


def test_bad_input_through_the_process_is_a_422(services: dict[str, ServiceProcess]) -> None:
    response = slow_server.post(
        f"{services['intake'].url}/api/v1/tickets", json={**TICKET, "email": "nope"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "email"
