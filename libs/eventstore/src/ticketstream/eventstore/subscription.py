"""Catch-up subscriptions: a durable JetStream pull consumer feeding a handler in batches.

Receiving: pull requests answered into one callback-fed inbox (nats-py's ``fetch()`` waits
on every message separately and caps near 10,000 messages/s here; a callback does not).
Messages are decoded as they arrive, and the next pull request goes out before the handler
runs, so the following batch arrives and is decoded while this one is handled (typically
while it waits on its database). A batch is whatever has arrived, up to ``batch_size``: one
event when the stream is quiet (low latency), full batches when catching up (throughput).

Ack policy, chosen on purpose:
- a batch is acknowledged, message by message, only after the handler returned. After a
  crash, what the dead process held is redelivered only after ``ack_wait``, behind newer
  messages: handlers must be idempotent, and a handler that needs the stream's order (the
  projector) starts its consumer after its own checkpoint instead of relying on acks;
- when the handler raises, the same batch is handed to it again after a growing delay (up to
  ``max_nak_delay``), in this process, while the messages are kept from redelivery
  (``in_progress``): later events wait behind it, so the order of the stream holds even
  across failures, and an event is never dropped because a handler failed. A handler that
  keeps failing stalls its consumer visibly (logged on every try) instead of losing events;
- on stop, what was received and not handled is negatively acknowledged at once, so the next
  consumer gets it first, in order;
- a message that is not a valid ticket event is handed to ``on_poison`` when given (the
  caller records it, e.g. in a dead-letter table, and the batch goes on); without one it is
  treated like a handler failure.

One consumer processes its batches one after another, so the order of each ticket's events
(indeed of the whole stream) is kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from contextlib import suppress
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ticketstream.events import ALL_TICKETS, HEADER_EVENT_TYPE, STREAM_NAME, decode

from .model import RecordedEvent


@dataclass(frozen=True, slots=True)
class Batch:
    """Events handed to a handler together, and the position of the batch's last message
    (which may be later than the last event when unwanted or poison messages were skipped).
    """

    events: list[RecordedEvent]
    last_position: int


Handler = Callable[[Batch], Awaitable[None]]
PoisonHandler = Callable[[int, str, bytes, Exception], Awaitable[None]]
"""Called with the stream position, the subject, the raw payload and the decoding error."""

_log = logging.getLogger("ticketstream.eventstore.subscription")


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    """A durable pull consumer on the TICKETS stream."""

    durable: str
    filter_subject: str = ALL_TICKETS
    stream: str = STREAM_NAME
    batch_size: int = 500
    fetch_timeout: float = 1.0
    ack_wait: float = 60.0
    nak_delay: float = 0.5
    max_nak_delay: float = 30.0
    start_position: int | None = None
    """Where a new durable starts: the stream's beginning (None) or this stream position.
    An existing durable goes on from what it acknowledged."""


@dataclass(frozen=True, slots=True)
class _Arrival:
    """A received message, decoded on arrival (while the handler waits on its database)."""

    msg: Msg
    position: int
    event: RecordedEvent | None  # None: not wanted, or not an event (then ``error``)
    error: ValueError | None = None


class _PullFeed:
    """Pull requests on one durable consumer, answered into a callback-fed buffer.

    At most one request is open; the next goes out as soon as it is answered in full, ended
    by a status (no messages, request timeout, ...) or overdue.
    """

    def __init__(
        self,
        nc: NatsClient,
        settings: ConsumerSettings,
        prepare: Callable[[Msg], _Arrival],
    ) -> None:
        self._nc = nc
        self._api = f"$JS.API.CONSUMER.MSG.NEXT.{settings.stream}.{settings.durable}"
        self._batch = settings.batch_size
        self._expires = settings.fetch_timeout
        self._prepare = prepare
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._buffer: list[_Arrival] = []
        self._arrived = asyncio.Event()
        self._awaiting = 0  # messages the open request may still bring
        self._overdue_at = 0.0

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._receive)

    async def close(self) -> list[_Arrival]:
        """Stop receiving; return what was received and not taken."""
        if self._sub is not None:
            await self._sub.unsubscribe()
        left, self._buffer = self._buffer, []
        return left

    async def _receive(self, msg: Msg) -> None:
        if not msg.data and msg.headers and "Status" in msg.headers:
            if msg.headers["Status"] != "100":  # anything but a heartbeat ends the request
                self._awaiting = 0
        else:
            self._buffer.append(self._prepare(msg))
            self._awaiting -= 1
        self._arrived.set()

    def _request_open(self) -> bool:
        loop = asyncio.get_running_loop()
        return self._awaiting > 0 and loop.time() < self._overdue_at

    async def _request(self) -> None:
        if self._request_open() or not self._nc.is_connected:
            return
        self._awaiting = self._batch
        self._overdue_at = asyncio.get_running_loop().time() + self._expires + 1.0
        body = {"batch": self._batch, "expires": int(self._expires * 1e9)}
        await self._nc.publish(self._api, json.dumps(body).encode(), reply=self._inbox)

    async def next(self, wait: float) -> list[_Arrival]:
        """What has arrived, up to a batch, waiting up to ``wait`` seconds for anything."""
        await self._request()
        if not self._buffer:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), wait)
            except TimeoutError:
                return []
        taken, self._buffer = self._buffer[: self._batch], self._buffer[self._batch :]
        await self._request()  # the next batch arrives while this one is handled
        return taken

    def pending(self) -> list[_Arrival]:
        return list(self._buffer)


class CatchUpSubscription:
    """Reads the stream from the consumer's position onwards and hands batches to a handler."""

    def __init__(
        self,
        nc: NatsClient,
        settings: ConsumerSettings,
        handler: Handler,
        *,
        event_types: Collection[str] | None = None,
        on_poison: PoisonHandler | None = None,
    ) -> None:
        self._nc = nc
        self._settings = settings
        self._handler = handler
        self._event_types = frozenset(event_types) if event_types is not None else None
        self._on_poison = on_poison
        self._stopping = asyncio.Event()
        self._position = 0
        self.failures = 0
        """How many times the handler has failed since start."""

    @property
    def position(self) -> int:
        """Stream position of the last message this subscription acknowledged."""
        return self._position

    async def run(self) -> None:
        """Consume until :meth:`stop` is called."""
        await self._ensure_consumer()
        feed = _PullFeed(self._nc, self._settings, self._prepare)
        await feed.start()
        try:
            while not self._stopping.is_set():
                try:
                    arrivals = await feed.next(self._settings.fetch_timeout)
                except Exception:
                    # A broken connection or a server hiccup must not end the subscription:
                    # it reconnects, and the consumer redelivers whatever was not acked.
                    _log.exception("pull failed", extra={"consumer": self._settings.durable})
                    await self._pause(self._settings.fetch_timeout)
                    continue
                if arrivals:
                    await self._process(arrivals, feed)
        finally:
            for arrival in await feed.close():
                await _quietly(arrival.msg.nak())

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand."""
        self._stopping.set()

    def _prepare(self, msg: Msg) -> _Arrival:
        position = _position(msg)
        wanted = self._event_types
        if wanted is not None and (msg.headers or {}).get(HEADER_EVENT_TYPE) not in wanted:
            return _Arrival(msg, position, None)
        try:
            return _Arrival(msg, position, RecordedEvent(decode(msg.data), position))
        except ValueError as error:
            return _Arrival(msg, position, None, error)

    async def _ensure_consumer(self) -> None:
        """Create the durable consumer unless it exists.

        Acks are per message, never cumulative: after a crash, what the dead process held
        comes back only after ``ack_wait`` while newer messages flow at once, so a
        cumulative ack by the new process would acknowledge events nobody handled.
        """
        s = self._settings
        js = self._nc.jetstream()
        try:
            await js.consumer_info(s.stream, s.durable)
            return
        except nats.js.errors.NotFoundError:
            pass
        config = ConsumerConfig(
            durable_name=s.durable,
            filter_subject=s.filter_subject,
            deliver_policy=(
                DeliverPolicy.ALL if s.start_position is None else DeliverPolicy.BY_START_SEQUENCE
            ),
            opt_start_seq=s.start_position,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=s.ack_wait,
            max_deliver=-1,
            max_ack_pending=max(1000, s.batch_size * 4),
        )
        await js.add_consumer(s.stream, config)

    async def _pause(self, seconds: float) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _process(self, arrivals: list[_Arrival], feed: _PullFeed) -> None:
        attempt = 0
        while True:
            try:
                events = await self._events(arrivals)
                await self._handler(Batch(events, arrivals[-1].position))
                break
            except Exception:
                self.failures += 1
                attempt += 1
                s = self._settings
                delay = min(s.nak_delay * 2 ** (attempt - 1), s.max_nak_delay)
                _log.exception(
                    "handler failed; the batch will be handed over again",
                    extra={
                        "consumer": s.durable,
                        "events": len(arrivals),
                        "attempt": attempt,
                        "retry_in_s": delay,
                    },
                )
                await self._pause(delay)
                if self._stopping.is_set():
                    for arrival in arrivals:
                        await _quietly(arrival.msg.nak())
                    return
                for arrival in [*arrivals, *feed.pending()]:  # no redelivery while we retry
                    await _quietly(arrival.msg.in_progress())
        for arrival in arrivals:
            await arrival.msg.ack()
        self._position = arrivals[-1].position

    async def _events(self, arrivals: list[_Arrival]) -> list[RecordedEvent]:
        """The batch's events; what is not an event goes to ``on_poison`` (or fails it)."""
        events = []
        for arrival in arrivals:
            if arrival.event is not None:
                events.append(arrival.event)
            elif arrival.error is not None:
                if self._on_poison is None:
                    raise arrival.error
                msg = arrival.msg
                await self._on_poison(arrival.position, msg.subject, msg.data, arrival.error)
        return events


def _position(msg: Msg) -> int:
    """The stream sequence of a JetStream message, read from its reply subject alone
    (``$JS.ACK.[<domain>.<account>.]<stream>.<consumer>.<delivered>.<stream seq>...``)."""
    tokens = msg.reply.split(".")
    return int(tokens[5] if len(tokens) == 9 else tokens[7])


async def _quietly(action: Awaitable[None]) -> None:
    """Acks on a closed connection fail; the server redelivers after ``ack_wait`` anyway."""
    try:
        await action
    except (nats.errors.Error, OSError) as error:
        _log.debug("ack-type reply not sent: %s", error)
