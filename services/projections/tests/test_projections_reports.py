"""Reports over the read model: volumes, response times, SLA compliance, satisfaction
(real PostgreSQL; real NATS for the API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from ticketstream.events import (
    Actor,
    AgentReplied,
    AnyTicketEvent,
    FeedbackSubmitted,
    Metadata,
    Requester,
    SlaBreached,
    TicketClosed,
    TicketCreated,
    TicketResolved,
    TicketRouted,
    wrap,
)
from ticketstream.eventstore import Batch, RecordedEvent
from ticketstream.projections import reports
from ticketstream.projections.db import create_pool
from ticketstream.projections.migrate import migrate
from ticketstream.projections.position import PositionWatch
from ticketstream.projections.projector import TicketProjector

from .conftest import RunProjections

pytestmark = pytest.mark.integration

DAY1 = datetime(2026, 12, 1, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
REQUESTER = Actor(kind="requester", id="dana@example.com")
AGENT = Actor(kind="agent", id="ana")
SYSTEM = Actor(kind="system", id="routing")


def h(hours: float, base: datetime = DAY1) -> datetime:
    return base + timedelta(hours=hours)


def m(minutes: float, base: datetime) -> datetime:
    return base + timedelta(minutes=minutes)


class Feed:
    """Recorded events as the store would build them, at the given envelope times."""

    def __init__(self) -> None:
        self.position = 0
        self.versions: dict[str, int] = {}
        self.events: list[RecordedEvent] = []

    def add(self, event: AnyTicketEvent, at: datetime, actor: Actor = AGENT) -> None:
        version = self.versions.get(event.ticket_id, 0) + 1
        self.versions[event.ticket_id] = version
        self.position += 1
        meta = Metadata(source="tests", actor=actor)
        [envelope] = wrap([event], first_version=version, meta=meta, time=at)
        self.events.append(RecordedEvent(envelope, self.position))

    def created(self, ticket_id: str, at: datetime) -> None:
        event = TicketCreated(
            ticket_id=ticket_id,
            channel="web",
            requester=Requester(name="Dana", email="dana@example.com"),
            subject="Unable to access e-mail",
            message="Locked out.",
            help_topic="email-support",
        )
        self.add(event, at, REQUESTER)

    def routed(self, ticket_id: str, department: str, at: datetime, dues: bool = True) -> None:
        event = TicketRouted(
            ticket_id=ticket_id,
            department=department,
            priority="medium",
            sla_plan="standard" if dues else None,
            first_response_due=at + timedelta(hours=1) if dues else None,
            resolution_due=at + timedelta(hours=8) if dues else None,
        )
        self.add(event, at, SYSTEM)

    def replied(self, ticket_id: str, at: datetime) -> None:
        self.add(AgentReplied(ticket_id=ticket_id, agent_id="ana", body="Try this."), at)

    def resolved(self, ticket_id: str, at: datetime) -> None:
        self.add(TicketResolved(ticket_id=ticket_id, agent_id="ana", resolution="Done."), at)

    def closed(self, ticket_id: str, at: datetime) -> None:
        self.add(TicketClosed(ticket_id=ticket_id, reason="confirmed"), at, REQUESTER)

    def breached(self, ticket_id: str, target: Any, at: datetime) -> None:
        self.add(SlaBreached(ticket_id=ticket_id, target=target, due_at=at), at, SYSTEM)

    def feedback(self, ticket_id: str, rating: int, comment: str | None, at: datetime) -> None:
        event = FeedbackSubmitted(ticket_id=ticket_id, rating=rating, comment=comment)
        self.add(event, at, REQUESTER)


def tickets() -> Feed:
    """Five tickets over two days in two departments, with known durations:

    - IT000001 (it): created day 1 09:00, replied +10 min, resolved +100 min, closed,
      feedback 5 "Great" at 11:10.
    - IT000002 (it): created day 1 10:00, replied +30 min, resolution SLA breached, resolved
      day 2 10:00 (+24 h), closed, feedback 2 "Slow" day 2 11:00.
    - IT000003 (it): created day 2 09:00, first-response SLA breached, replied +90 min; open.
    - SA000001 (sales): created day 1 12:00, replied +20 min, resolved +40 min, closed,
      feedback 4 without a comment at 13:00.
    - SA000002 (sales, no SLA due times): created day 2 08:00; open.
    """
    f = Feed()
    a, b, c, d, e = h(9), h(10), h(9, DAY2), h(12), h(8, DAY2)
    f.created("IT000001", a)
    f.routed("IT000001", "it", a)
    f.replied("IT000001", m(10, a))
    f.resolved("IT000001", m(100, a))
    f.closed("IT000001", m(120, a))
    f.feedback("IT000001", 5, "Great", m(130, a))

    f.created("IT000002", b)
    f.routed("IT000002", "it", b)
    f.replied("IT000002", m(30, b))
    f.breached("IT000002", "resolution", h(8, b))
    f.resolved("IT000002", h(24, b))
    f.closed("IT000002", h(24.5, b))
    f.feedback("IT000002", 2, "Slow", h(25, b))

    f.created("IT000003", c)
    f.routed("IT000003", "it", c)
    f.breached("IT000003", "first_response", h(1, c))
    f.replied("IT000003", m(90, c))

    f.created("SA000001", d)
    f.routed("SA000001", "sales", d)
    f.replied("SA000001", m(20, d))
    f.resolved("SA000001", m(40, d))
    f.closed("SA000001", m(50, d))
    f.feedback("SA000001", 4, None, m(60, d))

    f.created("SA000002", e)
    f.routed("SA000002", "sales", e, dues=False)
    return f


@pytest.fixture
async def pool(fresh_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database_url, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn)
    feed = tickets()
    await TicketProjector(pool, PositionWatch()).handle(Batch(feed.events, feed.position))
    yield pool
    await pool.close()


async def run(pool: asyncpg.Pool, report: Any, **filters: Any) -> Any:
    async with pool.acquire() as conn:
        return await report(conn, **filters)


def dist(count: int, median: float | None, p90: float | None) -> dict[str, Any]:
    return {
        "count": count,
        "median_seconds": pytest.approx(median) if median is not None else None,
        "p90_seconds": pytest.approx(p90) if p90 is not None else None,
    }


async def test_volumes_per_day_and_department(pool: asyncpg.Pool) -> None:
    assert await run(pool, reports.volumes) == [
        {"day": "2026-12-01", "department": "it", "created": 2, "resolved": 1},
        {"day": "2026-12-01", "department": "sales", "created": 1, "resolved": 1},
        {"day": "2026-12-02", "department": "it", "created": 1, "resolved": 1},
        {"day": "2026-12-02", "department": "sales", "created": 1, "resolved": 0},
    ]
    assert await run(pool, reports.volumes, department="it") == [
        {"day": "2026-12-01", "department": "it", "created": 2, "resolved": 1},
        {"day": "2026-12-02", "department": "it", "created": 1, "resolved": 1},
    ]
    # The range bounds both the creations and the resolutions it counts.
    assert await run(pool, reports.volumes, since=DAY2) == [
        {"day": "2026-12-02", "department": "it", "created": 1, "resolved": 1},
        {"day": "2026-12-02", "department": "sales", "created": 1, "resolved": 0},
    ]
    assert await run(pool, reports.volumes, until=DAY2, department="sales") == [
        {"day": "2026-12-01", "department": "sales", "created": 1, "resolved": 1},
    ]


async def test_response_time_distributions(pool: asyncpg.Pool) -> None:
    # First responses: 600, 1200, 1800, 5400 s; resolutions: 2400, 6000, 86400 s.
    assert await run(pool, reports.response_times) == {
        "overall": {
            "first_response": dist(4, 1500, 1800 + 0.7 * 3600),
            "resolution": dist(3, 6000, 6000 + 0.8 * 80400),
        },
        "departments": [
            {
                "department": "it",
                "first_response": dist(3, 1800, 1800 + 0.8 * 3600),
                "resolution": dist(2, 46200, 6000 + 0.9 * 80400),
            },
            {
                "department": "sales",
                "first_response": dist(1, 1200, 1200),
                "resolution": dist(1, 2400, 2400),
            },
        ],
    }
    sales = await run(pool, reports.response_times, department="sales")
    assert sales["overall"] == {
        "first_response": dist(1, 1200, 1200),
        "resolution": dist(1, 2400, 2400),
    }
    assert [d["department"] for d in sales["departments"]] == ["sales"]
    # Tickets created on day 2: only IT000003 was answered, none resolved.
    later = await run(pool, reports.response_times, since=DAY2)
    assert later["overall"] == {
        "first_response": dist(1, 5400, 5400),
        "resolution": dist(0, None, None),
    }


async def test_response_times_of_nothing(pool: asyncpg.Pool) -> None:
    empty = await run(pool, reports.response_times, department="nobody")
    assert empty == {
        "overall": {"first_response": dist(0, None, None), "resolution": dist(0, None, None)},
        "departments": [],
    }


async def test_sla_compliance(pool: asyncpg.Pool) -> None:
    assert await run(pool, reports.sla_compliance) == [
        {
            "department": "it",
            "target": "first_response",
            "total": 3,
            "met": 2,
            "breached": 1,
            "percentage": 66.67,
        },
        {
            "department": "it",
            "target": "resolution",
            "total": 3,
            "met": 2,
            "breached": 1,
            "percentage": 66.67,
        },
        {
            "department": "sales",
            "target": "first_response",
            "total": 1,
            "met": 1,
            "breached": 0,
            "percentage": 100.0,
        },
        {
            "department": "sales",
            "target": "resolution",
            "total": 1,
            "met": 1,
            "breached": 0,
            "percentage": 100.0,
        },
    ]
    it_day1 = await run(pool, reports.sla_compliance, department="it", until=DAY2)
    assert [(r["target"], r["total"], r["met"], r["percentage"]) for r in it_day1] == [
        ("first_response", 2, 2, 100.0),
        ("resolution", 2, 1, 50.0),
    ]


async def test_satisfaction(pool: asyncpg.Pool) -> None:
    assert await run(pool, reports.satisfaction) == {
        "count": 3,
        "average": 3.67,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
        "comments": [
            {
                "ticket_id": "IT000002",
                "department": "it",
                "rating": 2,
                "comment": "Slow",
                "created_at": h(35),
            },
            {
                "ticket_id": "IT000001",
                "department": "it",
                "rating": 5,
                "comment": "Great",
                "created_at": h(9) + timedelta(minutes=130),
            },
        ],
    }
    sales = await run(pool, reports.satisfaction, department="sales")
    assert sales == {
        "count": 1,
        "average": 4.0,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
        "comments": [],
    }
    # By the time the feedback was given: IT000002's came on day 2.
    day1 = await run(pool, reports.satisfaction, since=DAY1, until=DAY2)
    assert (day1["count"], day1["distribution"]) == (
        2,
        {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1},
    )
    none = await run(pool, reports.satisfaction, since=DAY2 + timedelta(days=5))
    assert none == {
        "count": 0,
        "average": None,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
        "comments": [],
    }


@pytest.fixture
async def api(run_projections: RunProjections) -> AsyncIterator[httpx.AsyncClient]:
    async with run_projections(max_wait_seconds=0.3) as (_, client):
        yield client


@pytest.mark.parametrize("name", ["volumes", "response-times", "sla", "satisfaction"])
async def test_report_routes_answer_with_the_position(api: httpx.AsyncClient, name: str) -> None:
    response = await api.get(
        f"/api/v1/reports/{name}",
        params={"since": "2026-12-01T00:00:00Z", "until": "2026-12-03T00:00:00+01:00"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"report", "position"}
    assert isinstance(body["position"], int)
    assert "X-Ticketstream-Position" in response.headers


async def test_report_route_satisfaction_lists_every_rating(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/reports/satisfaction", params={"department": "it"})
    assert response.status_code == 200, response.text
    assert response.json()["report"]["distribution"] == {str(r): 0 for r in range(1, 6)}


@pytest.mark.parametrize("name", ["since", "until"])
async def test_a_naive_moment_is_a_422_naming_the_parameter(
    api: httpx.AsyncClient, name: str
) -> None:
    response = await api.get("/api/v1/reports/volumes", params={name: "2026-12-01T00:00:00"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["message"].startswith(f"{name}:")
    assert error["details"][0]["field"] == name


async def test_a_report_needs_an_agent_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/reports/sla", headers={"Authorization": ""})
    assert response.status_code == 401
