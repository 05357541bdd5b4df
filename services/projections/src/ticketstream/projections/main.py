"""projections' composition root: database, migrations, the projector, the query API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import asyncpg
from fastapi import FastAPI

from ticketstream.directory import Directory, directory_for_service, directory_from_env
from ticketstream.eventstore import (
    CatchUpSubscription,
    ConsumerSettings,
    StreamSettings,
    open_event_store,
)
from ticketstream.servicekit import configure_logging, create_app, load_settings, serve

from . import api
from .migrate import migrate
from .position import PositionWatch
from .projector import TicketProjector
from .settings import ProjectionsSettings

VERSION = "0.1.0"


def build_app(settings: ProjectionsSettings, directory: Directory | None = None) -> FastAPI:
    """The projections app: runs the projector beside the query API."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=10)
        async with pool.acquire() as conn:
            await migrate(conn)
        nc, store = await open_event_store(
            settings.nats_url,
            client_name="ticketstream-projections",
            settings=StreamSettings(replicas=settings.stream_replicas),
        )
        watch = PositionWatch()
        projector = TicketProjector(pool, watch)
        await watch.advance(await projector.checkpoint())
        subscription = CatchUpSubscription(
            nc,
            ConsumerSettings(durable=settings.consumer, batch_size=settings.batch_size),
            projector.handle,
            on_poison=projector.record_poison,
        )
        task = asyncio.create_task(subscription.run(), name="projector")
        app.state.pool, app.state.nc, app.state.watch, app.state.projector_task = (
            pool,
            nc,
            watch,
            task,
        )
        app.state.store = store
        try:
            yield
        finally:
            subscription.stop()
            with suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            await nc.drain()
            await pool.close()

    async def readiness() -> dict[str, bool]:
        nc = getattr(app.state, "nc", None)
        task = getattr(app.state, "projector_task", None)
        pool = getattr(app.state, "pool", None)
        database = False
        if pool is not None:
            with suppress(Exception):
                async with pool.acquire(timeout=2) as conn:
                    database = await conn.fetchval("SELECT true")
        return {
            "nats": bool(nc and nc.is_connected),
            "database": bool(database),
            "projector": bool(task and not task.done()),
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
    app.include_router(api.router)
    return app


def main() -> None:
    settings = load_settings(ProjectionsSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    serve(build_app(settings, directory_for_service(settings.service_name)), settings)


if __name__ == "__main__":
    main()
