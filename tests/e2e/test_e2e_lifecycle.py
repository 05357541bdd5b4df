"""The ticket lifecycle across every service, each its own process on real NATS, PostgreSQL
and SMTP: the seed scenario as ``make demo`` plays it, and the reopen path."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from demo.scenario import DANA, NOTE, Scenario, play_seed_scenario

from ..conftest import System

pytestmark = pytest.mark.e2e


def received(system: System, ticket_id: str, to: str) -> list[EmailMessage]:
    """The messages the SMTP server received about ``ticket_id`` for ``to``, in order."""
    return [
        m
        for m in system.desk.mailbox.messages()
        if m["X-Ticketstream-Ticket"] == ticket_id and m["To"].addresses[0].addr_spec == to
    ]


def text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def assert_one_conversation(messages: list[EmailMessage]) -> None:
    """Each e-mail answers the first and references every earlier one, as mail clients
    thread them."""
    ids = [str(m["Message-ID"]) for m in messages]
    assert len(set(ids)) == len(ids)
    assert "In-Reply-To" not in messages[0]
    for n, message in enumerate(messages[1:], start=1):
        assert message["In-Reply-To"] == ids[0]
        assert str(message["References"]).split() == ids[:n]


def test_the_seed_scenario_from_the_portal_to_the_satisfaction_report(system: System) -> None:
    printed: list[str] = []
    ticket = play_seed_scenario(Scenario(system.desk, printed.append))

    assert ticket.state["status"] == "closed"
    assert ticket.state["feedback"]["rating"] == 5
    steps = [line for line in printed if re.match(r"\n *\d+\. ", line)]
    assert len(steps) == 12, printed

    to_dana = received(system, ticket.ticket_id, DANA["email"])
    templates = [m["X-Ticketstream-Template"] for m in to_dana]
    assert templates == ["acknowledgement", "agent_reply", "agent_reply", "resolved", "closed"]
    assert_one_conversation(to_dana)
    for message in to_dana:
        assert message.get_content_type() == "multipart/alternative"
        assert f"[#{ticket.ticket_id}]" in message["Subject"]
        assert str(message["Reply-To"].addresses[0].addr_spec).startswith(
            f"support+{ticket.ticket_id}."
        )
    # The links in the e-mails open the ticket with the secret intake gave the requester.
    assert f"/tickets/{ticket.ticket_id}?secret={ticket.secret}" in text(to_dana[0])
    survey = text(to_dana[-1])
    assert all(f"rating={r}" in survey for r in range(1, 6))
    # The internal note stays inside the desk.
    everything = system.desk.mailbox.messages()
    assert everything
    assert not any(NOTE in text(m) for m in everything)


def test_a_requester_reopens_and_the_agent_resolves_again(system: System) -> None:
    scenario = Scenario(system.desk, print)
    ticket = scenario.open_from_portal()
    scenario.route(ticket)
    scenario.acknowledge(ticket)
    scenario.resolve(ticket)
    resolved_at = ticket.state["resolved_at"]
    scenario.reopen(ticket)
    assert ticket.state["resolved_at"] is None
    scenario.update(ticket)
    scenario.resolve(ticket)
    scenario.confirm(ticket)

    assert ticket.state["status"] == "closed"
    assert ticket.state["reopen_count"] == 1
    assert ticket.state["resolved_at"] > resolved_at
    to_dana = received(system, ticket.ticket_id, DANA["email"])
    assert [m["X-Ticketstream-Template"] for m in to_dana] == [
        "acknowledgement",
        "agent_reply",
        "resolved",
        "reopened",
        "agent_reply",
        "resolved",
        "closed",
    ]
    assert_one_conversation(to_dana)
    kinds = [e["type"].split(".")[-2] for e in system.desk.events(ticket.ticket_id)]
    assert (kinds.count("resolved"), kinds.count("reopened"), kinds.count("closed")) == (2, 1, 1)
