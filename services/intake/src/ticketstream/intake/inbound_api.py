"""``POST /api/v1/inbound/email``: a raw RFC 822 message, as an MTA pipes it in."""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel

from ticketstream.servicekit import ApiError, correlation_id

from .email import EmailParseError
from .inbound import EmailIntake

router = APIRouter(prefix="/api/v1", tags=["e-mail"])

_RFC822 = {
    "requestBody": {
        "required": True,
        "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class EmailReceived(BaseModel):
    """What became of the e-mail: a ticket created or appended to; an automatic reply or a
    bounce recorded on its ticket, or ignored when it has none; or a duplicate."""

    outcome: Literal["created", "appended", "recorded", "duplicate", "ignored"]
    ticket_id: str | None
    reason: str
    position: int | None
    correlation_id: str


async def email_intake_of(request: Request) -> EmailIntake:
    intake: EmailIntake = request.app.state.email_intake
    return intake


def _check_token(request: Request, authorization: str | None) -> None:
    expected = request.app.state.settings.inbound_token
    if expected is None:
        return
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise ApiError(
            401,
            "unauthorized",
            "inbound e-mail needs 'Authorization: Bearer <TICKETSTREAM_INBOUND_TOKEN>'",
            headers={"WWW-Authenticate": 'Bearer realm="ticketstream-inbound"'},
        )


@router.post("/inbound/email", status_code=202, response_model=EmailReceived, openapi_extra=_RFC822)
async def inbound_email(
    request: Request,
    intake: Annotated[EmailIntake, Depends(email_intake_of)],
    authorization: Annotated[str | None, Header()] = None,
) -> EmailReceived:
    """Open a ticket from an e-mail, or thread it onto the ticket it answers."""
    _check_token(request, authorization)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "message/rfc822":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the raw e-mail as message/rfc822, not {media_type or 'no content type'}",
            details=[{"field": "content-type", "in": "header", "rule": "media_type"}],
        )
    cid = correlation_id()
    try:
        received = await intake.receive(await request.body(), cid)
    except EmailParseError as error:
        raise ApiError(
            422,
            "invalid_email",
            f"the body is not an RFC 822 e-mail: {error}",
            details=[{"field": "", "in": "body", "rule": "rfc822", "message": str(error)}],
        ) from error
    return EmailReceived(
        outcome=received.outcome,
        ticket_id=received.ticket_id,
        reason=received.reason,
        position=received.position,
        correlation_id=cid,
    )
