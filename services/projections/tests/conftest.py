"""Fixtures for the projections tests: the service in this process, on real servers."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ticketstream.projections.main import build_app
from ticketstream.projections.settings import ProjectionsSettings

Running = tuple[FastAPI, httpx.AsyncClient]
RunProjections = Callable[..., AbstractAsyncContextManager[Running]]


@pytest.fixture
def run_projections(nats_url: str, fresh_database_url: str) -> RunProjections:
    """Runs the projections app (projector, follower, API) on the test's servers and gives
    it with a client that carries an agent token. Keyword arguments override settings."""

    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[Running]:
        settings = ProjectionsSettings(
            **{
                "nats_url": nats_url,
                "database_url": fresh_database_url,
                "consumer": f"test-{secrets.token_hex(6)}",
                **overrides,
            }
        )
        app = build_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://projections",
                headers={"Authorization": "Bearer ts-dev-alex"},
                timeout=60,
            ) as client,
        ):
            yield app, client

    return running
