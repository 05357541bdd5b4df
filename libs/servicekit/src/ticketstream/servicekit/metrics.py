"""Prometheus metrics of the HTTP layer and the ``/metrics`` exposition.

The metrics live in the process-wide default registry, as a service's own metrics do,
so ``/metrics`` shows both. Requests are labelled by the route *template*
(``/api/v1/tickets/{ticket_id}``), never by the raw path, so the number of series stays
bounded whatever clients send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

UNMATCHED_ROUTE = "<unmatched>"
"""The ``route`` label of a request that matched no route (a 404 from the router)."""

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status.",
    ["method", "route", "status"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and record how long it took."""
    labels = (method if method in _KNOWN_METHODS else "OTHER", route, str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_REQUEST_DURATION.labels(*labels).observe(seconds)


def route_template(scope: Scope) -> str:
    """The path template of the route that handled ``scope``, or :data:`UNMATCHED_ROUTE`."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


def metrics_endpoint(
    registry: CollectorRegistry = REGISTRY,
) -> Callable[[Request], Awaitable[Response]]:
    """A route endpoint serving ``registry`` in the format the scraper asks for."""

    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), media_type=content_type)

    return metrics
