"""How the outcome of a ticket command becomes an HTTP answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from ticketstream.events import Actor, Metadata
from ticketstream.eventstore import AppendResult, ConcurrencyConflict, EventStore
from ticketstream.servicekit import ApiError, correlation_id
from ticketstream.ticketing import execute
from ticketstream.tickets import Command, TicketRuleViolation

SOURCE = "ticketstream/intake"

_RULE_STATUS = {
    "ticket_not_found": 404,
    "not_requester": 403,
    "not_allowed_for_actor": 403,
    "invalid_command": 422,
}


class CommandAccepted(BaseModel):
    """What a command wrote: the ticket's new version and the stream position of its events."""

    ticket_id: str
    version: int
    position: int = Field(description="Stream position; pass it as min_position to queries")
    events: list[str] = Field(description="Types of the events the command appended")
    correlation_id: str


def rule_error(violation: TicketRuleViolation) -> ApiError:
    """A rejected command: 404, 403, 422 or (the ticket's state forbids it) 409."""
    return ApiError(
        _RULE_STATUS.get(violation.rule, 409),
        violation.rule,
        violation.message,
        details=[{"rule": violation.rule, "message": violation.message}],
    )


def build(factory: Callable[..., Command], **fields: Any) -> Command:
    """Build a command, turning a shape error the edge did not catch into a 422."""
    try:
        return factory(**fields)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from error


async def run(store: EventStore, command: Command, actor: Actor) -> CommandAccepted:
    """Apply one command and answer with where it landed."""
    cid = correlation_id()
    meta = Metadata(source=SOURCE, actor=actor, correlation_id=cid)
    result = await _guarded(lambda: execute(store, command, meta, clock=lambda: datetime.now(UTC)))
    return accepted(result, cid)


def accepted(result: AppendResult, cid: str) -> CommandAccepted:
    return CommandAccepted(
        ticket_id=result.ticket_id,
        version=result.version,
        position=result.position,
        events=[recorded.envelope.type for recorded in result.events],
        correlation_id=cid,
    )


async def _guarded(call: Callable[[], Awaitable[AppendResult]]) -> AppendResult:
    try:
        return await call()
    except TicketRuleViolation as violation:
        raise rule_error(violation) from violation
    except ConcurrencyConflict as conflict:
        raise ApiError(409, "conflict", str(conflict)) from conflict
