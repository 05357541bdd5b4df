"""A tiny service built with ``create_app``, and clients and log capture around it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import structlog
from pydantic import BaseModel, Field, field_validator

from ticketstream.servicekit import (
    ApiError,
    ServiceSettings,
    configure_logging,
    correlation_id,
    create_app,
    get_logger,
)

MAX_BODY_BYTES = 1024


class Requester(BaseModel):
    name: str = Field(min_length=1)
    email: str

    @field_validator("email")
    @classmethod
    def _looks_like_email(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("value is not a valid email address")
        return value


class OpenTicket(BaseModel):
    requester: Requester
    subject: str = Field(min_length=1, max_length=200)


class Readiness:
    """The readiness check of the test service; tests flip its answers."""

    def __init__(self) -> None:
        self.checks = {"nats": True, "postgres": True}

    async def __call__(self) -> dict[str, bool]:
        return dict(self.checks)


def build_app(readiness: Readiness) -> Any:
    settings = ServiceSettings(service_name="svc-test", port=8999, max_body_bytes=MAX_BODY_BYTES)
    app = create_app("Test service", "1.2.3", settings, readiness)
    log = get_logger("tests.service")

    @app.post("/api/v1/departments/{department}/tickets", status_code=201)
    async def open_ticket(
        department: str, command: OpenTicket, notify: bool = True
    ) -> dict[str, Any]:
        log.info("ticket.opened", department=department)
        return {"department": department, "subject": command.subject, "cid": correlation_id()}

    @app.get("/api/v1/tickets/{ticket_id}")
    async def get_ticket(ticket_id: str) -> dict[str, str]:
        return {"ticket_id": ticket_id}

    @app.post("/api/v1/tickets/{ticket_id}/assignment")
    async def assign(ticket_id: str) -> dict[str, str]:
        raise ApiError(
            409,
            "version_conflict",
            f"Ticket {ticket_id} changed meanwhile; reload it and try again.",
            [{"expected_version": 3, "actual_version": 4}],
        )

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 leaked in an exception")

    return app


@pytest.fixture
def readiness() -> Readiness:
    return Readiness()


@pytest.fixture
def app(readiness: Readiness) -> Any:
    return build_app(readiness)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


class LogLines:
    """What the service logged, one parsed JSON object per line."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.all() if line.get("event") == event]


@pytest.fixture
def json_logs() -> Iterator[LogLines]:
    """Configure JSON logging into a buffer for the test, and undo it afterwards."""
    root = logging.getLogger()
    saved_level = root.level
    saved_handlers = list(root.handlers)
    stream = io.StringIO()
    configure_logging("svc-test", "DEBUG", "json", stream=stream)
    try:
        yield LogLines(stream)
    finally:
        for handler in list(root.handlers):
            if handler not in saved_handlers:
                root.removeHandler(handler)
        root.setLevel(saved_level)
        structlog.reset_defaults()
