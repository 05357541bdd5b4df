"""intake's composition root: settings, the event store connection, the HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ticketstream.eventstore import StreamSettings, open_event_store
from ticketstream.servicekit import configure_logging, create_app, load_settings, serve

from . import api
from .settings import IntakeSettings

VERSION = "0.1.0"


def build_app(settings: IntakeSettings) -> FastAPI:
    """The intake app; connects to NATS when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nc, store = await open_event_store(
            settings.nats_url,
            client_name="ticketstream-intake",
            settings=StreamSettings(replicas=settings.stream_replicas),
        )
        app.state.nc = nc
        app.state.store = store
        try:
            yield
        finally:
            await nc.drain()

    async def readiness() -> dict[str, bool]:
        nc = getattr(app.state, "nc", None)
        return {"nats": bool(nc and nc.is_connected)}

    app = create_app(
        "Ticketstream intake",
        VERSION,
        settings,
        readiness,
        lifespan,
        description="The command side: open tickets and act on them.",
    )
    app.include_router(api.router)
    return app


def main() -> None:
    settings = load_settings(IntakeSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
