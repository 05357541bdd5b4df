"""Raw baselines, measured in the same run as what they are compared with.

Each one does the least the system's own path has to do: publish to JetStream and wait for
the acknowledgement (one by one, or many in flight), insert a row with asyncpg, and
publish -> consume -> upsert with a bare pull consumer and one transaction per fetch.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from ticketstream.events import Actor, Metadata, Requester, TicketCreated, encode, wrap
from ticketstream.eventstore import StreamSettings, ensure_stream

from .report import per_second

META = Metadata(source="bench", actor=Actor(kind="agent", id="bench"))
MESSAGE = "x" * 700
"""A ticket's opening message; with the envelope, ~1 KB per event like the field notes'."""
BASELINE_STREAM = StreamSettings(name="BENCH", subjects=("bench.>",))
"""The TICKETS stream's configuration on other subjects: raw messages there reach no service."""
PIPELINE_WINDOW = 4000

SubjectOf = Callable[[int], str]


def created(ticket_id: str) -> TicketCreated:
    """A ~1 KB ``TicketCreated`` as intake would append it."""
    return TicketCreated(
        ticket_id=ticket_id,
        channel="api",
        requester=Requester(name="B", email="b@example.com"),
        subject="bench",
        message=MESSAGE,
        help_topic="bench",
    )


def created_bytes(ticket_id: str = "BASE0000") -> bytes:
    """:func:`created` encoded as it travels on the stream."""
    return encode(wrap([created(ticket_id)], first_version=1, meta=META, time=datetime.now(UTC))[0])


async def publish_awaited(
    js: JetStreamContext, subject_of: SubjectOf, payload: bytes, n: int
) -> float:
    """Publish ``n`` messages, awaiting each acknowledgement before the next; msg/s."""
    started = time.perf_counter()
    for i in range(n):
        await js.publish(subject_of(i), payload)
    return per_second(n, time.perf_counter() - started)


async def publish_pipelined(
    js: JetStreamContext, subject_of: SubjectOf, payload: bytes, n: int, *, start: int = 0
) -> float:
    """Publish ``n`` messages with up to :data:`PIPELINE_WINDOW` acknowledgements pending
    (nats-py ``publish_async``); msg/s once every acknowledgement arrived."""
    started = time.perf_counter()
    for first in range(start, start + n, PIPELINE_WINDOW):
        last = min(first + PIPELINE_WINDOW, start + n)
        futures = [await js.publish_async(subject_of(i), payload) for i in range(first, last)]
        await asyncio.gather(*futures)
    return per_second(n, time.perf_counter() - started)


async def prepare_baseline_stream(nc: NatsClient) -> None:
    """Create the stream the raw JetStream baselines publish to."""
    await ensure_stream(nc, BASELINE_STREAM)


ROWS_TABLE = """CREATE TABLE IF NOT EXISTS bench_rows (
    id bigint PRIMARY KEY, ticket_id text NOT NULL, body text NOT NULL)"""
INSERT_ROW = "INSERT INTO bench_rows (id, ticket_id, body) VALUES ($1, $2, $3)"


async def insert_awaited(pool: asyncpg.Pool, n: int) -> float:
    """INSERT ``n`` ~1 KB rows, one transaction each, one after the other; rows/s."""
    async with pool.acquire() as conn:
        await conn.execute(ROWS_TABLE)
        started = time.perf_counter()
        for i in range(n):
            await conn.execute(INSERT_ROW, i, f"T{i:07d}", MESSAGE)
        return per_second(n, time.perf_counter() - started)


async def insert_concurrent(pool: asyncpg.Pool, n: int, concurrency: int) -> float:
    """INSERT ``n`` rows, one transaction each, from ``concurrency`` connections; rows/s."""
    async with pool.acquire() as conn:
        await conn.execute(ROWS_TABLE)
    offset = 10_000_000
    queue = iter(range(offset, offset + n))

    async def worker() -> None:
        async with pool.acquire() as conn:
            for i in queue:
                await conn.execute(INSERT_ROW, i, f"T{i:07d}", MESSAGE)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return per_second(n, time.perf_counter() - started)


VIEW_TABLES = """
CREATE TABLE IF NOT EXISTS bench_view (
    ticket_id text PRIMARY KEY, subject text NOT NULL, message text NOT NULL,
    position bigint NOT NULL);
CREATE TABLE IF NOT EXISTS bench_checkpoint (name text PRIMARY KEY, position bigint NOT NULL);
INSERT INTO bench_checkpoint VALUES ('raw', 0) ON CONFLICT DO NOTHING;
"""
UPSERT_VIEW = """
INSERT INTO bench_view (ticket_id, subject, message, position)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
ON CONFLICT (ticket_id) DO UPDATE
SET subject = EXCLUDED.subject, message = EXCLUDED.message, position = EXCLUDED.position
"""


async def publish_consume_upsert(nc: NatsClient, pool: asyncpg.Pool, samples: int) -> list[float]:
    """Seconds from publishing one event until a bare projector committed it to PostgreSQL.

    The projector is as small as a correct one can be: a durable pull consumer, JSON
    decoding, one ``unnest`` upsert and the checkpoint in one transaction per fetch, then
    the acknowledgements. Events are published one at a time, each after the previous one
    was committed.
    """
    js = nc.jetstream()
    async with pool.acquire() as conn:
        await conn.execute(VIEW_TABLES)
    committed: dict[str, asyncio.Future[float]] = {}
    psub = await js.pull_subscribe(
        "bench.view.>", durable="bench-view", stream=BASELINE_STREAM.name
    )

    async def project() -> None:
        async with pool.acquire() as conn:
            while True:
                try:
                    msgs = await psub.fetch(500, timeout=1.0)
                except TimeoutError:
                    continue
                events = [json.loads(m.data)["data"] for m in msgs]
                positions = [m.metadata.sequence.stream for m in msgs]
                async with conn.transaction():
                    await conn.execute(
                        UPSERT_VIEW,
                        [e["ticket_id"] for e in events],
                        [e["subject"] for e in events],
                        [e["message"] for e in events],
                        positions,
                    )
                    await conn.execute(
                        "UPDATE bench_checkpoint SET position = $1 WHERE name = 'raw'",
                        positions[-1],
                    )
                done = time.perf_counter()
                for event in events:
                    future = committed.pop(event["ticket_id"], None)
                    if future is not None and not future.done():
                        future.set_result(done)
                for msg in msgs:
                    await msg.ack()

    projector = asyncio.create_task(project())
    loop = asyncio.get_running_loop()
    latencies = []
    try:
        for i in range(samples):
            ticket_id = f"V{i:07d}"
            payload = created_bytes(ticket_id)
            committed[ticket_id] = future = loop.create_future()
            started = time.perf_counter()
            await js.publish(f"bench.view.{ticket_id}", payload)
            latencies.append(await asyncio.wait_for(future, 30) - started)
    finally:
        projector.cancel()
        await asyncio.gather(projector, return_exceptions=True)
        await psub.unsubscribe()
    return latencies
