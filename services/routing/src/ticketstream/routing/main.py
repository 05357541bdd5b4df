"""routing's composition root: settings, directory, event store, shared state, the loops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

import structlog
from fastapi import FastAPI

from ticketstream.directory import Directory, directory_for_service, directory_from_env
from ticketstream.eventstore import (
    CatchUpSubscription,
    Clock,
    ConsumerSettings,
    StreamSettings,
    open_event_store,
)
from ticketstream.servicekit import configure_logging, create_app, load_settings, serve

from .service import WATCHED, Routing
from .settings import RoutingSettings
from .shared_state import OpenAssignments, RoundRobinPointers, Timers, open_bucket

VERSION = "0.1.0"

_log = structlog.get_logger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


async def _ticking(routing: Routing, every: float, stop: asyncio.Event) -> None:
    """Check deadlines every ``every`` seconds; what fell due while routing was down first."""
    while not stop.is_set():
        try:
            await routing.tick()
        except Exception:
            _log.exception("deadline check failed; trying again next tick")
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def build_app(
    settings: RoutingSettings, directory: Directory | None = None, clock: Clock = _now
) -> FastAPI:
    """The routing app: health and metrics beside the subscription and the deadline loop."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nc, store = await open_event_store(
            settings.nats_url,
            client_name="ticketstream-routing",
            settings=StreamSettings(replicas=settings.stream_replicas),
        )
        bucket = await open_bucket(nc, replicas=settings.stream_replicas)
        open_assignments, timers = OpenAssignments(bucket), Timers(bucket)
        await open_assignments.start()
        await timers.start()
        routing = Routing(
            store,
            app.state.directory,
            pointers=RoundRobinPointers(bucket),
            open_assignments=open_assignments,
            timers=timers,
            clock=clock,
        )
        subscription = CatchUpSubscription(
            nc,
            ConsumerSettings(durable=settings.consumer, batch_size=100),
            routing.handle,
            event_types=WATCHED,
        )
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(subscription.run(), name="routing-subscription"),
            asyncio.create_task(_ticking(routing, settings.tick_seconds, stop), name="deadlines"),
        ]
        app.state.nc, app.state.routing, app.state.tasks = nc, routing, tasks
        try:
            yield
        finally:
            subscription.stop()
            stop.set()
            with suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.gather(*tasks), 10)
            await open_assignments.stop()
            await timers.stop()
            await nc.drain()

    async def readiness() -> dict[str, bool]:
        nc = getattr(app.state, "nc", None)
        tasks = getattr(app.state, "tasks", [])
        return {
            "nats": bool(nc and nc.is_connected),
            "loops": bool(tasks) and not any(t.done() for t in tasks),
        }

    app = create_app(
        "Ticketstream routing",
        VERSION,
        settings,
        readiness,
        lifespan,
        description="Routes and assigns tickets, raises SLA breaches, auto-closes.",
    )
    app.state.directory = directory or directory_from_env()
    return app


def main() -> None:
    settings = load_settings(RoutingSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    serve(build_app(settings, directory_for_service(settings.service_name)), settings)


if __name__ == "__main__":
    main()
