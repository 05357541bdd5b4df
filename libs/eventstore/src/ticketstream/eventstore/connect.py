"""Connecting a service to the event store: one call, clear errors."""

from __future__ import annotations

import nats
from nats.aio.client import Client as NatsClient

from .errors import EventStoreError
from .jetstream import JetStreamEventStore
from .stream import StreamSettings, ensure_stream


async def connect(nats_url: str, *, client_name: str) -> NatsClient:
    """A NATS connection that keeps reconnecting once it is up."""
    try:
        return await nats.connect(
            servers=[url.strip() for url in nats_url.split(",")],
            name=client_name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            allow_reconnect=True,
        )
    except Exception as error:
        raise EventStoreError(
            f"cannot connect to NATS at {nats_url}: {error or type(error).__name__}. "
            "Is the server running? Set NATS_URL to its address."
        ) from error


async def open_event_store(
    nats_url: str, *, client_name: str, settings: StreamSettings | None = None
) -> tuple[NatsClient, JetStreamEventStore]:
    """Connect, check the server, create or update the TICKETS stream, return the store."""
    settings = settings or StreamSettings()
    nc = await connect(nats_url, client_name=client_name)
    try:
        await ensure_stream(nc, settings)
    except BaseException:
        await nc.close()
        raise
    return nc, JetStreamEventStore(nc, settings)
