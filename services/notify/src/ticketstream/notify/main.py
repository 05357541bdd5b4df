"""notify's composition root: settings, directory, templates, SMTP, the subscription."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

from fastapi import FastAPI

from ticketstream.directory import Directory, directory_for_service, directory_from_env
from ticketstream.events import EVENT_CLASSES, event_type
from ticketstream.eventstore import (
    CatchUpSubscription,
    ConsumerSettings,
    StreamSettings,
    open_event_store,
)
from ticketstream.servicekit import configure_logging, create_app, load_settings, serve
from ticketstream.signing import Signer

from .compose import Templates
from .policy import SendPolicy
from .service import Notifier
from .settings import NotifySettings
from .smtp import MailSender, SmtpSender

VERSION = "0.1.0"
BOOKKEEPING = {"email_sent", "email_failed", "auto_reply_received"}
NOTIFIED = frozenset(
    t for t in map(event_type, EVENT_CLASSES) if t.split(".")[-2] not in BOOKKEEPING
)
"""Every event type but notify's own records: those never cause an e-mail."""


def build_app(
    settings: NotifySettings, directory: Directory | None = None, sender: MailSender | None = None
) -> FastAPI:
    """The notify app: health and metrics beside the subscription that sends the e-mails."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nc, store = await open_event_store(
            settings.nats_url,
            client_name="ticketstream-notify",
            settings=StreamSettings(replicas=settings.stream_replicas),
        )

        def clock() -> datetime:
            return datetime.now(UTC)

        mail = sender or SmtpSender(settings.smtp())
        notifier = Notifier(
            store,
            app.state.directory,
            Signer.from_secret(settings.secret_key.get_secret_value()),
            Templates(settings.templates),
            mail,
            clock=clock,
            policy=SendPolicy(settings.notify_deny.split(","), settings.notify_max_per_hour, clock),
        )
        subscription = CatchUpSubscription(
            nc,
            ConsumerSettings(durable=settings.consumer, batch_size=50),
            notifier.handle,
            event_types=NOTIFIED,
        )
        task = asyncio.create_task(subscription.run(), name="notify-subscription")
        app.state.nc, app.state.task = nc, task
        try:
            yield
        finally:
            subscription.stop()
            with suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
            if isinstance(mail, SmtpSender):
                await mail.close()
            await nc.drain()

    async def readiness() -> dict[str, bool]:
        nc = getattr(app.state, "nc", None)
        task = getattr(app.state, "task", None)
        return {
            "nats": bool(nc and nc.is_connected),
            "subscription": bool(task and not task.done()),
        }

    app = create_app(
        "Ticketstream notify",
        VERSION,
        settings,
        readiness,
        lifespan,
        description="E-mails on every update, threaded, exactly once.",
    )
    app.state.directory = directory or directory_from_env()
    return app


def main() -> None:
    settings = load_settings(NotifySettings)
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    serve(build_app(settings, directory_for_service(settings.service_name)), settings)


if __name__ == "__main__":
    main()
