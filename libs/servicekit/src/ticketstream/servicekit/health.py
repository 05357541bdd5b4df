"""Liveness and readiness probes: ``GET /healthz`` and ``GET /readyz``.

Liveness says the process runs and answers; it never looks at dependencies, so an
orchestrator does not restart a healthy process because NATS is briefly away.
Readiness asks the service's own check (connected to NATS, to Postgres ...) and answers
503 while any check fails, so traffic goes elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ticketstream.servicekit.logging import get_logger

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
"""An async callable returning one boolean per dependency, e.g. ``{"nats": True}``."""

DEFAULT_READINESS_TIMEOUT = 5.0

_log = get_logger(__name__)


class Liveness(BaseModel):
    """Body of ``GET /healthz``."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Body of ``GET /readyz``: overall status and one entry per dependency."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, bool]


def health_router(
    readiness: ReadinessCheck, timeout: float = DEFAULT_READINESS_TIMEOUT
) -> APIRouter:
    """A router with ``/healthz`` and ``/readyz``; ``readiness`` is bounded by ``timeout``."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Liveness, summary="The process is alive")
    async def healthz() -> Liveness:
        return Liveness()

    @router.get(
        "/readyz",
        response_model=Readiness,
        summary="The service is connected to what it needs",
        responses={503: {"model": Readiness, "description": "A dependency is not ready"}},
    )
    async def readyz() -> JSONResponse:
        checks = await _run_checks(readiness, timeout)
        ready = all(checks.values())
        body = Readiness(status="ready" if ready else "not_ready", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    return router


async def _run_checks(readiness: ReadinessCheck, limit_seconds: float) -> dict[str, bool]:
    try:
        async with asyncio.timeout(limit_seconds):
            result = await readiness()
    except TimeoutError:
        _log.warning("readiness.timed_out", timeout_seconds=limit_seconds)
        return {"readiness_check": False}
    except Exception:
        _log.exception("readiness.failed")
        return {"readiness_check": False}
    return {str(name): bool(ok) for name, ok in result.items()}
