"""The agents' query API (DESIGN.md §5): thin routes over the read models."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from ticketstream.directory import Directory
from ticketstream.events import to_dict
from ticketstream.eventstore import EventStore
from ticketstream.servicekit import ApiError, bearer_token, unauthorized
from ticketstream.tickets import TicketState, fold

from . import queries, reports
from .position import PositionWatch

POSITION_HEADER = "X-Ticketstream-Position"

MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        description="Wait (bounded) until the read model has applied this stream position, "
        "e.g. the position a command answered with.",
    ),
]


async def caught_up(request: Request, response: Response, min_position: MinPosition = None) -> int:
    """Wait for ``min_position`` if asked; the position the answer reflects."""
    watch: PositionWatch = request.app.state.watch
    if min_position is not None and not await watch.wait_for(
        min_position, request.app.state.settings.max_wait_seconds
    ):
        raise ApiError(
            503,
            "position_not_reached",
            f"the read model is at position {watch.position} and did not reach "
            f"min_position {min_position} in time; retry shortly",
            headers={"Retry-After": "1"},
        )
    response.headers[POSITION_HEADER] = str(watch.position)
    return watch.position


async def agent(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The agent behind ``Authorization: Bearer <token>``; every query needs one."""
    token = bearer_token(authorization)
    if token is None:
        raise unauthorized("queries need 'Authorization: Bearer <agent token>'")
    directory: Directory = request.app.state.directory
    found = directory.agent_by_token(token)
    if found is None:
        raise unauthorized("unknown agent token")
    return found.id


router = APIRouter(prefix="/api/v1", dependencies=[Depends(agent)])


def pool_of(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


TicketIdPath = Annotated[str, Path(pattern=r"^[0-9A-Z]{4,32}$")]


@router.get("/tickets/{ticket_id}")
async def get_ticket(
    request: Request,
    response: Response,
    ticket_id: TicketIdPath,
    pool: Annotated[asyncpg.Pool, Depends(pool_of)],
    min_position: MinPosition = None,
    as_of: Annotated[
        datetime | None,
        Query(description="Time travel: the ticket as it was then, folded from its events"),
    ] = None,
) -> dict[str, Any]:
    """A ticket's current state and its thread, or (``as_of``) its state at a moment."""
    if as_of is not None:
        return await _as_of(request, ticket_id, as_of)
    position = await caught_up(request, response, min_position)
    async with pool.acquire() as conn:
        ticket = await queries.ticket_detail(conn, ticket_id)
    if ticket is None:
        raise ApiError(
            404,
            "ticket_not_found",
            f"no ticket {ticket_id} (as of position {position})",
            headers={POSITION_HEADER: str(position)},
        )
    return {"ticket": ticket, "position": position}


def _aware(name: str, moment: datetime | None) -> None:
    """A 422 naming the query parameter when ``moment`` has no time zone."""
    if moment is not None and moment.tzinfo is None:
        raise ApiError(
            422,
            "validation_failed",
            f"{name}: needs a time zone, e.g. 2026-12-04T17:00:00Z",
            details=[{"field": name, "in": "query", "rule": "timezone_aware"}],
        )


async def _as_of(request: Request, ticket_id: str, moment: datetime) -> dict[str, Any]:
    _aware("as_of", moment)
    store: EventStore = request.app.state.store
    then = [r for r in (await store.load(ticket_id)).events if r.envelope.time <= moment]
    state = fold([r.envelope.data for r in then])
    if state is None:
        raise ApiError(404, "ticket_not_found", f"ticket {ticket_id} did not exist at {moment}")
    return {
        "ticket": _state_json(state),
        "as_of": moment.isoformat(),
        "version": state.version,
        "position": then[-1].position,
    }


@router.get("/tickets/{ticket_id}/events")
async def ticket_events(request: Request, ticket_id: TicketIdPath) -> dict[str, Any]:
    """The ticket's raw event history (the audit trail): CloudEvents with their positions."""
    store: EventStore = request.app.state.store
    stream = await store.load(ticket_id)
    if not stream.events:
        raise ApiError(404, "ticket_not_found", f"no ticket {ticket_id}")
    return {
        "ticket_id": ticket_id,
        "events": [{"position": r.position, **to_dict(r.envelope)} for r in stream.events],
    }


def _state_json(state: TicketState) -> dict[str, Any]:
    data = asdict(state)
    data["tags"] = sorted(state.tags)
    data["breached"] = sorted(state.breached)
    data["email_message_ids"] = sorted(state.email_message_ids)
    return data


Status = Literal["open", "pending", "resolved", "closed"]
Label = Annotated[str, Query(min_length=1, max_length=254)]


def _invalid(error: queries.InvalidQueryError) -> ApiError:
    return ApiError(
        422,
        "validation_failed",
        f"{error.field}: {error}",
        details=[{"field": error.field, "in": "query", "rule": "invalid", "message": str(error)}],
    )


@router.get("/tickets")
async def list_tickets(
    request: Request,
    response: Response,
    pool: Annotated[asyncpg.Pool, Depends(pool_of)],
    status: Annotated[list[Status] | None, Query()] = None,
    department: Label | None = None,
    assignee: Label | None = None,
    priority: Annotated[Literal["low", "medium", "high", "urgent"] | None, Query()] = None,
    category: Label | None = None,
    tag: Label | None = None,
    requester: Label | None = None,
    overdue: bool | None = None,
    text: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    sort: Literal["created", "updated", "priority"] = "created",
    direction: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Tickets matching every filter, newest first by default; ``next_cursor`` pages on."""
    position = await caught_up(request, response, min_position)
    try:
        async with pool.acquire() as conn:
            rows, next_cursor = await queries.list_tickets(
                conn,
                status=status,
                department=department,
                assignee=assignee,
                priority=priority,
                category=category,
                tag=tag,
                requester=requester,
                overdue=overdue,
                text=text,
                sort=sort,
                direction=direction,
                limit=limit,
                cursor=cursor,
            )
    except queries.InvalidQueryError as error:
        raise _invalid(error) from error
    return {"tickets": rows, "next_cursor": next_cursor, "position": position}


@router.get("/queues/{name}")
async def queue(
    request: Request,
    response: Response,
    name: Literal["unassigned", "mine", "department", "overdue", "pending"],
    agent_id: Annotated[str, Depends(agent)],
    pool: Annotated[asyncpg.Pool, Depends(pool_of)],
    department: Label | None = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """A work queue: unassigned, mine (the calling agent's), department, overdue, pending."""
    position = await caught_up(request, response, min_position)
    try:
        async with pool.acquire() as conn:
            rows, next_cursor = await queries.queue(
                conn, name, agent_id, department=department, limit=limit, cursor=cursor
            )
    except queries.InvalidQueryError as error:
        raise _invalid(error) from error
    return {"queue": name, "tickets": rows, "next_cursor": next_cursor, "position": position}


@router.get("/reports/workload")
async def workload(
    request: Request,
    response: Response,
    pool: Annotated[asyncpg.Pool, Depends(pool_of)],
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """Open, pending and overdue tickets per agent."""
    position = await caught_up(request, response, min_position)
    async with pool.acquire() as conn:
        agents = await queries.workload(conn)
    return {"agents": agents, "position": position}


# Reports (appended): volumes, response times, SLA compliance, satisfaction.


ReportSince = Annotated[
    datetime | None,
    Query(description="From this moment (inclusive), with a time zone, e.g. 2026-12-01T00:00Z"),
]
ReportUntil = Annotated[
    datetime | None,
    Query(description="Up to this moment (exclusive), with a time zone"),
]


@dataclass(frozen=True, slots=True)
class ReportScope:
    """A report's filters, checked, with the read model caught up to ``min_position``."""

    pool: asyncpg.Pool
    position: int
    since: datetime | None
    until: datetime | None
    department: str | None

    async def run(self, build: Callable[..., Awaitable[Any]]) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            report = await build(
                conn, since=self.since, until=self.until, department=self.department
            )
        return {"report": report, "position": self.position}


async def report_scope(
    request: Request,
    response: Response,
    pool: Annotated[asyncpg.Pool, Depends(pool_of)],
    since: ReportSince = None,
    until: ReportUntil = None,
    department: Label | None = None,
    min_position: MinPosition = None,
) -> ReportScope:
    _aware("since", since)
    _aware("until", until)
    position = await caught_up(request, response, min_position)
    return ReportScope(pool, position, since, until, department)


Scope = Annotated[ReportScope, Depends(report_scope)]


@router.get("/reports/volumes")
async def report_volumes(scope: Scope) -> dict[str, Any]:
    """Tickets created and resolved per UTC day and department."""
    return await scope.run(reports.volumes)


@router.get("/reports/response-times")
async def report_response_times(scope: Scope) -> dict[str, Any]:
    """First-response and resolution times (count, median, p90 in seconds) of the tickets
    created in the range, overall and per department."""
    return await scope.run(reports.response_times)


@router.get("/reports/sla")
async def report_sla(scope: Scope) -> dict[str, Any]:
    """SLA compliance per department and target of the tickets created in the range."""
    return await scope.run(reports.sla_compliance)


@router.get("/reports/satisfaction")
async def report_satisfaction(scope: Scope) -> dict[str, Any]:
    """Satisfaction with the feedback given in the range: average, distribution, comments."""
    return await scope.run(reports.satisfaction)
