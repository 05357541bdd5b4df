"""The composition of a Ticketstream HTTP application: :func:`create_app`."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.middleware import Middleware
from starlette.types import Lifespan

from ticketstream.servicekit.body_limit import BodySizeLimitMiddleware
from ticketstream.servicekit.correlation import CorrelationIdMiddleware
from ticketstream.servicekit.handlers import UnhandledErrorMiddleware, install_error_handlers
from ticketstream.servicekit.health import (
    DEFAULT_READINESS_TIMEOUT,
    ReadinessCheck,
    health_router,
)
from ticketstream.servicekit.metrics import metrics_endpoint
from ticketstream.servicekit.openapi import document_error_format
from ticketstream.servicekit.request_log import RequestLogMiddleware
from ticketstream.servicekit.settings import ServiceSettings


def create_app(
    title: str,
    version: str,
    settings: ServiceSettings,
    readiness: ReadinessCheck,
    lifespan: Lifespan[FastAPI] | None = None,
    *,
    description: str = "",
    readiness_timeout: float = DEFAULT_READINESS_TIMEOUT,
) -> FastAPI:
    """A FastAPI app with everything a Ticketstream service serves besides its own routes.

    - every error in the standard body (see :mod:`ticketstream.servicekit.errors`);
    - correlation ids (``X-Correlation-Id``), one ``request.completed`` log line and
      Prometheus metrics per request, a cap of ``settings.max_body_bytes`` on bodies;
    - ``GET /healthz``, ``GET /readyz`` (``readiness`` decides, within
      ``readiness_timeout`` seconds), ``GET /metrics``;
    - OpenAPI at ``/openapi.json`` (errors documented as they are sent), docs at ``/docs``.

    ``settings`` is kept as ``app.state.settings``. Middleware order, outermost first:
    correlation id (so every later line and the 500 answer carry it), request log and
    metrics (so they see the final status, 500 included), unhandled errors, body limit.
    """
    app = FastAPI(
        title=title,
        version=version,
        description=description,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        middleware=[
            Middleware(CorrelationIdMiddleware),
            Middleware(RequestLogMiddleware),
            Middleware(UnhandledErrorMiddleware),
            Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health_router(readiness, readiness_timeout))
    app.add_api_route(
        "/metrics",
        metrics_endpoint(),
        methods=["GET"],
        response_class=PlainTextResponse,
        tags=["operations"],
        summary="Prometheus metrics",
    )
    document_error_format(app)
    return app
