"""One contract, two stores: the in-memory fake may not drift from JetStream."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from ticketstream.events import AnyTicketEvent, Envelope, new_event_id
from ticketstream.eventstore import (
    AppendResult,
    ConcurrencyConflict,
    EventStore,
    EventStoreError,
    TicketStream,
    WrongExpectedVersion,
    load_decide_append,
)

from .conftest import META, created, envelopes, new_ticket_id, note


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_new_ticket_loads_empty(store: EventStore, ticket_id: str) -> None:
    stream = await store.load(ticket_id)
    assert stream.version == 0
    assert stream.position == 0
    assert stream.events == ()


async def test_appended_events_load_back_in_order(store: EventStore, ticket_id: str) -> None:
    first = await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)
    second = await store.append(
        ticket_id, envelopes([note(ticket_id, 1), note(ticket_id, 2)], 2), 1
    )

    stream = await store.load(ticket_id)
    assert [e.envelope.ticket_version for e in stream.events] == [1, 2, 3]
    assert [e.envelope for e in stream.events] == [
        *(r.envelope for r in first.events),
        *(r.envelope for r in second.events),
    ]
    positions = [e.position for e in stream.events]
    assert positions == sorted(positions)
    assert second.version == 3
    assert second.position == stream.position == positions[-1]


async def test_a_second_create_of_the_same_ticket_is_rejected(
    store: EventStore, ticket_id: str
) -> None:
    await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)
    with pytest.raises(WrongExpectedVersion) as caught:
        await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)
    assert caught.value.actual == 1
    assert (await store.load(ticket_id)).version == 1


async def test_a_stale_expected_version_is_rejected_and_writes_nothing(
    store: EventStore, ticket_id: str
) -> None:
    await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)
    await store.append(ticket_id, envelopes([note(ticket_id)], 2), 1)
    stale = envelopes([note(ticket_id, 7), note(ticket_id, 8)], 2)
    with pytest.raises(WrongExpectedVersion):
        await store.append(ticket_id, stale, 1)
    with pytest.raises(WrongExpectedVersion):
        await store.append(ticket_id, envelopes([note(ticket_id)], 6), 5)
    assert (await store.load(ticket_id)).version == 2


async def test_of_concurrent_appenders_on_one_version_exactly_one_wins(
    store: EventStore, ticket_id: str
) -> None:
    await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)
    attempts = [store.append(ticket_id, envelopes([note(ticket_id, n)], 2), 1) for n in range(10)]
    outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, WrongExpectedVersion) for o in losers)
    assert (await store.load(ticket_id)).version == 2


async def test_two_concurrent_creates_of_one_ticket_exactly_one_wins(
    store: EventStore, ticket_id: str
) -> None:
    outcomes = await asyncio.gather(
        store.append(ticket_id, envelopes([created(ticket_id)], 1), 0),
        store.append(ticket_id, envelopes([created(ticket_id)], 1), 0),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["AppendResult", "WrongExpectedVersion"]


async def test_retrying_an_append_does_not_write_its_events_twice(
    store: EventStore, ticket_id: str
) -> None:
    batch = envelopes([created(ticket_id), note(ticket_id)], 1)
    first = await store.append(ticket_id, batch, 0)
    # The acknowledgement of the first append was "lost": the caller sends the same again.
    again = await store.append(ticket_id, batch, 0)
    assert again == first
    stream = await store.load(ticket_id)
    assert [e.envelope.id for e in stream.events] == [e.id for e in batch]


async def test_a_retry_after_others_appended_is_still_recognised(
    store: EventStore, ticket_id: str
) -> None:
    mine = envelopes([created(ticket_id)], 1)
    first = await store.append(ticket_id, mine, 0)
    await store.append(ticket_id, envelopes([note(ticket_id)], 2), 1)
    assert await store.append(ticket_id, mine, 0) == first
    assert (await store.load(ticket_id)).version == 2


async def test_events_of_one_command_land_together(store: EventStore, ticket_id: str) -> None:
    result = await store.append(
        ticket_id, envelopes([created(ticket_id), note(ticket_id, 1), note(ticket_id, 2)], 1), 0
    )
    assert [e.envelope.ticket_version for e in result.events] == [1, 2, 3]
    positions = [e.position for e in result.events]
    assert positions == list(range(positions[0], positions[0] + 3))
    assert (await store.load(ticket_id)).events == result.events


async def test_a_batch_that_cannot_be_right_is_refused(store: EventStore, ticket_id: str) -> None:
    other = new_ticket_id()
    with pytest.raises(EventStoreError, match="belongs to ticket"):
        await store.append(ticket_id, envelopes([created(other)], 1), 0)
    with pytest.raises(EventStoreError, match="has version"):
        await store.append(ticket_id, envelopes([created(ticket_id)], 3), 0)
    with pytest.raises(EventStoreError, match="at least one"):
        await store.append(ticket_id, [], 0)
    assert (await store.load(ticket_id)).version == 0


async def test_load_reads_more_events_than_one_batch(store: EventStore, ticket_id: str) -> None:
    await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)
    version = 1
    for _ in range(12):
        notes = [note(ticket_id, version + n) for n in range(100)]
        await store.append(ticket_id, envelopes(notes, version + 1), version)
        version += 100
    stream = await store.load(ticket_id)
    assert stream.version == 1201
    assert [e.envelope.ticket_version for e in stream.events] == list(range(1, 1202))


async def test_load_decide_append_retries_until_every_command_lands(
    store: EventStore, ticket_id: str
) -> None:
    await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)

    def add_note(stream: TicketStream) -> list[AnyTicketEvent]:
        return [note(ticket_id, stream.version)]

    outcomes = await asyncio.gather(
        *[
            load_decide_append(store, ticket_id, add_note, META, clock=now, attempts=30)
            for _ in range(20)
        ],
        return_exceptions=True,
    )
    landed = [o for o in outcomes if not isinstance(o, BaseException)]
    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    assert len(landed) + len(conflicts) == 20
    stream = await store.load(ticket_id)
    assert stream.version == 1 + len(landed)
    assert len({e.envelope.id for e in stream.events}) == stream.version
    assert len(landed) >= 10


class Meddling:
    """A store where another writer appends right after every load."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner

    async def load(self, ticket_id: str) -> TicketStream:
        stream = await self.inner.load(ticket_id)
        others = envelopes([note(ticket_id)], stream.version + 1)
        await self.inner.append(ticket_id, others, stream.version)
        return stream

    async def append(
        self, ticket_id: str, events: Sequence[Envelope], expected_version: int
    ) -> AppendResult:
        return await self.inner.append(ticket_id, events, expected_version)


async def test_load_decide_append_gives_up_with_a_conflict(
    store: EventStore, ticket_id: str
) -> None:
    await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)
    with pytest.raises(ConcurrencyConflict, match="3 attempts"):
        await load_decide_append(
            Meddling(store), ticket_id, lambda _: [note(ticket_id)], META, clock=now, attempts=3
        )
    assert (await store.load(ticket_id)).version == 4


async def test_a_decision_of_no_events_appends_nothing(store: EventStore, ticket_id: str) -> None:
    await store.append(ticket_id, envelopes([created(ticket_id)], 1), 0)
    result = await load_decide_append(store, ticket_id, lambda _: [], META, clock=now)
    assert result.events == ()
    assert result.version == 1


async def test_events_keep_their_ids(store: EventStore, ticket_id: str) -> None:
    batch = envelopes([created(ticket_id)], 1)
    await store.append(ticket_id, batch, 0)
    assert (await store.load(ticket_id)).events[0].envelope.id == batch[0].id
    assert batch[0].id != new_event_id()
