"""Rebuild every read model from stream position 0 while the live ones keep serving.

1. A fresh schema, ``read_models_rebuild``, gets the current migrations.
2. A projector of its own (its own durable consumer from the stream's start, its own writer
   lock, no position announcements) fills it, reporting progress, until it reaches the
   stream's end as it was at the start.
3. The swap, in one transaction: take the live projector's writer lock exclusively (its
   batches hold it shared, so this waits for the batch in hand and holds the next), let the
   rebuild catch up to the live checkpoint, stop it, and rename the schemas: the live one
   to ``read_models_previous``, the rebuilt one to ``read_models``. Queries in flight finish
   on the old tables; every statement after the commit resolves to the new ones (a schema
   rename invalidates Postgres's cached plans). The live projector's next batch reads the
   new checkpoint, so it skips what the rebuild applied and applies the rest.
4. The previous read models are dropped, unless asked to keep them.

Because the rebuild runs the shipped migrations, it is also how a new read-model layout
goes live without downtime.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from contextlib import suppress

from ticketstream.events import STREAM_NAME
from ticketstream.eventstore import CatchUpSubscription, ConsumerSettings, open_event_store

from .db import LIVE_SCHEMA, PREVIOUS_SCHEMA, REBUILD_SCHEMA, Connection, connect, create_pool
from .migrate import migrate
from .position import PositionWatch
from .projector import LIVE_WRITER, PROJECTION, REBUILD_WRITER, TicketProjector

Report = Callable[[str], None]


def _progress(done: int, target: int, started: float) -> str:
    elapsed = max(time.monotonic() - started, 1e-6)
    rate = done / elapsed
    share = 100.0 if target == 0 else min(100.0, 100.0 * done / target)
    left = f", ~{(target - done) / rate:,.0f} s left" if rate and done < target else ""
    return f"rebuild: position {done:,} of {target:,} ({share:.1f}%), {rate:,.0f} events/s{left}"


async def rebuild(
    database_url: str,
    nats_url: str,
    *,
    batch_size: int = 10_000,
    keep_previous: bool = False,
    report: Report = print,
    every: float = 1.0,
) -> int:
    """Rebuild the read models and swap them in; return the position they reflect."""
    control = await connect(database_url)
    await control.execute(f'DROP SCHEMA IF EXISTS "{REBUILD_SCHEMA}" CASCADE')
    pool = await create_pool(database_url, REBUILD_SCHEMA, max_size=2, writer=True)
    nc, _store = await open_event_store(nats_url, client_name="ticketstream-projections-rebuild")
    durable = f"projections-rebuild-{secrets.token_hex(4)}"
    try:
        async with pool.acquire() as conn:
            await migrate(conn, REBUILD_SCHEMA)
        target = (await nc.jetstream().stream_info(STREAM_NAME)).state.last_seq
        watch = PositionWatch()
        projector = TicketProjector(pool, watch, writer=REBUILD_WRITER, announce=False)
        subscription = CatchUpSubscription(
            nc,
            ConsumerSettings(durable=durable, batch_size=batch_size),
            projector.handle,
            on_poison=projector.record_poison,
        )
        task = asyncio.create_task(subscription.run(), name="rebuild")
        started = time.monotonic()
        try:
            while not await _reached(watch, target, task, every):
                report(_progress(watch.position, target, started))
            report(_progress(watch.position, target, started))
            async with control.transaction():
                await control.execute("SELECT pg_advisory_xact_lock($1)", LIVE_WRITER)
                live = await _live_checkpoint(control)
                while not await _reached(watch, live, task, every):
                    report(f"rebuild: catching up with the live read models at {live:,}")
                subscription.stop()
                await task
                await control.execute(f'DROP SCHEMA IF EXISTS "{PREVIOUS_SCHEMA}" CASCADE')
                if live is not None:
                    await control.execute(
                        f'ALTER SCHEMA "{LIVE_SCHEMA}" RENAME TO "{PREVIOUS_SCHEMA}"'
                    )
                await control.execute(f'ALTER SCHEMA "{REBUILD_SCHEMA}" RENAME TO "{LIVE_SCHEMA}"')
            report(f"rebuild: swapped in at position {watch.position:,}")
            if not keep_previous:
                await control.execute(f'DROP SCHEMA IF EXISTS "{PREVIOUS_SCHEMA}" CASCADE')
            return watch.position
        finally:
            subscription.stop()
            with suppress(Exception):
                await asyncio.wait_for(task, 10)
    finally:
        with suppress(Exception):
            await nc.jetstream().delete_consumer(STREAM_NAME, durable)
        await nc.drain()
        await pool.close()
        await control.close()


async def _reached(
    watch: PositionWatch, position: int | None, task: asyncio.Task[None], within: float
) -> bool:
    """True once ``watch`` is at ``position``; raises if the rebuild's projector died."""
    if position is None or await watch.wait_for(position, within):
        return True
    if task.done():
        task.result()
        raise RuntimeError("the rebuild's subscription ended before reaching its target")
    return False


async def _live_checkpoint(control: Connection) -> int | None:
    """The live read models' position; None when there are no live read models yet."""
    exists = await control.fetchval(
        "SELECT to_regclass($1) IS NOT NULL", f'"{LIVE_SCHEMA}".projection_checkpoints'
    )
    if not exists:
        return None
    position = await control.fetchval(
        f'SELECT position FROM "{LIVE_SCHEMA}".projection_checkpoints WHERE projection = $1',
        PROJECTION,
    )
    return int(position or 0)
