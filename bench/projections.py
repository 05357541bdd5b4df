"""Projection benchmark: replay and queue queries at scale.

- Replay: a stream of realistic lifecycles (8 events a ticket, tickets interleaved as they
  would be in a day's traffic) is projected from position 0 by the shipped projector
  (``CatchUpSubscription`` + ``TicketProjector``) and, on the same stream in the same run, by
  a minimal raw projector (callback-driven pull, msgspec decode, one ``unnest`` upsert and
  the checkpoint per transaction, ack-all): the field notes' baseline.
- Queues: a read model of its own is filled up to each size with rows in a help desk's mix
  of statuses (the replayed tickets are all closed, which would leave the queues empty),
  and every queue's first page is timed through the same query code the API runs, beside
  a primary-key lookup on the same table.

The stream is loaded on a NATS server with lazy flushing (loading is not what is measured),
then the server restarts with the shipped ``sync_interval: "always"`` for the replays.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ticketstream.embedded import start_nats, start_postgres
from ticketstream.events import (
    HEADER_EVENT_TYPE,
    HEADER_TICKET_VERSION,
    STREAM_NAME,
    Actor,
    AgentReplied,
    AnyTicketEvent,
    FeedbackSubmitted,
    Metadata,
    Requester,
    RequesterReplied,
    TicketAssigned,
    TicketClosed,
    TicketCreated,
    TicketResolved,
    TicketRouted,
    encode,
    ticket_subject,
    wrap,
)
from ticketstream.eventstore import (
    CatchUpSubscription,
    ConsumerSettings,
    StreamSettings,
    ensure_stream,
)
from ticketstream.projections import queries
from ticketstream.projections.db import create_pool
from ticketstream.projections.migrate import migrate
from ticketstream.projections.position import PositionWatch
from ticketstream.projections.projector import TicketProjector
from ticketstream.projections.settings import ProjectionsSettings

from .report import DURABILITY, latency_ms, number, per_second, render_table

TARGET_RATIO = 0.70
BATCH_SIZE: int = ProjectionsSettings.model_fields["batch_size"].default  # the shipped one
AGENTS = [f"agent{n:02}" for n in range(50)]
DEPARTMENTS = ["it-support", "billing", "sales", "facilities", "hr", "legal", "ops", "web"]
WAVE = 2_000  # tickets whose lifecycles interleave in the stream


def _lifecycle(ticket_id: str, n: int) -> list[tuple[AnyTicketEvent, Actor]]:
    requester = Actor(kind="requester", id=f"user{n}@example.com")
    agent = Actor(kind="agent", id=AGENTS[n % len(AGENTS)])
    system = Actor(kind="system", id="routing")
    department = DEPARTMENTS[n % len(DEPARTMENTS)]
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    return [
        (
            TicketCreated(
                ticket_id=ticket_id,
                channel="web",
                requester=Requester(name=f"User {n}", email=f"user{n}@example.com"),
                subject=f"Cannot reach my mailbox ({n})",
                message="Since this morning Outlook asks for my password again and again. "
                "I reset it yesterday; the web mail says my account is locked.",
                help_topic="email-support",
            ),
            requester,
        ),
        (
            TicketRouted(
                ticket_id=ticket_id,
                department=department,
                priority="medium",
                sla_plan="default",
                first_response_due=now + timedelta(hours=4),
                resolution_due=now + timedelta(hours=24),
            ),
            system,
        ),
        (
            TicketAssigned(ticket_id=ticket_id, agent_id=agent.id, strategy="round_robin"),
            system,
        ),
        (
            AgentReplied(
                ticket_id=ticket_id,
                agent_id=agent.id,
                body="Your account was locked after several failed sign-ins. I unlocked it; "
                "please try again and tell me whether it works.",
            ),
            agent,
        ),
        (
            RequesterReplied(ticket_id=ticket_id, channel="web", body="It works again, thanks!"),
            requester,
        ),
        (
            TicketResolved(
                ticket_id=ticket_id, agent_id=agent.id, resolution="Unlocked the account."
            ),
            agent,
        ),
        (TicketClosed(ticket_id=ticket_id, reason="confirmed"), requester),
        (FeedbackSubmitted(ticket_id=ticket_id, rating=1 + n % 5, comment="Quick."), requester),
    ]


async def _load_stream(nc: NatsClient, tickets: int) -> int:
    """Publish ``tickets`` lifecycles, a wave of tickets at a time; return the events sent."""
    js = nc.jetstream()
    sent = 0
    for start in range(0, tickets, WAVE):
        ids = [f"B{n:09}" for n in range(start, min(start + WAVE, tickets))]
        cycles = [_lifecycle(t, start + i) for i, t in enumerate(ids)]
        for step in range(len(cycles[0])):
            now = datetime.now(UTC)
            acks = []
            for ticket_id, cycle in zip(ids, cycles, strict=True):
                event, actor = cycle[step]
                meta = Metadata(source="bench", actor=actor)
                [envelope] = wrap([event], first_version=step + 1, meta=meta, time=now)
                headers = {
                    HEADER_EVENT_TYPE: envelope.type,
                    HEADER_TICKET_VERSION: str(step + 1),
                }
                acks.append(
                    await js.publish_async(
                        ticket_subject(ticket_id), encode(envelope), headers=headers
                    )
                )
            await asyncio.gather(*acks)
            sent += len(acks)
    return sent


async def _replay_ours(nc: NatsClient, database_url: str, last: int) -> float:
    pool = await create_pool(database_url)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        watch = PositionWatch()
        projector = TicketProjector(pool, watch)
        subscription = CatchUpSubscription(
            nc,
            ConsumerSettings(durable="bench-replay", batch_size=BATCH_SIZE),
            projector.handle,
            on_poison=projector.record_poison,
        )
        started = time.perf_counter()
        task = asyncio.create_task(subscription.run())
        reached = await watch.wait_for(last, within=3600)
        elapsed = time.perf_counter() - started
        subscription.stop()
        await task
        if not reached:
            raise RuntimeError("the projector did not reach the end of the stream")
        return elapsed
    finally:
        await pool.close()


class _RawEvent(msgspec.Struct):
    type: str
    time: str
    ticketversion: int
    data: dict[str, Any]


async def _replay_raw(nc: NatsClient, database_url: str, last: int, batch: int = 1000) -> float:
    """The minimal projector of the field notes, as the baseline."""
    conn = await asyncpg.connect(database_url)
    await conn.execute(
        """CREATE TABLE raw_tickets (ticket_id text PRIMARY KEY, version integer NOT NULL,
                                     last_type text NOT NULL, updated_at text NOT NULL);
           CREATE TABLE raw_checkpoint (id integer PRIMARY KEY, position bigint NOT NULL);
           INSERT INTO raw_checkpoint VALUES (1, 0);"""
    )
    js = nc.jetstream()
    await js.add_consumer(
        STREAM_NAME,
        ConsumerConfig(
            durable_name="bench-raw",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.ALL,
            max_ack_pending=batch * 4,
        ),
    )
    decoder = msgspec.json.Decoder(_RawEvent)
    buffer: list[Msg] = []
    ended = asyncio.Event()

    async def receive(msg: Msg) -> None:
        if msg.data:
            buffer.append(msg)
            if len(buffer) >= batch:
                ended.set()
        elif msg.headers and msg.headers.get("Status") != "100":
            ended.set()

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=receive)
    request = json.dumps({"batch": batch, "expires": 1_000_000_000}).encode()
    api = f"$JS.API.CONSUMER.MSG.NEXT.{STREAM_NAME}.bench-raw"
    position = 0
    started = time.perf_counter()
    await nc.publish(api, request, reply=inbox)
    while position < last:
        await ended.wait()
        ended.clear()
        await nc.publish(api, request, reply=inbox)
        msgs, buffer[:] = buffer[:], []
        if not msgs:
            continue
        latest: dict[str, tuple[int, str, str]] = {}
        for msg in msgs:
            event = decoder.decode(msg.data)
            latest[event.data["ticket_id"]] = (event.ticketversion, event.type, event.time)
        position = msgs[-1].metadata.sequence.stream
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO raw_tickets
                   SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[])
                   ON CONFLICT (ticket_id) DO UPDATE SET version = EXCLUDED.version,
                       last_type = EXCLUDED.last_type, updated_at = EXCLUDED.updated_at
                   WHERE raw_tickets.version < EXCLUDED.version""",
                list(latest),
                [v[0] for v in latest.values()],
                [v[1] for v in latest.values()],
                [v[2] for v in latest.values()],
            )
            await conn.execute("UPDATE raw_checkpoint SET position = $1", position)
        await msgs[-1].ack()
    elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    await conn.close()
    return elapsed


_STATUSES = ["closed"] * 60 + ["resolved"] * 10 + ["open"] * 20 + ["pending"] * 10


def _synthetic_rows(start: int, count: int, rng: random.Random) -> list[tuple[Any, ...]]:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(start, start + count):
        status = rng.choice(_STATUSES)
        active = status in ("open", "pending")
        created = base + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
        rows.append(
            (
                f"S{n:09}",
                4,
                n,
                status,
                "email",
                f"Synthetic ticket {n}",
                "general",
                f"Requester {n % 5000}",
                f"requester{n % 5000}@example.com",
                rng.choice(["low", "medium", "high", "urgent"]),
                created,
                created + timedelta(hours=3),
                rng.choice(DEPARTMENTS),
                None if active and rng.random() < 0.1 else rng.choice(AGENTS),
                active and rng.random() < 0.05,
            )
        )
    return rows


_SYNTHETIC_COLUMNS = [
    "ticket_id",
    "version",
    "position",
    "status",
    "channel",
    "subject",
    "help_topic",
    "requester_name",
    "requester_email",
    "priority",
    "created_at",
    "updated_at",
    "department",
    "assignee",
    "first_response_breached",
]


def _queue_calls() -> dict[str, Callable[[Any], Any]]:
    return {
        "unassigned": lambda c: queries.queue(c, "unassigned"),
        "mine": lambda c: queries.queue(c, "mine", AGENTS[7]),
        "department": lambda c: queries.queue(c, "department", department="billing"),
        "overdue": lambda c: queries.queue(c, "overdue"),
        "pending": lambda c: queries.queue(c, "pending"),
        "list open, newest": lambda c: queries.list_tickets(
            c, status=["open"], sort="created", direction="desc"
        ),
        "primary-key lookup (baseline)": lambda c: c.fetchrow(
            "SELECT * FROM tickets WHERE ticket_id = $1", "S000000042"
        ),
    }


async def _queue_latency(database_url: str, sizes: list[int], runs: int) -> dict[str, Any]:
    pool = await create_pool(database_url, max_size=2)
    rng = random.Random(7)
    results: dict[str, Any] = {}
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
            count = int(await conn.fetchval("SELECT count(*) FROM tickets"))
            for size in sorted(sizes):
                filled_at = time.perf_counter()
                added = 0
                while count < size:
                    chunk = min(50_000, size - count)
                    await conn.copy_records_to_table(
                        "tickets",
                        records=_synthetic_rows(count, chunk, rng),
                        columns=_SYNTHETIC_COLUMNS,
                    )
                    count += chunk
                    added += chunk
                fill_seconds = time.perf_counter() - filled_at
                await conn.execute("ANALYZE tickets")
                timings: dict[str, Any] = {}
                for name, call in _queue_calls().items():
                    for _ in range(3):
                        await call(conn)
                    samples = []
                    for _ in range(runs):
                        t0 = time.perf_counter()
                        await call(conn)
                        samples.append(time.perf_counter() - t0)
                    timings[name] = latency_ms(samples)
                results[str(size)] = {
                    "tickets": count,
                    "rows_copied": added,
                    "copy_rows_per_s": per_second(added, fill_seconds) if added else None,
                    "queries": timings,
                }
    finally:
        await pool.close()
    return results


async def run(tickets: int, queue_sizes: list[int], runs: int = 50) -> dict[str, Any]:
    """Load ``tickets`` lifecycles, replay them both ways, then time the queues at each size."""
    with tempfile.TemporaryDirectory(prefix="ts-bench-proj-") as tmp:
        root = Path(tmp)
        with start_nats(root / "nats", sync_always=False) as server:
            nc = await nats.connect(server.url)
            await ensure_stream(nc, StreamSettings())
            loaded_at = time.perf_counter()
            events = await _load_stream(nc, tickets)
            load_seconds = time.perf_counter() - loaded_at
            await nc.drain()
        with (
            start_nats(root / "nats") as server,
            start_postgres(root / "postgres") as postgres,
        ):
            nc = await nats.connect(server.url)
            last = (await nc.jetstream().stream_info(STREAM_NAME)).state.last_seq
            ours = await _replay_ours(nc, postgres.create_database("bench_ours"), last)
            raw = await _replay_raw(nc, postgres.create_database("bench_raw"), last)
            await nc.drain()
            queues = await _queue_latency(
                postgres.create_database("bench_queues"), queue_sizes, runs
            )
    ours_rate, raw_rate = per_second(events, ours), per_second(events, raw)
    return {
        "durability": DURABILITY,
        "replay": {
            "tickets": tickets,
            "events": events,
            "load_events_per_s": per_second(events, load_seconds),
            "projector_events_per_s": ours_rate,
            "raw_projector_events_per_s": raw_rate,
            "ratio": round(ours_rate / raw_rate, 3) if raw_rate else None,
            "target_ratio": TARGET_RATIO,
        },
        "queues": queues,
    }


def table(results: dict[str, Any]) -> str:
    """The replay figures, then one latency table per read-model size."""
    replay = results["replay"]
    lines = [
        f"Projection replay ({replay['tickets']:,} tickets, {replay['events']:,} events; "
        f"NATS {results['durability']})",
        render_table(
            ["projector", "events/s", "vs raw"],
            [
                [
                    "ticket projector (shipped)",
                    number(replay["projector_events_per_s"]),
                    f"{replay['ratio']:.0%} (target >= {replay['target_ratio']:.0%})",
                ],
                ["raw projector (baseline)", number(replay["raw_projector_events_per_s"]), "100%"],
            ],
        ),
    ]
    for size, figures in results["queues"].items():
        lines += [
            "",
            f"Queue queries, first page of 50, at {int(size):,} tickets (ms)",
            render_table(
                ["query", "p50", "p95", "p99"],
                [
                    [name, f"{t['p50_ms']:.2f}", f"{t['p95_ms']:.2f}", f"{t['p99_ms']:.2f}"]
                    for name, t in figures["queries"].items()
                ],
            ),
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    outcome = asyncio.run(run(size, [size, size * 2]))
    print(json.dumps(outcome, indent=2))
    print(table(outcome))
