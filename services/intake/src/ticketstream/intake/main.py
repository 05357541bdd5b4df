"""intake's composition root: settings, the event store connection, the HTTP app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ticketstream.directory import Directory, directory_for_service, directory_from_env
from ticketstream.eventstore import AttachmentStore, StreamSettings, open_event_store
from ticketstream.servicekit import (
    configure_logging,
    create_app,
    load_settings,
    serve,
    worker_index,
)
from ticketstream.signing import Signer

from . import api, attachments_api, inbound_api, ticket_commands
from .imap_poller import ImapPoller
from .inbound import EmailIntake
from .portal import routes as portal
from .settings import IntakeSettings

VERSION = "0.1.0"


def build_app(settings: IntakeSettings, directory: Directory | None = None) -> FastAPI:
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
        app.state.attachments = await AttachmentStore.open(nc, replicas=settings.stream_replicas)
        app.state.email_intake = EmailIntake(
            store, app.state.directory, app.state.signer, app.state.attachments
        )
        stop = asyncio.Event()
        imap = settings.imap() if worker_index() == 0 else None  # one poller per service
        poller = (
            asyncio.create_task(ImapPoller(imap, app.state.email_intake.receive_fetched).run(stop))
            if imap
            else None
        )
        try:
            yield
        finally:
            stop.set()
            if poller is not None:
                await asyncio.wait_for(poller, 30)
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
    app.state.directory = directory or directory_from_env()
    app.state.signer = Signer.from_secret(settings.secret_key.get_secret_value())
    app.state.attachment_limits = settings.attachment_limits()
    # The busiest routes first: a request is matched against the routes in this order.
    app.include_router(api.router)
    app.include_router(inbound_api.router)
    app.include_router(ticket_commands.router)
    app.include_router(attachments_api.router)
    app.include_router(portal.router)
    return app


def main() -> None:
    settings = load_settings(IntakeSettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    app = build_app(settings, directory_for_service(settings.service_name))
    serve(app, settings, workers=settings.workers)


if __name__ == "__main__":
    main()
