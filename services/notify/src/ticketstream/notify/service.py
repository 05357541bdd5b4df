"""notify's reaction to ticket events: compose, send, and record every e-mail on its ticket.

Never the same (event, recipient) twice:

- before sending, the ticket's history is read: an ``EmailSent`` (or a permanent
  ``EmailFailed``) for that cause and recipient means it is done, so a redelivered event, a
  restart, or the event arriving at another replica sends nothing again;
- after sending, ``EmailSent`` is appended through the ticket rules (actor ``system:notify``).

The remaining window: a crash after the SMTP server accepted the message and before
``EmailSent`` was appended. The redelivered event then sends it again. Its Message-ID is
the same (stable per event and recipient), so mail clients that de-duplicate by
Message-ID show it once. The window is the time of one append (milliseconds).

An address on the deny list, or one that got too many e-mails in the last hour (a mail
loop), gets nothing: an ``EmailFailed`` records why.

A transient SMTP failure (after the sender's own retries) fails the batch: the subscription
redelivers it later with a growing delay, and what was already sent is skipped. A
permanent failure (5xx) is recorded as ``EmailFailed`` and never retried.
"""

from __future__ import annotations

import structlog

from ticketstream.directory import Directory
from ticketstream.events import (
    Actor,
    EmailFailed,
    EmailSent,
    Envelope,
    Metadata,
    RequesterReplied,
    TicketCreated,
)
from ticketstream.eventstore import Batch, Clock, EventStore
from ticketstream.signing import Signer
from ticketstream.ticketing import execute
from ticketstream.tickets import Command, RecordEmailFailed, RecordEmailSent, TicketState, fold

from .compose import Planned, Templates, build_message, emails_for
from .policy import SendPolicy
from .smtp import DeliveryFailed, MailSender

NOTIFY = Actor(kind="system", id="notify")
SOURCE = "ticketstream/notify"

_log = structlog.get_logger(__name__)


class Notifier:
    """Turns ticket events into e-mails; one instance per process."""

    def __init__(
        self,
        store: EventStore,
        directory: Directory,
        signer: Signer,
        templates: Templates,
        sender: MailSender,
        *,
        clock: Clock,
        policy: SendPolicy | None = None,
    ) -> None:
        self._policy = policy or SendPolicy((), 1_000_000, clock)
        self._store = store
        self._directory = directory
        self._signer = signer
        self._templates = templates
        self._sender = sender
        self._clock = clock

    async def handle(self, batch: Batch) -> None:
        """The catch-up subscription's handler: every event of the batch, in order."""
        for recorded in batch.events:
            await self.notify(recorded.envelope)

    async def notify(self, envelope: Envelope) -> None:
        """Send (once) every e-mail ``envelope`` calls for, and record each on the ticket."""
        history = [r.envelope for r in (await self._store.load(envelope.ticket_id)).events]
        version = envelope.ticket_version
        before = fold([e.data for e in history[: version - 1]])
        after = fold([e.data for e in history[:version]])
        if after is None:
            return
        done = {
            (e.data.cause_event_id, e.data.recipient.lower())
            for e in history
            if isinstance(e.data, EmailSent)
            or (isinstance(e.data, EmailFailed) and e.data.permanent)
        }
        for planned in emails_for(envelope, before, after, self._directory):
            if planned.key in done:
                continue
            refusal = self._policy.refusal(planned.recipient, planned.role)
            if refusal is not None:
                await self._record_failure(planned, envelope, f"not sent: {refusal}")
                continue
            await self._send(planned, envelope, after, _thread(history, planned.recipient))

    async def _send(
        self, planned: Planned, envelope: Envelope, ticket: TicketState, thread: list[str]
    ) -> None:
        message = build_message(
            planned,
            ticket=ticket,
            envelope=envelope,
            directory=self._directory,
            signer=self._signer,
            templates=self._templates,
            thread_ids=thread,
        )
        try:
            await self._sender.send(message)
        except DeliveryFailed as failure:
            if not failure.permanent:
                raise  # the batch is redelivered later; what was sent is skipped then
            _log.warning("e-mail refused for good", recipient=planned.recipient, error=str(failure))
            await self._record_failure(planned, envelope, str(failure))
            return
        self._policy.sent(planned.recipient)
        sent = RecordEmailSent(
            ticket_id=envelope.ticket_id,
            actor=NOTIFY,
            cause_event_id=planned.cause_event_id,
            recipient=planned.recipient,
            role=planned.role,
            template=planned.template,
            message_id=str(message["Message-ID"]),
            subject=str(message["Subject"])[:998],
        )
        await self._record(sent, envelope)

    async def _record_failure(self, planned: Planned, cause: Envelope, error: str) -> None:
        failed = RecordEmailFailed(
            ticket_id=cause.ticket_id,
            actor=NOTIFY,
            cause_event_id=planned.cause_event_id,
            recipient=planned.recipient,
            role=planned.role,
            template=planned.template,
            error=error[:2000],
            permanent=True,
        )
        await self._record(failed, cause)

    async def _record(self, command: Command, cause: Envelope) -> None:
        meta = Metadata(
            source=SOURCE, actor=NOTIFY, correlation_id=cause.correlation_id, causation_id=cause.id
        )
        await execute(self._store, command, meta, clock=self._clock)


def _thread(history: list[Envelope], recipient: str) -> list[str]:
    """Message-IDs of the ticket's conversation with ``recipient``, oldest first: the e-mails
    already sent to them, and the ones they wrote that opened or answered the ticket (so the
    acknowledgement of a ticket opened by e-mail threads under the requester's message)."""
    who = recipient.lower()
    thread = []
    message_id: str | None
    for e in history:
        data = e.data
        if isinstance(data, EmailSent):
            mine, message_id = data.recipient.lower() == who, data.message_id
        elif isinstance(data, TicketCreated):
            mine, message_id = data.requester.email.lower() == who, data.email_message_id
        elif isinstance(data, RequesterReplied):
            mine, message_id = e.actor_id.lower() == who, data.email_message_id
        else:
            continue
        if mine and message_id:
            thread.append(message_id)
    return thread
