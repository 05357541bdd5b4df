"""Ticketstream's event store on NATS JetStream, its in-memory twin, and catch-up subscriptions."""

from .attachments import AttachmentStore
from .commanding import DEFAULT_ATTEMPTS, Clock, Decision, load_decide_append
from .connect import connect, open_event_store
from .errors import ConcurrencyConflict, EventStoreError, UnsupportedServer, WrongExpectedVersion
from .jetstream import JetStreamEventStore
from .memory import InMemoryEventStore
from .model import AppendResult, RecordedEvent, TicketStream
from .port import EventStore
from .stream import MIN_SERVER_VERSION, StreamSettings, check_server, ensure_stream
from .subscription import Batch, CatchUpSubscription, ConsumerSettings, Handler, PoisonHandler

__all__ = [
    "DEFAULT_ATTEMPTS",
    "MIN_SERVER_VERSION",
    "AppendResult",
    "AttachmentStore",
    "Batch",
    "CatchUpSubscription",
    "Clock",
    "ConcurrencyConflict",
    "ConsumerSettings",
    "Decision",
    "EventStore",
    "EventStoreError",
    "Handler",
    "InMemoryEventStore",
    "JetStreamEventStore",
    "PoisonHandler",
    "RecordedEvent",
    "StreamSettings",
    "TicketStream",
    "UnsupportedServer",
    "WrongExpectedVersion",
    "check_server",
    "connect",
    "ensure_stream",
    "load_decide_append",
    "open_event_store",
]
