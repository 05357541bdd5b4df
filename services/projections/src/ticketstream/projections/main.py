"""projections' composition root: database, migrations, the projector, the query API."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg
import nats.js.errors
import structlog
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient
from prometheus_client import Gauge

from ticketstream.directory import Directory, directory_for_service, directory_from_env
from ticketstream.eventstore import (
    CatchUpSubscription,
    ConsumerSettings,
    StreamSettings,
    open_event_store,
)
from ticketstream.servicekit import configure_logging, create_app, load_settings, serve

from . import api
from .db import connect, create_pool
from .migrate import migrate
from .position import PositionWatch, follow
from .projector import CHECKPOINT, POSITIONS_CHANNEL, PROJECTION, TicketProjector
from .rebuild import rebuild
from .settings import ProjectionsSettings

VERSION = "0.1.0"


LEADER = 0x74735F70  # advisory lock key "ts_p": the replica that runs the projector
_log = structlog.get_logger(__name__)


LEADING = Gauge(
    "ticketstream_projector_leading",
    "1 while this projections replica runs the projector, 0 while it stands by",
)


class Role:
    """Whether this replica runs the projector."""

    leading = False

    def lead(self, leading: bool) -> None:
        self.leading = leading
        LEADING.set(int(leading))


async def consumer_after_checkpoint(
    nc: NatsClient, settings: ProjectionsSettings, checkpoint: int
) -> ConsumerSettings:
    """The projector's consumer, made afresh to start right after the read models' checkpoint.

    The checkpoint is the truth, the consumer only a cursor: after a crash, what the dead
    process held would come back behind newer events (after ``ack_wait``), and a consumer
    may have acknowledged beyond a new or restored database. Starting from the checkpoint
    every time keeps the stream's order and loses nothing.
    """
    consumer = ConsumerSettings(
        durable=settings.consumer,
        batch_size=settings.batch_size,
        start_position=checkpoint + 1 if checkpoint else None,
    )
    with suppress(nats.js.errors.NotFoundError):
        await nc.jetstream().delete_consumer(consumer.stream, consumer.durable)
    return consumer


async def project_while_leading(
    settings: ProjectionsSettings, nc: NatsClient, watch: PositionWatch, role: Role
) -> None:
    """Run the projector while this replica holds the leader lock; stand by while another
    does. Replicas all serve queries; exactly one writes (the stream's order needs one)."""
    while True:
        try:
            conn = await connect(settings.database_url)
        except Exception as error:
            _log.warning("cannot reach the database for the leader lock", error=str(error)[:300])
            await asyncio.sleep(2)
            continue
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER):  # noqa: ASYNC110
                await asyncio.sleep(2)
            _log.info("projector leading")
            await _project(settings, nc, watch, role, conn)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            _log.warning("projector stopped; taking the lead again", error=str(error)[:300])
            await asyncio.sleep(1)
        finally:
            with suppress(Exception):
                await conn.close(timeout=2)


async def _project(
    settings: ProjectionsSettings,
    nc: NatsClient,
    watch: PositionWatch,
    role: Role,
    session: asyncpg.Connection[Any],
) -> None:
    """Project until the subscription ends or ``session``, which holds the lock, fails."""
    writer = await create_pool(settings.database_url, max_size=1, writer=True)
    try:
        projector = TicketProjector(writer, watch, leader=(session.get_server_pid(), LEADER))
        consumer = await consumer_after_checkpoint(nc, settings, await projector.checkpoint())
        subscription = CatchUpSubscription(
            nc, consumer, projector.handle, on_poison=projector.record_poison
        )
        task = asyncio.create_task(subscription.run(), name="projector")
        role.lead(True)
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=5)
                await session.fetchval("SELECT 1")  # the lock lives as long as this session
        finally:
            role.lead(False)
            subscription.stop()
            with suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
    finally:
        await writer.close()


def build_app(settings: ProjectionsSettings, directory: Directory | None = None) -> FastAPI:
    """The projections app: serves the query API, follows the read models' position and,
    on the leading replica, runs the projector."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        async with pool.acquire() as conn:
            await migrate(conn)
        nc, store = await open_event_store(
            settings.nats_url,
            client_name="ticketstream-projections",
            settings=StreamSettings(replicas=settings.stream_replicas),
        )
        watch = PositionWatch()
        watch.advance(await TicketProjector(pool, watch).checkpoint())
        tasks = [
            asyncio.create_task(
                follow(settings.database_url, watch, POSITIONS_CHANNEL, CHECKPOINT, PROJECTION),
                name="position-follower",
            ),
            asyncio.create_task(
                project_while_leading(settings, nc, watch, app.state.role), name="leader"
            ),
        ]
        app.state.pool, app.state.nc, app.state.watch, app.state.store = pool, nc, watch, store
        app.state.tasks = tasks
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await nc.drain()
            await pool.close()

    async def readiness() -> dict[str, bool]:
        nc = getattr(app.state, "nc", None)
        tasks = getattr(app.state, "tasks", [])
        pool = getattr(app.state, "pool", None)
        database = False
        if pool is not None:
            with suppress(Exception):
                async with pool.acquire(timeout=2) as conn:
                    database = await conn.fetchval("SELECT true")
        return {
            "nats": bool(nc and nc.is_connected),
            "database": bool(database),
            "projector": bool(tasks) and not any(t.done() for t in tasks),
        }

    app = create_app(
        "Ticketstream projections",
        VERSION,
        settings,
        readiness,
        lifespan,
        description="Read models and the agents' query API.",
    )
    app.state.directory = directory or directory_from_env()
    app.state.role = Role()
    app.include_router(api.router)
    return app


def main(argv: list[str] | None = None) -> None:
    """``python -m ticketstream.projections`` serves; ``... rebuild`` rebuilds the read models."""
    parser = argparse.ArgumentParser(prog="python -m ticketstream.projections")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the projector and the query API (the default)")
    rebuilding = commands.add_parser(
        "rebuild",
        help="rebuild every read model from the stream's start while the live ones serve, "
        "then swap them in",
    )
    rebuilding.add_argument("--batch-size", type=int, default=10_000)
    rebuilding.add_argument(
        "--keep-previous",
        action="store_true",
        help="keep the replaced read models in the schema read_models_previous",
    )
    args = parser.parse_args(argv)
    settings = load_settings(ProjectionsSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    if args.command == "rebuild":
        asyncio.run(
            rebuild(
                settings.database_url,
                settings.nats_url,
                batch_size=args.batch_size,
                keep_previous=args.keep_previous,
                report=lambda line: print(line, file=sys.stderr, flush=True),
            )
        )
        return
    serve(build_app(settings, directory_for_service(settings.service_name)), settings)


if __name__ == "__main__":
    main()
