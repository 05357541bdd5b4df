"""Building the e-mail of one planned notification: headers, threading, both parts.

- ``From``: the organization at its support address; ``Reply-To``: the ticket's signed reply
  address (intake threads a reply onto the ticket with it).
- ``Subject``: ``[#<ticket>] <subject>``; ``Re:`` in front once the recipient has had an
  e-mail about the ticket; agents' alerts say what happened (``New ticket:`` ...).
- ``Message-ID``: :meth:`Signer.message_id` of (ticket, cause event, recipient), so the
  e-mail about one event to one recipient always has the same id (a resend is recognizably
  the same message). ``In-Reply-To`` names the first of ``thread_ids`` (the ticket's earlier
  e-mails to this recipient, oldest first) and ``References`` all of them, so mail clients
  show the ticket as one conversation.
- ``Auto-Submitted: auto-generated`` (RFC 3834) and ``X-Auto-Response-Suppress: All`` on
  every automatic e-mail, i.e. all but an agent's reply, which a person wrote.
- ``multipart/alternative``: the plain-text part, then the HTML part.
- Links with the ticket's secret only in requester e-mails.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from ticketstream.directory import Directory, UnknownIdError
from ticketstream.events.envelope import Envelope
from ticketstream.servicekit.mail import MAIL_POLICY
from ticketstream.signing import Signer, ticket_subject_tag
from ticketstream.tickets import TicketState

from .links import requester_links
from .recipients import AUTOMATIC_TEMPLATES, Planned
from .render import Templates

__all__ = [
    "AGENT_SUBJECT_LABELS",
    "MAX_SUBJECT_CHARS",
    "build_message",
    "context_for",
    "subject_for",
]

MAX_SUBJECT_CHARS = 120
"""The ticket's subject is cut to this many characters in an e-mail subject."""

AGENT_SUBJECT_LABELS: dict[str, str] = {
    "new_ticket": "New ticket",
    "assigned": "Assigned to you",
    "requester_replied": "Requester replied",
    "sla_breached": "SLA breached",
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MSG_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")  # printable ASCII, no <, > or space


def _one_line(text: str) -> str:
    """Header-safe text: control characters (CR, LF ...) become one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def subject_for(planned: Planned, ticket: TicketState, *, follow_up: bool) -> str:
    """``"Re: [#T] New ticket: <subject>"``: tag, what happened (agents only), the subject."""
    subject = _one_line(ticket.subject)
    if len(subject) > MAX_SUBJECT_CHARS:
        subject = subject[: MAX_SUBJECT_CHARS - 1].rstrip() + "\u2026"
    label = AGENT_SUBJECT_LABELS.get(planned.template) if planned.role == "agent" else None
    parts = ["Re:"] if follow_up else []
    parts.append(ticket_subject_tag(ticket.ticket_id))
    if label:
        parts.append(f"{label}:")
    parts.append(subject)
    return " ".join(parts)


def _agent_name(directory: Directory, agent_id: str | None) -> str | None:
    if agent_id is None:
        return None
    try:
        return directory.agent(agent_id).name
    except UnknownIdError:
        return agent_id


def _resolution_target(ticket: TicketState, directory: Directory) -> tuple[timedelta | None, bool]:
    """The SLA's resolution target for the ticket, and whether it counts business hours only.

    For the acknowledgement of a ticket not routed yet: its help topic's plan and priority.
    """
    try:
        topic = directory.help_topic(ticket.help_topic)
        plan = (
            directory.sla_plan(ticket.sla_plan)
            if ticket.sla_plan
            else directory.sla_plan_for_topic(ticket.help_topic)
        )
    except UnknownIdError:
        return None, False
    priority = ticket.priority or topic.priority
    if priority not in plan.targets:
        return None, False
    return plan.target(priority).resolution, plan.business_hours is not None


def context_for(
    planned: Planned,
    *,
    ticket: TicketState,
    envelope: Envelope,
    directory: Directory,
    signer: Signer,
) -> dict[str, Any]:
    """What the templates see (documented in ``templates/README.md``)."""
    event = envelope.data
    actor_name: str | None
    if envelope.actor_type == "agent":
        actor_name = _agent_name(directory, envelope.actor_id)
    elif envelope.actor_type == "requester":
        actor_name = ticket.requester.name
    else:
        actor_name = None
    department: str | None = None
    if ticket.department:
        try:
            department = directory.department(ticket.department).name
        except UnknownIdError:
            department = ticket.department
    target, business_hours = _resolution_target(ticket, directory)
    organization = directory.organization
    return {
        "kind": planned.template,
        "organization": organization,
        "ticket": ticket,
        "event": event,
        "occurred_at": envelope.time,
        "recipient": {"name": planned.name, "email": planned.recipient, "role": planned.role},
        "actor": {"kind": envelope.actor_type, "id": envelope.actor_id, "name": actor_name},
        "agent_name": _agent_name(directory, getattr(event, "agent_id", None)),
        "assignee_name": _agent_name(directory, ticket.assignee),
        "department": department,
        "resolution_due": ticket.resolution_due,
        "resolution_target": target,
        "business_hours": business_hours,
        "auto_close_after": directory.auto_close_after,
        "links": (
            requester_links(organization.public_url, ticket.ticket_id, signer)
            if planned.role == "requester"
            else None
        ),
    }


def build_message(
    planned: Planned,
    *,
    ticket: TicketState,
    envelope: Envelope,
    directory: Directory,
    signer: Signer,
    templates: Templates,
    thread_ids: Sequence[str],
    date: datetime | None = None,
) -> EmailMessage:
    """The e-mail ``planned`` stands for (``email.policy.default``, as servicekit's
    ``MAIL_POLICY``, which parses each header once; aiosmtplib sends it with CRLF line ends).

    ``ticket`` is the ticket as the e-mail should describe it (usually the state right after
    the cause event). ``thread_ids`` are the Message-IDs of the ticket's earlier e-mails to
    this recipient, oldest first (malformed ones and this e-mail's own id are left out).
    ``date`` defaults to the cause event's time, so building the e-mail again gives the same
    message. ``ValueError`` if an address or the ticket id cannot be put in a header.
    """
    organization = directory.organization
    support = organization.support_address
    domain = support.rpartition("@")[2]
    message_id = signer.message_id(
        ticket.ticket_id, planned.cause_event_id, planned.recipient, domain
    )
    earlier = [
        mid
        for mid in (_one_line(t) for t in thread_ids)
        if _MSG_ID.fullmatch(mid) and mid != message_id
    ]
    context = context_for(
        planned, ticket=ticket, envelope=envelope, directory=directory, signer=signer
    )
    text, html = templates.render(planned.template, context)

    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = subject_for(planned, ticket, follow_up=bool(earlier))
    message["From"] = Address(display_name=_one_line(organization.name), addr_spec=support)
    message["To"] = Address(display_name=_one_line(planned.name or ""), addr_spec=planned.recipient)
    message["Reply-To"] = Address(
        display_name=_one_line(organization.name),
        addr_spec=signer.reply_address(ticket.ticket_id, support),
    )
    message["Date"] = format_datetime(date or envelope.time)
    message["Message-ID"] = message_id
    if earlier:
        message["In-Reply-To"] = earlier[0]
        message["References"] = " ".join(earlier)
    if planned.template in AUTOMATIC_TEMPLATES:
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
    message["X-Ticketstream-Ticket"] = ticket.ticket_id
    message["X-Ticketstream-Event"] = _one_line(planned.cause_event_id)
    message["X-Ticketstream-Template"] = planned.template
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # A boundary of its own, so building the same e-mail again gives the same bytes.
    boundary = "==ts-" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
    if boundary not in text and boundary not in html:
        message.set_boundary(boundary)
    return message
