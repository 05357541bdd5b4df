"""Event store benchmark: append and load through the store beside raw JetStream publishes.

Runs on a fresh embedded NATS with the shipped durability (``sync_interval: "always"``).
Only ratios to the baselines of the same run travel between machines.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats

from ticketstream.embedded import start_nats
from ticketstream.events import (
    Actor,
    InternalNoteAdded,
    Metadata,
    Requester,
    TicketCreated,
    encode,
    ticket_subject,
    wrap,
)
from ticketstream.eventstore import JetStreamEventStore, StreamSettings, ensure_stream

META = Metadata(source="bench", actor=Actor(kind="agent", id="bench"))
PAYLOAD = "x" * 700  # with the envelope, ~1 KB per event like the field notes' figures


def _created(ticket_id: str) -> TicketCreated:
    return TicketCreated(
        ticket_id=ticket_id,
        channel="api",
        requester=Requester(name="B", email="b@example.com"),
        subject="bench",
        message=PAYLOAD,
        help_topic="bench",
    )


def _note(ticket_id: str) -> InternalNoteAdded:
    return InternalNoteAdded(ticket_id=ticket_id, agent_id="bench", body=PAYLOAD)


def _ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


async def run(other_events: int, ticket_events: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, start_nats(Path(folder) / "nats") as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_stream(nc, StreamSettings())
        store = JetStreamEventStore(nc)
        results: dict[str, Any] = {"durability": 'sync_interval: "always"', "event_bytes": 0}
        now = datetime.now(UTC)

        # Baseline 1: raw publish, awaiting each acknowledgement.
        sample = encode(wrap([_created("BASE0000")], first_version=1, meta=META, time=now)[0])
        results["event_bytes"] = len(sample)
        n = 500
        started = time.perf_counter()
        for i in range(n):
            await js.publish(ticket_subject(f"RAWA{i:06d}"), sample)
        results["raw_publish_awaited_per_s"] = round(n / (time.perf_counter() - started))

        # Baseline 2: raw pipelined publish (publish_async), as the field notes measured it.
        n = 5000
        started = time.perf_counter()
        futures = [await js.publish_async(ticket_subject(f"RAWB{i:06d}"), sample) for i in range(n)]
        await asyncio.gather(*futures)
        results["raw_publish_pipelined_per_s"] = round(n / (time.perf_counter() - started))

        # The store: sequential single-event appends (each one an optimistic-concurrency write).
        n = 500
        tickets = [f"APND{i:06d}" for i in range(n)]
        envelopes = [wrap([_created(t)], first_version=1, meta=META, time=now) for t in tickets]
        started = time.perf_counter()
        for ticket_id, batch in zip(tickets, envelopes, strict=True):
            await store.append(ticket_id, batch, 0)
        results["store_append_awaited_per_s"] = round(n / (time.perf_counter() - started))

        # One ticket with `ticket_events` events, loaded from a small stream...
        mine = "MINE0001"
        history = [_created(mine)] + [_note(mine) for _ in range(ticket_events - 1)]
        await store.append(mine, wrap(history, first_version=1, meta=META, time=now), 0)
        results["load_small_stream"] = await _load_latency(nc, mine, ticket_events)

        # ...and again after `other_events` events of other tickets.
        started = time.perf_counter()
        chunk = 4000
        for start in range(0, other_events, chunk):
            futures = [
                await js.publish_async(ticket_subject(f"OTH{i:07d}"), sample)
                for i in range(start, min(start + chunk, other_events))
            ]
            await asyncio.gather(*futures)
        fill_s = time.perf_counter() - started
        results["fill_other_events"] = other_events
        results["fill_per_s"] = round(other_events / fill_s) if other_events else None
        results["stream_messages"] = (await js.stream_info("TICKETS")).state.messages
        results["load_large_stream"] = await _load_latency(nc, mine, ticket_events)
        await nc.close()
        return results


async def _load_latency(nc: Any, ticket_id: str, expected: int) -> dict[str, float]:
    timings = []
    for _ in range(60):
        store = JetStreamEventStore(nc)  # no cache between runs
        started = time.perf_counter()
        stream = await store.load(ticket_id)
        timings.append(time.perf_counter() - started)
        assert stream.version == expected
    return _ms(timings[10:])


def table(results: dict[str, Any]) -> str:
    rows = [
        ("durability", results["durability"]),
        ("event size (bytes)", results["event_bytes"]),
        ("raw JetStream publish, awaited (msg/s)", results["raw_publish_awaited_per_s"]),
        ("raw JetStream publish, pipelined (msg/s)", results["raw_publish_pipelined_per_s"]),
        ("store.append, awaited (events/s)", results["store_append_awaited_per_s"]),
        (
            "load 20-event ticket, small stream p50/p95 (ms)",
            f"{results['load_small_stream']['p50_ms']} / {results['load_small_stream']['p95_ms']}",
        ),
        (
            f"load 20-event ticket, {results['stream_messages']:,} msgs p50/p95 (ms)",
            f"{results['load_large_stream']['p50_ms']} / {results['load_large_stream']['p95_ms']}",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
