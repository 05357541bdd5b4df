"""The TICKETS stream: its configuration, and the server features it needs.

nats-py 2.16 has no field for ``allow_atomic``, so the stream is created and checked with
the raw JetStream API (``$JS.API.STREAM.*``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client as NatsClient

from ticketstream.events import ALL_TICKETS, STREAM_NAME

from .errors import EventStoreError, UnsupportedServer

MIN_SERVER_VERSION = (2, 12, 0)
"""Atomic batch publish (``allow_atomic``) arrived in nats-server 2.12."""

_NANOS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """Every setting of the TICKETS stream (the event store).

    Retention keeps every event forever (limits with no limit); messages cannot be deleted
    or purged; ``replicas`` is 1 for one machine and 3 in production.
    """

    name: str = STREAM_NAME
    subjects: tuple[str, ...] = (ALL_TICKETS,)
    replicas: int = 1
    max_msg_size: int = 1024 * 1024
    duplicate_window_seconds: float = 120.0
    storage: str = "file"

    def to_api(self) -> dict[str, Any]:
        """The stream configuration as the JetStream API takes it."""
        return {
            "name": self.name,
            "description": "Ticketstream ticket events, one subject per ticket",
            "subjects": list(self.subjects),
            "retention": "limits",
            "max_consumers": -1,
            "max_msgs": -1,
            "max_bytes": -1,
            "max_age": 0,
            "max_msgs_per_subject": -1,
            "max_msg_size": self.max_msg_size,
            "discard": "old",
            "storage": self.storage,
            "num_replicas": self.replicas,
            "duplicate_window": int(self.duplicate_window_seconds * _NANOS),
            "deny_delete": True,
            "deny_purge": True,
            "allow_direct": True,
            "allow_atomic": True,
            "allow_rollup_hdrs": False,
        }


def check_server(nc: NatsClient) -> None:
    """Refuse a NATS server older than the event store needs, with a message that helps."""
    version = nc.connected_server_version
    found = (version.major, version.minor, version.patch)
    if found < MIN_SERVER_VERSION:
        need = ".".join(map(str, MIN_SERVER_VERSION))
        raise UnsupportedServer(
            f"the NATS server at {nc.connected_url.geturl() if nc.connected_url else '?'} is "
            f"{'.'.join(map(str, found))}, but Ticketstream needs {need} or newer with "
            "JetStream (the event store appends a command's events as one atomic batch). "
            "Point NATS_URL at a newer server, or run `make run` for the embedded one."
        )
    if not nc._server_info.get("jetstream", False):
        raise UnsupportedServer(
            "the NATS server has JetStream disabled; start it with `-js` "
            "(or `jetstream {}` in its configuration)"
        )


async def _api(
    nc: NatsClient, subject: str, payload: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = json.dumps(payload).encode() if payload is not None else b""
    reply = await nc.request(f"$JS.API.{subject}", body, timeout=10)
    answer: dict[str, Any] = json.loads(reply.data)
    return answer


async def ensure_stream(nc: NatsClient, settings: StreamSettings) -> dict[str, Any]:
    """Create the stream, or bring an existing one to these settings; return its config."""
    check_server(nc)
    config = settings.to_api()
    answer = await _api(nc, f"STREAM.CREATE.{settings.name}", config)
    error = answer.get("error")
    if error and error.get("err_code") == 10058:  # stream name already in use
        answer = await _api(nc, f"STREAM.UPDATE.{settings.name}", config)
        error = answer.get("error")
    if error:
        raise EventStoreError(
            f"could not create or update stream {settings.name}: {error.get('description')} "
            f"(code {error.get('err_code')})"
        )
    applied: dict[str, Any] = answer["config"]
    for feature in ("allow_atomic", "allow_direct"):
        if not applied.get(feature):
            raise UnsupportedServer(
                f"the NATS server ignored {feature} on stream {settings.name}: it is too old "
                "for Ticketstream's event store (needs nats-server 2.12 or newer)"
            )
    return applied
