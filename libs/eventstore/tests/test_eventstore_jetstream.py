"""What only the JetStream store has: the server's answers, the stream, lost acknowledgements."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import nats.errors
import pytest
from nats.aio.client import Client as NatsClient

from ticketstream.events import Envelope, encode, ticket_subject
from ticketstream.eventstore import (
    AttachmentStore,
    JetStreamEventStore,
    StreamSettings,
    UnsupportedServer,
    WrongExpectedVersion,
    check_server,
    ensure_stream,
)

from .conftest import created, envelopes, new_ticket_id, note

pytestmark = pytest.mark.integration


class AckLosingStore(JetStreamEventStore):
    """Publishes for real, but the first acknowledgement never reaches the caller."""

    lost = 0

    async def _publish(
        self, ticket_id: str, events: Sequence[Envelope], expected_position: int
    ) -> dict[str, Any]:
        answer = await super()._publish(ticket_id, events, expected_position)
        if self.lost == 0:
            self.lost += 1
            raise nats.errors.TimeoutError
        return answer


async def test_the_server_answers_a_retried_append_with_wrong_sequence(nc: NatsClient) -> None:
    ticket_id = new_ticket_id()
    [event] = envelopes([created(ticket_id)], 1)
    headers = {"Nats-Msg-Id": event.id, "Nats-Expected-Last-Subject-Sequence": "0"}
    first = await nc.request(ticket_subject(ticket_id), encode(event), headers=headers)
    again = await nc.request(ticket_subject(ticket_id), encode(event), headers=headers)
    assert "error" not in json.loads(first.data)
    assert json.loads(again.data)["error"]["err_code"] == 10071


@pytest.mark.parametrize("count", [1, 3])
async def test_an_append_whose_ack_was_lost_lands_once(nc: NatsClient, count: int) -> None:
    ticket_id = new_ticket_id()
    store = AckLosingStore(nc)
    events = envelopes([created(ticket_id), *(note(ticket_id, n) for n in range(count - 1))], 1)
    result = await store.append(ticket_id, events, 0)
    assert store.lost == 1
    assert result.version == count
    stream = await JetStreamEventStore(nc).load(ticket_id)
    assert [e.envelope.id for e in stream.events] == [e.id for e in events]


async def test_another_process_retrying_the_same_append_is_recognised(nc: NatsClient) -> None:
    ticket_id = new_ticket_id()
    batch = envelopes([created(ticket_id)], 1)
    first = await JetStreamEventStore(nc).append(ticket_id, batch, 0)
    assert await JetStreamEventStore(nc).append(ticket_id, batch, 0) == first


async def test_a_stale_batch_writes_nothing_on_the_server(nc: NatsClient) -> None:
    ticket_id = new_ticket_id()
    store = JetStreamEventStore(nc)
    await store.append(ticket_id, envelopes([created(ticket_id), note(ticket_id)], 1), 0)
    info_before = await nc.jetstream().stream_info("TICKETS")
    with pytest.raises(WrongExpectedVersion):
        await JetStreamEventStore(nc).append(
            ticket_id, envelopes([note(ticket_id, 1), note(ticket_id, 2)], 2), 1
        )
    info_after = await nc.jetstream().stream_info("TICKETS")
    assert (await store.load(ticket_id)).version == 2
    assert info_after.state.messages == info_before.state.messages


async def test_the_stream_is_configured_for_an_event_store(nc: NatsClient) -> None:
    config = await ensure_stream(nc, StreamSettings())
    again = await ensure_stream(nc, StreamSettings())
    assert config == again
    assert config["subjects"] == ["tickets.*"]
    assert config["storage"] == "file"
    assert config["allow_atomic"] is True
    assert config["allow_direct"] is True
    assert config["deny_delete"] is True
    assert config["deny_purge"] is True
    assert config["max_msg_size"] == 1024 * 1024
    assert config["duplicate_window"] == 120 * 1_000_000_000
    assert config["num_replicas"] == 1


async def test_loading_one_ticket_ignores_every_other_ticket(nc: NatsClient) -> None:
    js = nc.jetstream()
    store = JetStreamEventStore(nc)
    mine = new_ticket_id()
    await store.append(mine, envelopes([created(mine)], 1), 0)
    others = [new_ticket_id() for _ in range(2000)]
    futures = [
        await js.publish_async(ticket_subject(t), encode(envelopes([created(t)], 1)[0]))
        for t in others
    ]
    await asyncio.gather(*futures)
    await store.append(mine, envelopes([note(mine)], 2), 1)
    started = time.perf_counter()
    stream = await JetStreamEventStore(nc).load(mine)
    elapsed = time.perf_counter() - started
    assert [e.envelope.ticket_id for e in stream.events] == [mine, mine]
    assert elapsed < 1.0  # generous: the figure that matters is in `make bench`


def test_a_server_older_than_2_12_is_refused_with_a_clear_message() -> None:
    old = SimpleNamespace(
        connected_server_version=SimpleNamespace(major=2, minor=9, patch=25),
        connected_url=SimpleNamespace(geturl=lambda: "nats://old:4222"),
        _server_info={"jetstream": True},
    )
    with pytest.raises(UnsupportedServer, match=r"nats://old:4222 is 2\.9\.25.*2\.12\.0 or newer"):
        check_server(old)  # type: ignore[arg-type]


def test_a_server_without_jetstream_is_refused() -> None:
    plain = SimpleNamespace(
        connected_server_version=SimpleNamespace(major=2, minor=15, patch=1),
        connected_url=None,
        _server_info={},
    )
    with pytest.raises(UnsupportedServer, match="JetStream disabled"):
        check_server(plain)  # type: ignore[arg-type]


async def test_the_real_server_passes_the_check(nc: NatsClient) -> None:
    check_server(nc)


async def test_an_attachment_is_stored_once_and_read_back(nc: NatsClient) -> None:
    attachments = await AttachmentStore.open(nc)
    data = b"%PDF-1.4 fake invoice " * 10_000  # several object-store chunks
    first = await attachments.put("invoice.pdf", "application/pdf", data)
    again = await attachments.put("copy.pdf", "application/pdf", data)
    assert first.object_name == again.object_name == first.sha256
    assert (first.size, again.filename) == (len(data), "copy.pdf")
    assert await attachments.get(first) == data
    reopened = await AttachmentStore.open(nc)
    assert await reopened.get(again) == data
