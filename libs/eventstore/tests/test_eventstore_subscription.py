"""Catch-up subscriptions on a real server: order, redelivery, restart, poison messages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from nats.aio.client import Client as NatsClient

from ticketstream.events import ticket_subject
from ticketstream.eventstore import (
    Batch,
    CatchUpSubscription,
    ConsumerSettings,
    JetStreamEventStore,
)

from .conftest import created, envelopes, new_ticket_id, note

pytestmark = pytest.mark.integration


def settings(durable: str, ticket_id: str) -> ConsumerSettings:
    # Each test reads only its own ticket, so tests sharing the stream stay independent.
    return ConsumerSettings(
        durable=durable,
        filter_subject=ticket_subject(ticket_id),
        batch_size=50,
        fetch_timeout=0.2,
        nak_delay=0.05,
    )


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def running(sub: CatchUpSubscription) -> asyncio.Task[None]:
    return asyncio.create_task(sub.run())


async def stop(sub: CatchUpSubscription, task: asyncio.Task[None]) -> None:
    sub.stop()
    await asyncio.wait_for(task, 5)


async def seed(nc: NatsClient, ticket_id: str, notes: int) -> None:
    store = JetStreamEventStore(nc)
    await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)
    for n in range(notes):
        await store.append(ticket_id, envelopes([note(ticket_id, n)], n + 2), n + 1)


def collector() -> tuple[list[int], Callable[[Batch], Awaitable[None]]]:
    versions: list[int] = []

    async def handle(batch: Batch) -> None:
        versions.extend(e.envelope.ticket_version for e in batch.events)

    return versions, handle


async def test_events_arrive_in_order_and_the_position_advances(nc: NatsClient) -> None:
    ticket_id = new_ticket_id()
    await seed(nc, ticket_id, 30)
    versions, handle = collector()
    durable = f"t-{uuid.uuid4().hex}"
    sub = CatchUpSubscription(nc, settings(durable, ticket_id), handle)
    task = await running(sub)
    await until(lambda: len(versions) == 31)
    await stop(sub, task)
    assert versions == list(range(1, 32))
    last = (await JetStreamEventStore(nc).load(ticket_id)).position
    assert sub.position == last
    info = await nc.jetstream().consumer_info("TICKETS", durable)
    assert (info.num_ack_pending, info.ack_floor.stream_seq) == (0, last)


async def test_a_failing_handler_gets_the_batch_again_and_loses_nothing(nc: NatsClient) -> None:
    ticket_id = new_ticket_id()
    await seed(nc, ticket_id, 5)
    versions: list[int] = []
    failures = 0

    async def flaky(batch: Batch) -> None:
        nonlocal failures
        if failures < 2:
            failures += 1
            raise RuntimeError("database went away")
        versions.extend(e.envelope.ticket_version for e in batch.events)

    sub = CatchUpSubscription(nc, settings(f"t-{uuid.uuid4().hex}", ticket_id), flaky)
    task = await running(sub)
    await until(lambda: len(versions) >= 6)
    await stop(sub, task)
    assert versions == list(range(1, 7))  # retried in place: order holds
    assert sub.failures == 2


async def test_a_restarted_subscription_continues_after_what_it_acknowledged(
    nc: NatsClient,
) -> None:
    ticket_id = new_ticket_id()
    durable = f"t-{uuid.uuid4().hex}"
    await seed(nc, ticket_id, 4)
    first, handle_first = collector()
    sub = CatchUpSubscription(nc, settings(durable, ticket_id), handle_first)
    task = await running(sub)
    await until(lambda: len(first) == 5)
    await stop(sub, task)

    store = JetStreamEventStore(nc)
    await store.append(ticket_id, envelopes([note(ticket_id, 9)], 6), 5)
    second, handle_second = collector()
    sub = CatchUpSubscription(nc, settings(durable, ticket_id), handle_second)
    task = await running(sub)
    await until(lambda: len(second) == 1)
    await asyncio.sleep(0.3)
    await stop(sub, task)
    assert first == [1, 2, 3, 4, 5]
    assert second == [6]


async def test_a_poison_message_goes_to_its_handler_and_the_stream_goes_on(
    nc: NatsClient,
) -> None:
    ticket_id = new_ticket_id()
    await seed(nc, ticket_id, 1)
    ack = await nc.jetstream().publish(ticket_subject(ticket_id), b"{not an event")

    poisoned: list[int] = []

    async def on_poison(position: int, subject: str, raw: bytes, error: Exception) -> None:
        poisoned.append(position)

    versions, handle = collector()
    sub = CatchUpSubscription(
        nc, settings(f"t-{uuid.uuid4().hex}", ticket_id), handle, on_poison=on_poison
    )
    task = await running(sub)
    await until(lambda: sub.position == ack.seq)
    await stop(sub, task)
    assert poisoned == [ack.seq]
    assert versions == [1, 2]


async def test_without_a_poison_handler_a_bad_message_is_never_acknowledged(
    nc: NatsClient,
) -> None:
    ticket_id = new_ticket_id()
    await nc.jetstream().publish(ticket_subject(ticket_id), b"garbage")
    versions, handle = collector()
    sub = CatchUpSubscription(nc, settings(f"t-{uuid.uuid4().hex}", ticket_id), handle)
    task = await running(sub)
    await until(lambda: sub.failures >= 2)
    await stop(sub, task)
    assert versions == []
    assert sub.position == 0


async def test_unwanted_event_types_are_skipped_by_header(nc: NatsClient) -> None:
    ticket_id = new_ticket_id()
    await seed(nc, ticket_id, 3)
    versions, handle = collector()
    positions: list[int] = []

    async def handle_and_track(batch: Batch) -> None:
        positions.append(batch.last_position)
        await handle(batch)

    sub = CatchUpSubscription(
        nc,
        settings(f"t-{uuid.uuid4().hex}", ticket_id),
        handle_and_track,
        event_types={"io.ticketstream.ticket.created.v1"},
    )
    task = await running(sub)
    last = (await JetStreamEventStore(nc).load(ticket_id)).position
    await until(lambda: bool(positions) and positions[-1] == last)
    await stop(sub, task)
    assert versions == [1]


async def test_an_idle_subscription_keeps_running_until_events_come(nc: NatsClient) -> None:
    ticket_id = new_ticket_id()
    versions, handle = collector()
    # The default pull timeout: the server's "request timeout" status can beat the client's.
    idle = ConsumerSettings(
        durable=f"t-{uuid.uuid4().hex}", filter_subject=ticket_subject(ticket_id)
    )
    sub = CatchUpSubscription(nc, idle, handle)
    task = await running(sub)
    await asyncio.sleep(3.5)  # several empty pulls
    assert not task.done()
    await seed(nc, ticket_id, 2)
    await until(lambda: len(versions) == 3)
    await stop(sub, task)
    assert versions == [1, 2, 3]
