"""The event store on NATS JetStream: one stream, one literal subject per ticket.

- Optimistic concurrency: every append carries ``Nats-Expected-Last-Subject-Sequence``, the
  stream sequence of the ticket's last event (0 for a new ticket, which also makes ticket ids
  unique).
- All or nothing: the events of one command go as one atomic batch
  (``Nats-Batch-Id`` / ``Nats-Batch-Sequence`` / ``Nats-Batch-Commit``).
- Idempotent retries: ``Nats-Msg-Id`` is the event id. A retried append whose
  acknowledgement was lost is answered with "wrong last sequence", so on a conflict the
  store reloads the ticket and recognises its own event ids.
- Loading reads the ticket's subject with batched direct gets, which stays fast however many
  other tickets the stream holds.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from ticketstream.events import (
    CONTENT_TYPE,
    HEADER_EVENT_TYPE,
    HEADER_TICKET_VERSION,
    Envelope,
    decode,
    encode,
    ticket_subject,
)

from .errors import EventStoreError, WrongExpectedVersion
from .model import AppendResult, RecordedEvent, TicketStream
from .port import already_appended, check_batch
from .stream import StreamSettings

WRONG_LAST_SEQUENCE = 10071
BATCH_HAS_DUPLICATE = 10201
"""Answer to a retried atomic batch whose message ids are already stored."""
_CONFLICTS = frozenset({WRONG_LAST_SEQUENCE, BATCH_HAS_DUPLICATE})
LOAD_BATCH = 1000
REQUEST_TIMEOUT = 5.0
PUBLISH_ATTEMPTS = 3


class JetStreamEventStore:
    """:class:`~ticketstream.eventstore.port.EventStore` backed by the TICKETS stream."""

    def __init__(
        self,
        nc: NatsClient,
        settings: StreamSettings | None = None,
        *,
        timeout: float = REQUEST_TIMEOUT,
        head_cache_size: int = 10_000,
    ) -> None:
        self._nc = nc
        self._stream = (settings or StreamSettings()).name
        self._timeout = timeout
        # ticket id -> (version, position) of its last event seen by this process. Only a
        # hint to skip a lookup: the server's expected-sequence check remains the guard.
        self._heads: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._head_cache_size = head_cache_size

    async def load(self, ticket_id: str) -> TicketStream:
        subject = ticket_subject(ticket_id)
        events: list[RecordedEvent] = []
        next_seq = 1
        while True:
            batch, pending = await self._direct_get_batch(subject, next_seq)
            events.extend(batch)
            if not batch or pending == 0:
                break
            next_seq = batch[-1].position + 1
        stream = TicketStream(ticket_id, tuple(events))
        if events:
            self._remember(ticket_id, stream.version, stream.position)
        return stream

    async def append(
        self, ticket_id: str, events: Sequence[Envelope], expected_version: int
    ) -> AppendResult:
        check_batch(ticket_id, events, expected_version)
        expected_position = await self._position_of(ticket_id, expected_version)
        if expected_position is None:
            return await self._resolve_conflict(ticket_id, events, expected_version)
        for _ in range(PUBLISH_ATTEMPTS):
            try:
                answer = await self._publish(ticket_id, events, expected_position)
            except nats.errors.TimeoutError:
                # Outcome unknown: the same publish again is safe (same ids, same expected
                # sequence), and a conflict answer is resolved by looking at the stream.
                continue
            error = answer.get("error")
            if error is None and not answer.get("duplicate"):
                return self._result(ticket_id, events, int(answer["seq"]))
            if error is None or error.get("err_code") in _CONFLICTS:
                return await self._resolve_conflict(ticket_id, events, expected_version)
            raise EventStoreError(
                f"append to ticket {ticket_id} rejected: {error.get('description')} "
                f"(code {error.get('err_code')})"
            )
        stream = await self.load(ticket_id)
        earlier = already_appended(stream, events)
        if earlier is not None:
            return earlier
        raise EventStoreError(
            f"append to ticket {ticket_id}: no acknowledgement after {PUBLISH_ATTEMPTS} tries "
            "and the events are not in the stream; is the NATS server reachable?"
        )

    async def _position_of(self, ticket_id: str, version: int) -> int | None:
        """The stream position of the ticket's event ``version``, if it is its last one."""
        if version == 0:
            return 0
        head = self._heads.get(ticket_id)
        if head is not None and head[0] == version:
            return head[1]
        last = await self._last_message(ticket_id)
        if last is None:
            return None
        last_version = int((last.headers or {}).get(HEADER_TICKET_VERSION, "0"))
        last_position = int((last.headers or {})["Nats-Sequence"])
        self._remember(ticket_id, last_version, last_position)
        return last_position if last_version == version else None

    async def _resolve_conflict(
        self, ticket_id: str, events: Sequence[Envelope], expected_version: int
    ) -> AppendResult:
        stream = await self.load(ticket_id)
        earlier = already_appended(stream, events)
        if earlier is not None:
            return earlier
        raise WrongExpectedVersion(ticket_id, expected_version, stream.version)

    async def _publish(
        self, ticket_id: str, events: Sequence[Envelope], expected_position: int
    ) -> dict[str, Any]:
        subject = ticket_subject(ticket_id)
        batch_id = uuid.uuid4().hex if len(events) > 1 else None
        messages = [
            (encode(envelope), self._headers(envelope, n, len(events), batch_id, expected_position))
            for n, envelope in enumerate(events, start=1)
        ]
        for payload, headers in messages[:-1]:
            await self._nc.publish(subject, payload, headers=headers)
        payload, headers = messages[-1]
        reply = await self._nc.request(subject, payload, timeout=self._timeout, headers=headers)
        answer: dict[str, Any] = json.loads(reply.data)
        return answer

    def _headers(
        self, envelope: Envelope, n: int, count: int, batch_id: str | None, expected_position: int
    ) -> dict[str, str]:
        headers = {
            "Nats-Msg-Id": envelope.id,
            "Nats-Expected-Stream": self._stream,
            "Content-Type": CONTENT_TYPE,
            HEADER_EVENT_TYPE: envelope.type,
            HEADER_TICKET_VERSION: str(envelope.ticket_version),
        }
        if n == 1:
            headers["Nats-Expected-Last-Subject-Sequence"] = str(expected_position)
        if batch_id is not None:
            headers["Nats-Batch-Id"] = batch_id
            headers["Nats-Batch-Sequence"] = str(n)
            if n == count:
                headers["Nats-Batch-Commit"] = "1"
        return headers

    def _result(self, ticket_id: str, events: Sequence[Envelope], last_seq: int) -> AppendResult:
        first_seq = last_seq - len(events) + 1
        recorded = tuple(
            RecordedEvent(envelope, first_seq + n) for n, envelope in enumerate(events)
        )
        version = events[-1].ticket_version
        self._remember(ticket_id, version, last_seq)
        return AppendResult(ticket_id, version, last_seq, recorded)

    def _remember(self, ticket_id: str, version: int, position: int) -> None:
        self._heads[ticket_id] = (version, position)
        self._heads.move_to_end(ticket_id)
        if len(self._heads) > self._head_cache_size:
            self._heads.popitem(last=False)

    async def _last_message(self, ticket_id: str) -> Msg | None:
        subject = ticket_subject(ticket_id)
        reply = await self._nc.request(
            f"$JS.API.DIRECT.GET.{self._stream}.{subject}", b"", timeout=self._timeout
        )
        status = (reply.headers or {}).get("Status")
        if status == "404":
            return None
        if status:
            raise EventStoreError(f"direct get of {subject} failed: status {status}")
        return reply

    async def _direct_get_batch(
        self, subject: str, from_seq: int
    ) -> tuple[list[RecordedEvent], int]:
        """One batched direct get: up to LOAD_BATCH events and how many remain after them."""
        inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(inbox)
        try:
            request = {"seq": from_seq, "next_by_subj": subject, "batch": LOAD_BATCH}
            await self._nc.publish(
                f"$JS.API.DIRECT.GET.{self._stream}", json.dumps(request).encode(), reply=inbox
            )
            events: list[RecordedEvent] = []
            while True:
                msg = await sub.next_msg(timeout=self._timeout)
                headers = msg.headers or {}
                status = headers.get("Status")
                if status == "404":
                    return events, 0
                if status == "204":  # end of batch
                    return events, int(headers.get("Nats-Num-Pending", "0"))
                if status:
                    raise EventStoreError(f"direct get of {subject} failed: status {status}")
                events.append(_recorded(msg))
        finally:
            await sub.unsubscribe()


def _recorded(msg: Msg) -> RecordedEvent:
    headers = msg.headers or {}
    position = int(headers["Nats-Sequence"])
    try:
        envelope = decode(msg.data)
    except ValueError as error:
        raise EventStoreError(
            f"event at position {position} on {headers.get('Nats-Subject')} "
            f"cannot be decoded: {error}"
        ) from error
    return RecordedEvent(envelope, position)
