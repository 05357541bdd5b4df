"""Health, readiness, metrics and the OpenAPI document every service serves."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from ticketstream.servicekit import ServiceSettings, create_app

pytestmark = pytest.mark.unit

ROUTE = "/api/v1/tickets/{ticket_id}"


async def test_healthz_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_ignores_dependencies(client: httpx.AsyncClient, readiness: Any) -> None:
    readiness.checks["nats"] = False

    response = await client.get("/healthz")

    assert response.status_code == 200


async def test_readyz_when_everything_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"nats": True, "postgres": True}}


async def test_readyz_when_a_dependency_is_down(client: httpx.AsyncClient, readiness: Any) -> None:
    readiness.checks["postgres"] = False

    response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "checks": {"nats": True, "postgres": False}}


async def _ready_app_client(check: object, timeout: float = 5.0) -> httpx.AsyncClient:
    settings = ServiceSettings(service_name="svc-test", port=8999)
    app = create_app("t", "1", settings, check, readiness_timeout=timeout)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_readyz_when_the_check_fails() -> None:
    async def broken() -> dict[str, bool]:
        raise ConnectionError("nats down")

    async with await _ready_app_client(broken) as http:
        response = await http.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"


async def test_readyz_when_the_check_hangs() -> None:
    async def hanging() -> dict[str, bool]:
        await asyncio.sleep(10)
        return {"nats": True}

    async with await _ready_app_client(hanging, timeout=0.05) as http:
        response = await http.get("/readyz")

    assert response.status_code == 503


def _count(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    before = _count("GET", ROUTE, "200")

    await client.get("/api/v1/tickets/T-1")
    await client.get("/api/v1/tickets/T-2")
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert _count("GET", ROUTE, "200") == before + 2
    assert f'http_requests_total{{method="GET",route="{ROUTE}",status="200"}}' in response.text
    assert "http_request_duration_seconds_bucket" in response.text
    assert "T-1" not in response.text


async def test_metrics_bound_unmatched_paths(client: httpx.AsyncClient) -> None:
    before = _count("GET", "<unmatched>", "404")

    await client.get("/random/scanner/path")

    assert _count("GET", "<unmatched>", "404") == before + 1


async def test_metrics_count_failures_as_500(client: httpx.AsyncClient) -> None:
    before = _count("GET", "/boom", "500")

    await client.get("/boom")

    assert _count("GET", "/boom", "500") == before + 1


async def test_openapi_documents_the_error_format(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    operation = schema["paths"]["/api/v1/departments/{department}/tickets"]["post"]
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    assert operation["responses"]["422"]["content"]["application/json"]["schema"] == error_ref
    assert operation["responses"]["default"]["content"]["application/json"]["schema"] == error_ref
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert {"/healthz", "/readyz", "/metrics"} <= set(schema["paths"])
    assert schema["info"] == {"title": "Test service", "version": "1.2.3"}


async def test_docs_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert "/openapi.json" in response.text
