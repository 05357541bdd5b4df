"""The agents' query API (DESIGN.md §5): thin routes over the read models."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ticketstream.servicekit import ApiError

from . import queries
from .position import PositionWatch

router = APIRouter(prefix="/api/v1")

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


def pool_of(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


@router.get("/tickets/{ticket_id}")
async def get_ticket(
    ticket_id: Annotated[str, Path(pattern=r"^[0-9A-Z]{4,32}$")],
    position: Annotated[int, Depends(caught_up)],
    pool: Annotated[asyncpg.Pool, Depends(pool_of)],
) -> dict[str, Any]:
    """A ticket's current state and its thread."""
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
