"""Catch-up subscriptions: a durable JetStream pull consumer feeding a handler in batches.

Ack policy, chosen on purpose:
- a batch is acknowledged only after the handler returned;
- when the handler raises, every message of the batch is negatively acknowledged with a
  delay (growing with each redelivery, up to ``max_nak_delay``), never terminated: an event
  is never dropped because a handler failed. ``max_deliver`` is unlimited, so a handler that
  keeps failing stalls its consumer visibly (logged on every try) instead of losing events;
- a message that is not a valid ticket event is handed to ``on_poison`` when given (the
  caller records it, e.g. in a dead-letter table, and the batch goes on); without one it is
  treated like a handler failure.

One consumer processes its batches one after another, so the order of each ticket's events
(indeed of the whole stream) is kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
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
PoisonHandler = Callable[[int, bytes, Exception], Awaitable[None]]
"""Called with the stream position, the raw payload and the decoding error."""

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
        """How many batches the handler has failed on since start."""

    @property
    def position(self) -> int:
        """Stream position of the last message this subscription acknowledged."""
        return self._position

    async def run(self) -> None:
        """Consume until :meth:`stop` is called."""
        js = self._nc.jetstream()
        s = self._settings
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
            max_ack_pending=max(1000, s.batch_size * 2),
        )
        psub = await js.pull_subscribe(
            s.filter_subject, durable=s.durable, stream=s.stream, config=config
        )
        try:
            while not self._stopping.is_set():
                try:
                    msgs = await psub.fetch(s.batch_size, timeout=s.fetch_timeout)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                except Exception:
                    # A broken connection or a server hiccup must not end the subscription:
                    # it reconnects, and the consumer redelivers whatever was not acked.
                    _log.exception("fetch failed", extra={"consumer": s.durable})
                    await asyncio.sleep(s.fetch_timeout)
                    continue
                if msgs:  # a pull can end with a status and no message
                    await self._process(msgs)
        finally:
            await psub.unsubscribe()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand."""
        self._stopping.set()

    async def _process(self, msgs: list[Msg]) -> None:
        try:
            events = await self._decode(msgs)
            await self._handler(Batch(events, msgs[-1].metadata.sequence.stream))
        except Exception:
            self.failures += 1
            attempt = max(m.metadata.num_delivered or 1 for m in msgs)
            delay = min(self._settings.nak_delay * 2 ** (attempt - 1), self._settings.max_nak_delay)
            _log.exception(
                "handler failed; batch will be redelivered",
                extra={
                    "consumer": self._settings.durable,
                    "events": len(msgs),
                    "delivery": attempt,
                    "retry_in_s": delay,
                },
            )
            for msg in msgs:
                await msg.nak(delay=delay)
            return
        for msg in msgs:
            await msg.ack()
        self._position = msgs[-1].metadata.sequence.stream

    async def _decode(self, msgs: list[Msg]) -> list[RecordedEvent]:
        events = []
        for msg in msgs:
            position = msg.metadata.sequence.stream
            wanted = self._event_types
            if wanted is not None and (msg.headers or {}).get(HEADER_EVENT_TYPE) not in wanted:
                continue
            try:
                envelope = decode(msg.data)
            except ValueError as error:
                if self._on_poison is None:
                    raise
                await self._on_poison(position, msg.data, error)
                continue
            events.append(RecordedEvent(envelope, position))
        return events
