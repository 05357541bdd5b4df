"""The routing replicas' shared state in the ``routing`` KV bucket, on a real NATS server.

Every test uses its own department, ticket and agent ids: the bucket name is fixed, so tests
(and other test modules) share one bucket.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import StorageType
from nats.js.kv import KeyValue

from ticketstream.routing.assignment import choose_round_robin
from ticketstream.routing.shared_state import (
    OpenAssignments,
    RoundRobinPointers,
    Timers,
    open_bucket,
)

pytestmark = pytest.mark.integration

_serial = itertools.count(1)


def unique_tickets(count: int) -> list[str]:
    """Ticket ids ([0-9A-Z]{4,32}) no other test uses."""
    run = uuid.uuid4().hex[:12].upper()
    return [f"T{run}{next(_serial):06d}" for _ in range(count)]


def unique(name: str) -> str:
    """A department or agent id no other test uses."""
    return f"{name}-{uuid.uuid4().hex[:10]}"


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``check()`` holds (the watch of another instance has caught up)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached within timeout")
        await asyncio.sleep(0.02)


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


@pytest.fixture
async def kv(nc: Client) -> KeyValue:
    return await open_bucket(nc)


async def test_open_bucket_creates_once_then_opens(nc: Client) -> None:
    buckets = await asyncio.gather(*(open_bucket(nc) for _ in range(3)))
    for bucket in buckets:
        status = await bucket.status()
        assert status.bucket == "routing"
        assert status.history == 1
        assert status.stream_info.config.storage == StorageType.FILE


async def test_round_robin_cycles_through_members_in_order(kv: KeyValue) -> None:
    pointers = RoundRobinPointers(kv)
    department = unique("it.support")
    members = ["ana", "ben", "cleo"]

    def choose(last: str | None) -> str | None:
        return choose_round_robin(members, last)

    turns = [await pointers.advance(department, choose) for _ in range(7)]

    assert turns == ["ana", "ben", "cleo", "ana", "ben", "cleo", "ana"]
    assert await pointers.last(department) == "ana"


async def test_a_none_choice_takes_no_turn(kv: KeyValue) -> None:
    pointers = RoundRobinPointers(kv)
    department = unique("sales")

    assert await pointers.advance(department, lambda last: None) is None
    assert await pointers.last(department) is None
    assert await pointers.advance(department, lambda last: "ana") == "ana"
    assert await pointers.advance(department, lambda last: None) is None
    assert await pointers.last(department) == "ana"


async def test_department_ids_with_odd_dots_still_make_keys(kv: KeyValue) -> None:
    pointers = RoundRobinPointers(kv)
    base = unique("x")
    for department in (f"{base}.", f"{base}..b", f"{base}.b"):
        assert await pointers.advance(department, lambda last: "ana") == "ana"
    with pytest.raises(ValueError, match="department id"):
        await pointers.advance("IT Support", lambda last: "ana")


async def test_concurrent_advances_never_take_the_same_turn(nats_url: str) -> None:
    """Two replicas (own connections), 100 turns each: 200 distinct consecutive turns."""
    department = unique("helpdesk")
    clients = [await nats.connect(nats_url) for _ in range(2)]
    try:
        replicas = [RoundRobinPointers(await open_bucket(client)) for client in clients]

        def increment(last: str | None) -> str:
            return str(int(last or "0") + 1)

        async def take_turns(pointers: RoundRobinPointers) -> list[str | None]:
            return [await pointers.advance(department, increment) for _ in range(100)]

        results = await asyncio.gather(*(take_turns(replica) for replica in replicas))
    finally:
        for client in clients:
            await client.close()

    turns = [int(turn) for turns in results for turn in turns if turn is not None]
    assert len(turns) == 200
    assert sorted(turns) == list(range(1, 201))
    for own in results:  # each replica's turns go up
        numbers = [int(turn) for turn in own if turn is not None]
        assert numbers == sorted(numbers)


async def test_open_assignments_count_sets_and_deletes(kv: KeyValue) -> None:
    ana, ben = unique("ana"), unique("ben")
    t1, t2, t3 = unique_tickets(3)
    assignments = OpenAssignments(kv)
    await assignments.start()
    try:
        await assignments.set(t1, ana)
        await assignments.set(t2, ana)
        await assignments.set(t3, ben)
        counts = assignments.counts()  # own writes are seen at once, without waiting
        assert (counts.get(ana), counts.get(ben)) == (2, 1)

        await assignments.set(t2, ben)  # reassigned
        await assignments.set(t3, None)  # closed
        await assignments.set(t3, None)  # idempotent
        await assignments.set(t1, ana)  # idempotent
        counts = assignments.counts()
        assert (counts.get(ana), counts.get(ben)) == (1, 1)
        assert assignments.agent_of(t3) is None

        await asyncio.sleep(0.2)  # the watch delivers the same writes: nothing changes
        counts = assignments.counts()
        assert (counts.get(ana), counts.get(ben)) == (1, 1)
        assert assignments.agent_of(t2) == ben
    finally:
        await assignments.stop()


async def test_a_burst_of_writes_to_one_ticket_never_goes_back(kv: KeyValue) -> None:
    """The watch delivering older writes after newer own writes does not regress the mirror."""
    (ticket,) = unique_tickets(1)
    agents = [unique(f"agent{i}") for i in range(5)]
    assignments = OpenAssignments(kv)
    await assignments.start()
    try:
        for _ in range(30):
            for agent in agents:
                await assignments.set(ticket, agent)
                assert assignments.agent_of(ticket) == agent
            await assignments.set(ticket, None)
            assert assignments.agent_of(ticket) is None
        await assignments.set(ticket, agents[0])
        for _ in range(20):
            assert assignments.agent_of(ticket) == agents[0]
            await asyncio.sleep(0.01)
    finally:
        await assignments.stop()


async def test_another_replica_sees_assignments_on_start_and_live(nats_url: str) -> None:
    ana, ben = unique("ana"), unique("ben")
    t1, t2, t3 = unique_tickets(3)
    clients = [await nats.connect(nats_url) for _ in range(2)]
    first = OpenAssignments(await open_bucket(clients[0]))
    second = OpenAssignments(await open_bucket(clients[1]))
    try:
        await first.start()
        await first.set(t1, ana)
        await first.set(t2, ana)

        await second.start()  # loads what is there
        counts = second.counts()
        assert counts.get(ana) == 2

        await first.set(t3, ben)  # live updates
        await first.set(t1, None)
        await eventually(lambda: second.counts().get(ben) == 1 and second.counts().get(ana) == 1)
        assert second.agent_of(t1) is None

        await second.set(t2, ben)  # and back
        await eventually(lambda: first.counts().get(ben) == 2 and ana not in first.counts())
    finally:
        await first.stop()
        await second.stop()
        for client in clients:
            await client.close()


async def test_a_restarted_replica_finds_the_assignments(kv: KeyValue) -> None:
    ana = unique("ana")
    t1, t2 = unique_tickets(2)
    before = OpenAssignments(kv)
    await before.start()
    await before.set(t1, ana)
    await before.set(t2, ana)
    await before.set(t2, None)
    await before.stop()

    after = OpenAssignments(kv)
    await after.start()
    try:
        assert after.counts().get(ana) == 1
        assert after.agent_of(t1) == ana
        assert after.agent_of(t2) is None
    finally:
        await after.stop()

    await before.start()  # a stopped instance can start again
    try:
        assert before.counts().get(ana) == 1
    finally:
        await before.stop()


async def test_ticket_ids_are_checked(kv: KeyValue) -> None:
    with pytest.raises(ValueError, match="ticket id"):
        await OpenAssignments(kv).set("t-1", "ana")
    with pytest.raises(ValueError, match="ticket id"):
        await Timers(kv).set("ABC", datetime.now(UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        await Timers(kv).set(unique_tickets(1)[0], datetime(2024, 1, 1))


async def test_timers_are_due_earliest_first(kv: KeyValue) -> None:
    t1, t2, t3, t4 = unique_tickets(4)
    base = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
    timers = Timers(kv)
    await timers.start()
    try:
        await timers.set(t1, base + timedelta(hours=2))
        await timers.set(t2, base)
        await timers.set(t3, base + timedelta(hours=1))
        await timers.set(t4, base + timedelta(days=30))
        mine = {t1, t2, t3, t4}

        def due(at: datetime) -> list[str]:
            return [ticket for ticket in timers.due(at) if ticket in mine]

        assert due(base - timedelta(seconds=1)) == []
        assert due(base) == [t2]  # at the moment itself
        assert due(base + timedelta(hours=1, minutes=30)) == [t2, t3]
        assert due(base + timedelta(days=1)) == [t2, t3, t1]

        # next_at is the earliest timer of all (other tests' timers share the bucket)
        everything = timers.due(datetime.max.replace(tzinfo=UTC))
        assert timers.next_at() == timers.get(everything[0])
        assert timers.get(t2) == base

        await timers.set(t2, None)  # deleted
        await timers.set(t3, base + timedelta(days=2))  # moved
        assert due(base + timedelta(days=1)) == [t1]
        assert timers.get(t2) is None
        assert timers.get(t3) == base + timedelta(days=2)

        # Instants in another zone are stored in UTC.
        await timers.set(t1, datetime(2024, 3, 4, 12, 0, tzinfo=timezone(timedelta(hours=2))))
        assert timers.get(t1) == datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
    finally:
        await timers.stop()


async def test_another_replica_sees_timers(nats_url: str) -> None:
    t1, t2 = unique_tickets(2)
    at = datetime(2023, 6, 1, 8, 30, tzinfo=UTC)
    clients = [await nats.connect(nats_url) for _ in range(2)]
    first = Timers(await open_bucket(clients[0]))
    second = Timers(await open_bucket(clients[1]))
    try:
        await first.start()
        await first.set(t1, at)

        await second.start()
        assert second.get(t1) == at
        assert t1 in second.due(at)
        next_at = second.next_at()
        assert next_at is not None
        assert next_at <= at

        await first.set(t2, at + timedelta(minutes=5))
        await first.set(t1, None)
        await eventually(lambda: second.get(t2) is not None and second.get(t1) is None)
        assert second.get(t2) == at + timedelta(minutes=5)
        assert t2 in second.due(at + timedelta(minutes=5))
        assert t2 not in second.due(at)
    finally:
        await first.stop()
        await second.stop()
        for client in clients:
            await client.close()


async def test_a_restarted_replica_finds_the_timers(kv: KeyValue) -> None:
    (ticket,) = unique_tickets(1)
    at = datetime(2022, 1, 1, tzinfo=UTC)
    before = Timers(kv)
    await before.start()
    await before.set(ticket, at)
    await before.stop()

    after = Timers(kv)
    await after.start()
    try:
        assert after.get(ticket) == at
        assert ticket in after.due(at)
    finally:
        await after.stop()
