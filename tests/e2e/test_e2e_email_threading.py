"""A ticket by e-mail, answered by e-mail: the replies thread onto it, through every service
in its own process and a real SMTP server; what the requester's mail client sees is real
MIME with Message-ID, In-Reply-To and References."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

import pytest

from demo.desk import read_message
from demo.scenario import PRIYA, Scenario, Ticket

from ..conftest import System

pytestmark = pytest.mark.e2e

ON_THE_PHONE = "It also fails on my phone, with the same message."
ANSWER = "Please remove the account from your phone and add it again; the password changed."
THANKS = "That worked, thank you!"


def reply(to: EmailMessage, body: str, *, address: str | None = None) -> EmailMessage:
    """The requester's mail client answering ``to``: to its Reply-To (or ``address``),
    threaded by In-Reply-To and References."""
    message = EmailMessage()
    message["From"] = formataddr((PRIYA["name"], PRIYA["email"]))
    message["To"] = address or str(to["Reply-To"])
    message["Subject"] = f"Re: {to['Subject']}"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    message["In-Reply-To"] = str(to["Message-ID"])
    message["References"] = f"{to.get('References', '')} {to['Message-ID']}".strip()
    message.set_content(f"{body}\n")
    return message


def last_email(system: System, ticket: Ticket) -> EmailMessage:
    [path] = system.desk.mailbox.files(ticket.emails[-1]["message_id"])
    return read_message(path)


def public_thread(ticket: Ticket) -> list[str]:
    return [entry["body"] for entry in ticket.state["thread"] if entry["public"]]


def test_replies_by_email_thread_onto_the_ticket_both_ways(system: System) -> None:
    desk, scenario = system.desk, Scenario(system.desk, print)
    ticket = scenario.open_by_email()
    acknowledgement = last_email(system, ticket)
    # The acknowledgement answers the requester's own e-mail, so it threads under it.
    opening = str(acknowledgement["In-Reply-To"])
    assert opening.startswith("<")
    assert opening != acknowledgement["Message-ID"]
    assert str(acknowledgement["References"]).split() == [opening]
    assert str(acknowledgement["Reply-To"].addresses[0].addr_spec).startswith(
        f"support+{ticket.ticket_id}."
    )

    # The requester answers the acknowledgement from their mail client: to its Reply-To.
    answered = reply(acknowledgement, ON_THE_PHONE)
    received = desk.send_email(answered.as_bytes())
    assert (received["outcome"], received["ticket_id"]) == ("appended", ticket.ticket_id)
    scenario.observe(ticket, events=["requester_replied"], emails=["requester_replied"])
    assert public_thread(ticket)[-1] == ON_THE_PHONE
    # An MTA delivering it again changes nothing.
    assert desk.send_email(answered.as_bytes())["outcome"] == "duplicate"

    # An agent of the department picks it up and answers.
    claimed = desk.command(ticket.ticket_id, "assignment", {"agent_id": "alex"}, agent="alex")
    scenario.observe(ticket, events=scenario.appended(claimed), expect={"assignee": "alex"})
    scenario.observe(
        ticket,
        events=scenario.agent(ticket, "replies", {"body": ANSWER}),
        emails=["agent_reply"],
    )
    answer = last_email(system, ticket)
    # Every e-mail of the conversation, hers and ours, oldest first; the first is the root.
    conversation = [opening, acknowledgement["Message-ID"], answered["Message-ID"]]
    assert answer["In-Reply-To"] == opening
    assert str(answer["References"]).split() == conversation
    assert answer["Subject"] == f"Re: [#{ticket.ticket_id}] Cannot send e-mails"
    assert answer.get_content_type() == "multipart/alternative"
    body = answer.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    assert ANSWER in body.get_content()

    # The requester's answer goes to the plain support address: the Message-ID it answers
    # is what threads it.
    thanks = reply(answer, THANKS, address="support@example.com")
    received = desk.send_email(thanks.as_bytes())
    assert (received["outcome"], received["ticket_id"]) == ("appended", ticket.ticket_id)
    scenario.observe(ticket, events=["requester_replied"], emails=["requester_replied"])
    assert public_thread(ticket)[-3:] == [ON_THE_PHONE, ANSWER, THANKS]
    assert ticket.state["channel"] == "email"
    tickets = desk.query("tickets", requester=PRIYA["email"], min_position=ticket.position)
    assert [t["ticket_id"] for t in tickets["tickets"]] == [ticket.ticket_id]
