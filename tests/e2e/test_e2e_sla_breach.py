"""An SLA target missed: routing's deadline loop raises the breach once per target, notify
alerts the assignee and projections shows the ticket overdue, all in their own processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from demo.scenario import RESOLUTION, Scenario, Ticket
from ticketstream.directory import default_directory_path

from ..conftest import System

pytestmark = pytest.mark.e2e

TICK_SECONDS = 0.5


def tight_directory(folder: Path) -> Path:
    """The development directory plus a help topic whose SLA plan allows seconds."""
    directory = yaml.safe_load(default_directory_path().read_text())
    seconds = {"first_response": "2s", "resolution": "4s"}
    directory["sla_plans"].append(
        {
            "id": "tight",
            "name": "Tight",
            "targets": dict.fromkeys(directory["priorities"], seconds),
        }
    )
    directory["help_topics"].append(
        {"id": "locked-out", "name": "Locked out", "department": "it-support", "sla_plan": "tight"}
        | {"priority": "high", "category": "email"}
    )
    path = folder / "directory.yaml"
    path.write_text(yaml.safe_dump(directory))
    return path


def test_a_missed_target_is_breached_once_and_shows_as_overdue(
    start_system: Callable[..., System], tmp_path: Path
) -> None:
    system = start_system(
        TICKETSTREAM_DIRECTORY=str(tight_directory(tmp_path)),
        TICKETSTREAM_TICK_SECONDS=str(TICK_SECONDS),
    )
    desk, scenario = system.desk, Scenario(system.desk, print)
    opened = desk.open_ticket(
        {
            "name": "Dana Whitfield",
            "email": "dana@example.com",
            "subject": "Locked out of my mailbox",
            "message": "The webmail says my account is locked.",
            "help_topic": "locked-out",
        }
    )
    ticket = Ticket(opened["ticket_id"], opened["secret"])
    scenario.begin("Routed under the tight plan and assigned")
    scenario.observe(
        ticket,
        events=["created", "routed", "assigned"],
        expect={"sla.plan": "tight", "department": "it-support"},
    )

    scenario.begin("Nobody answers in time: routing raises a breach per target")
    breached = scenario.observe(
        ticket,
        events=["sla_breached", "sla_breached"],
        emails=["sla_breached", "sla_breached"],
        expect={
            "overdue": True,
            "sla.first_response_breached": True,
            "sla.resolution_breached": True,
        },
    )
    targets = {e["data"]["target"] for e in breached.events if e["type"].endswith("breached.v1")}
    assert targets == {"first_response", "resolution"}
    assert {e["recipient"] for e in breached.emails} == {f"{ticket.assignee}@example.com"}

    overdue = desk.query("queues/overdue", limit=500, min_position=ticket.position)
    assert ticket.ticket_id in [t["ticket_id"] for t in overdue["tickets"]]
    workload = {a["agent_id"]: a for a in desk.query("reports/workload")["agents"]}
    assert workload[ticket.assignee]["overdue"] == 1
    sla = desk.query("reports/sla", department="it-support", min_position=ticket.position)
    assert {(row["target"], row["breached"]) for row in sla["report"]} == {
        ("first_response", 1),
        ("resolution", 1),
    }

    # More deadline checks raise nothing more: each target breaches once.
    time.sleep(4 * TICK_SECONDS)
    kinds = [e["type"] for e in desk.events(ticket.ticket_id)]
    assert kinds.count("io.ticketstream.ticket.sla_breached.v1") == 2

    # Resolved, it leaves the overdue queue; the breaches stay on its record.
    scenario.begin("The agent resolves it late")
    events = scenario.agent(ticket, "status", {"status": "resolved", "resolution": RESOLUTION})
    scenario.observe(
        ticket,
        events=events,
        emails=["resolved"],
        expect={"overdue": False, "sla.first_response_breached": True},
    )
    overdue = desk.query("queues/overdue", limit=500, min_position=ticket.position)
    assert ticket.ticket_id not in [t["ticket_id"] for t in overdue["tickets"]]
