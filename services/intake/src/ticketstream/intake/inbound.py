"""E-mail intake: one raw RFC 822 message in; a ticket opened or replied to, or nothing.

The same e-mail delivered twice (an MTA retry, an IMAP re-fetch after a crash) changes
nothing the second time:

- a new ticket's number is derived from the e-mail's Message-ID, so the event store's
  "first event expects an empty subject" rejects a second creation, and the existing
  ticket is recognised by that Message-ID;
- a reply carries its Message-ID, and the ticket rules take each Message-ID once
  (``duplicate_email``).

Bounces and automatic replies (RFC 3834 ``Auto-Submitted``, out-of-office, lists) never
open, reopen or resume a ticket, so Ticketstream never answers a machine and never loops
with one: when one threads onto a ticket it is recorded there (``AutoReplyReceived``),
otherwise it is logged and dropped with the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import structlog

from ticketstream.directory import Directory
from ticketstream.events import Actor, AttachmentRef, Metadata, Requester
from ticketstream.eventstore import AppendResult, AttachmentStore, EventStore
from ticketstream.servicekit import new_correlation_id
from ticketstream.signing import Signer, ticket_from_subject
from ticketstream.ticketing import execute, load_state
from ticketstream.tickets import (
    Command,
    OpenTicket,
    RecordAutoReply,
    ReplyAsAgent,
    ReplyAsRequester,
    TicketRuleViolation,
)

from .email import EmailParseError, InboundEmail, find_thread, parse_email
from .opening import SOURCE, open_new, open_ticket
from .ticket_ids import ticket_number

Outcome = Literal["created", "appended", "recorded", "duplicate", "ignored"]
INTAKE = Actor(kind="system", id="intake")
NO_TEXT = "(no text)"

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """What became of one e-mail."""

    outcome: Outcome
    ticket_id: str | None
    reason: str
    position: int | None = None


def ticket_id_for(message_id: str) -> str:
    """The ticket number an e-mail with this Message-ID opens (same alphabet as any other)."""
    digest = hashlib.sha256(message_id.strip().encode()).digest()
    return ticket_number(int.from_bytes(digest[:5], "big"))  # 40 bits, 8 base32 characters


class EmailIntake:
    """Turns inbound e-mails into ticket commands."""

    def __init__(
        self,
        store: EventStore,
        directory: Directory,
        signer: Signer,
        attachments: AttachmentStore,
    ) -> None:
        self._store = store
        self._directory = directory
        self._signer = signer
        self._attachments = attachments

    async def receive(self, raw: bytes, correlation_id: str) -> Received:
        """Open or reply to a ticket from ``raw``; raises ``EmailParseError`` for non-mail."""
        email = parse_email(raw)
        match = await find_thread(email, self._signer, ticket_from_subject, self._requester_of)
        if email.is_bounce or email.auto_submitted:
            return await self._automatic(email, match.ticket_id, correlation_id)
        refs = tuple(
            [
                await self._attachments.put(a.filename, a.content_type, a.data)
                for a in email.attachments
            ]
        )
        if match.ticket_id is not None:
            received = await self._reply(match.ticket_id, email, refs, correlation_id)
            if received is not None:
                return received
        return await self._open(email, refs, correlation_id)

    async def receive_fetched(self, raw: bytes) -> None:
        """For the IMAP poller: like :meth:`receive`, but a message that is no e-mail is
        logged and dropped (raising would have it fetched again on every poll)."""
        try:
            received = await self.receive(raw, new_correlation_id())
        except EmailParseError as error:
            _log.warning("fetched message is not an e-mail; dropped", error=str(error))
            return
        _log.info("fetched e-mail", outcome=received.outcome, ticket_id=received.ticket_id)

    async def _automatic(self, email: InboundEmail, ticket_id: str | None, cid: str) -> Received:
        """Record a bounce or an automatic reply on its ticket; drop it when it has none."""
        kind: Literal["auto_reply", "bounce"] = "bounce" if email.is_bounce else "auto_reply"
        reason = "bounce" if email.is_bounce else "auto_submitted"
        detail = (email.bounce_reason if email.is_bounce else "; ".join(email.auto_reasons)) or kind
        if ticket_id is None or await load_state(self._store, ticket_id) is None:
            _log.info("automatic e-mail dropped", reason=detail, message_id=email.message_id)
            return Received("ignored", None, reason)
        command = RecordAutoReply(
            ticket_id=ticket_id,
            actor=INTAKE,
            kind=kind,
            from_address=email.from_address,
            subject=email.subject.strip()[:998] or "(no subject)",
            reason=detail[:500],
            email_message_id=email.message_id,
        )
        try:
            result = await self._execute(command, INTAKE, cid)
        except TicketRuleViolation as violation:
            if violation.rule == "duplicate_email":
                return Received("duplicate", ticket_id, violation.rule)
            raise
        return Received("recorded", ticket_id, reason, result.position)

    async def _requester_of(self, ticket_id: str) -> str | None:
        state = await load_state(self._store, ticket_id)
        return state.requester.email if state else None

    async def _reply(
        self, ticket_id: str, email: InboundEmail, refs: tuple[AttachmentRef, ...], cid: str
    ) -> Received | None:
        """Append the e-mail to its ticket; None when it must open a new ticket instead."""
        state = await load_state(self._store, ticket_id)
        if state is None:
            return None
        body = email.reply_text.strip() or NO_TEXT
        agent = self._directory.agent_by_email(email.from_address)
        command: Command
        if agent is not None:
            actor = Actor(kind="agent", id=agent.id)
            command = ReplyAsAgent(ticket_id=ticket_id, actor=actor, body=body, attachments=refs)
        elif email.from_address == state.requester.email.lower():
            actor = Actor(kind="requester", id=state.requester.email)
            command = ReplyAsRequester(
                ticket_id=ticket_id,
                actor=actor,
                channel="email",
                body=body,
                attachments=refs,
                email_message_id=email.message_id,
            )
        else:
            return None  # someone else wrote to the ticket's address: a ticket of their own
        try:
            result = await self._execute(command, actor, cid)
        except TicketRuleViolation as violation:
            if violation.rule == "duplicate_email":
                return Received("duplicate", ticket_id, violation.rule)
            if violation.rule == "ticket_closed" and actor.kind == "requester":
                return None  # a closed ticket takes no replies: the e-mail opens a new one
            _log.warning("inbound e-mail rejected", ticket_id=ticket_id, rule=violation.rule)
            return Received("ignored", ticket_id, violation.rule)
        return Received("appended", ticket_id, "reply", result.position)

    async def _open(
        self, email: InboundEmail, refs: tuple[AttachmentRef, ...], cid: str
    ) -> Received:
        requester = Requester(
            name=(email.from_name.strip() or email.from_address.split("@")[0])[:128],
            email=email.from_address,
        )
        actor = Actor(kind="requester", id=requester.email)

        def command_for(ticket_id: str) -> OpenTicket:
            return OpenTicket(
                ticket_id=ticket_id,
                actor=actor,
                channel="email",
                requester=requester,
                subject=email.subject.strip()[:255] or "(no subject)",
                message=email.text.strip()[:100_000] or NO_TEXT,
                help_topic=self._directory.email_topic.id,
                attachments=refs,
                email_message_id=email.message_id,
            )

        meta = Metadata(source=SOURCE, actor=actor, correlation_id=cid)
        if email.message_id:
            ticket_id = ticket_id_for(email.message_id)
            try:
                result = await open_new(self._store, command_for(ticket_id), meta, clock=_now)
                return Received("created", ticket_id, "new", result.position)
            except TicketRuleViolation as violation:
                if violation.rule != "ticket_exists":
                    raise
            state = await load_state(self._store, ticket_id)
            if state is not None and email.message_id in state.email_message_ids:
                return Received("duplicate", ticket_id, "already_opened")
        result = await open_ticket(self._store, command_for, meta, clock=_now)
        return Received("created", result.ticket_id, "new", result.position)

    async def _execute(self, command: Command, actor: Actor, cid: str) -> AppendResult:
        meta = Metadata(source=SOURCE, actor=actor, correlation_id=cid)
        return await execute(self._store, command, meta, clock=_now)


def _now() -> datetime:
    return datetime.now(UTC)
