"""Event store benchmark: append and load through the store beside raw JetStream publishes.

Runs on a fresh embedded NATS with the shipped durability (``sync_interval: "always"``).
Only ratios to the baselines of the same run travel between machines.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats

from ticketstream.embedded import start_nats
from ticketstream.events import InternalNoteAdded, encode, ticket_subject, wrap
from ticketstream.eventstore import JetStreamEventStore, StreamSettings, ensure_stream

from .baselines import MESSAGE, META, created, publish_awaited, publish_pipelined
from .report import DURABILITY, latency_ms, number, per_second, percentiles, render_table


def _note(ticket_id: str) -> InternalNoteAdded:
    return InternalNoteAdded(ticket_id=ticket_id, agent_id="bench", body=MESSAGE)


async def run(other_events: int, ticket_events: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, start_nats(Path(folder) / "nats") as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_stream(nc, StreamSettings())
        store = JetStreamEventStore(nc)
        results: dict[str, Any] = {
            "durability": DURABILITY,
            "event_bytes": 0,
            "ticket_events": ticket_events,
        }
        now = datetime.now(UTC)

        # Baseline 1: raw publish, awaiting each acknowledgement.
        sample = encode(wrap([created("BASE0000")], first_version=1, meta=META, time=now)[0])
        results["event_bytes"] = len(sample)
        results["raw_publish_awaited_per_s"] = await publish_awaited(
            js, lambda i: ticket_subject(f"RAWA{i:06d}"), sample, 500
        )

        # Baseline 2: raw pipelined publish (publish_async), as the field notes measured it.
        results["raw_publish_pipelined_per_s"] = await publish_pipelined(
            js, lambda i: ticket_subject(f"RAWB{i:06d}"), sample, 5000
        )

        # The store: sequential single-event appends (each one an optimistic-concurrency write).
        n = 500
        tickets = [f"APND{i:06d}" for i in range(n)]
        envelopes = [wrap([created(t)], first_version=1, meta=META, time=now) for t in tickets]
        started = time.perf_counter()
        for ticket_id, batch in zip(tickets, envelopes, strict=True):
            await store.append(ticket_id, batch, 0)
        results["store_append_awaited_per_s"] = per_second(n, time.perf_counter() - started)

        # One ticket with `ticket_events` events, loaded from a small stream...
        mine = "MINE0001"
        history = [created(mine)] + [_note(mine) for _ in range(ticket_events - 1)]
        await store.append(mine, wrap(history, first_version=1, meta=META, time=now), 0)
        results["load_small_stream"] = await _load_latency(nc, mine, ticket_events)

        # ...and again after `other_events` events of other tickets.
        results["fill_other_events"] = other_events
        results["fill_per_s"] = (
            await publish_pipelined(
                js, lambda i: ticket_subject(f"OTH{i:07d}"), sample, other_events
            )
            if other_events
            else None
        )
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
    return latency_ms(timings[10:])


def table(results: dict[str, Any]) -> str:
    """The results as a table: the store beside the raw publishes of the same run."""
    awaited = results["raw_publish_awaited_per_s"]
    appended = results["store_append_awaited_per_s"]
    events = results.get("ticket_events", 20)
    rows = [
        ["raw JetStream publish, awaited one by one", f"{number(awaited)} msg/s", "", ""],
        [
            "raw JetStream publish, pipelined",
            f"{number(results['raw_publish_pipelined_per_s'])} msg/s",
            "",
            "",
        ],
        [
            "store.append, awaited one by one",
            f"{number(appended)} events/s",
            "",
            f"{appended / awaited:.0%} of raw awaited",
        ],
        [
            f"load a {events}-event ticket, almost empty stream",
            "",
            percentiles(results["load_small_stream"]),
            "",
        ],
        [
            f"load a {events}-event ticket, {results['stream_messages']:,} messages",
            "",
            percentiles(results["load_large_stream"]),
            "",
        ],
    ]
    return "\n".join(
        [
            f"NATS durability: {results['durability']}; events ~{results['event_bytes']:,} B",
            render_table(["event store", "rate", "p50 / p95 / p99 ms", "vs baseline"], rows),
        ]
    )
