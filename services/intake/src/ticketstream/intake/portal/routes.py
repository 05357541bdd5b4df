"""The portal's routes: open a ticket, then follow and answer it through its secret link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse

from ticketstream.directory import Directory
from ticketstream.events import Actor
from ticketstream.eventstore import AttachmentStore, EventStore
from ticketstream.servicekit import ApiError
from ticketstream.signing import Signer
from ticketstream.tickets import (
    Command,
    ConfirmResolution,
    Reopen,
    ReplyAsRequester,
    SubmitFeedback,
)

from ..actors import attachments_of, directory_of, signer_of, store_of
from ..api import open_from_form
from ..outcomes import build, run
from ..ticket_form import read_open_request
from .access import load_ticket, requester
from .downloads import attachment_response
from .forms import (
    OPEN_FIELDS,
    ConfirmForm,
    FeedbackForm,
    FieldErrors,
    FormT,
    InvalidForm,
    ReopenForm,
    ReplyForm,
    api_field_errors,
    field_errors,
    parse,
    text_fields,
)
from .pages import PortalRoute, render
from .thread import RequesterTicket

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

Store = Annotated[EventStore, Depends(store_of)]
Dir = Annotated[Directory, Depends(directory_of)]
Sign = Annotated[Signer, Depends(signer_of)]
Files = Annotated[AttachmentStore, Depends(attachments_of)]

DONE = {
    "reply": "Your reply was added to the ticket.",
    "confirm": "Thank you for confirming: the ticket is closed.",
    "reopen": "The ticket is open again; support will get back to you.",
    "feedback": "Thank you for your feedback!",
}


@router.get("/", response_class=HTMLResponse)
async def open_a_ticket_form(request: Request, directory: Dir) -> HTMLResponse:
    """The "Open a New Ticket" form."""
    return _open_form(request, directory, {}, {})


@router.post("/tickets", response_class=HTMLResponse)
async def open_a_ticket(
    request: Request, store: Store, directory: Dir, signer: Sign, files: Files
) -> HTMLResponse:
    """Open the ticket and show its number and link, or the form again with its errors."""
    try:
        body, uploads = await read_open_request(request, request.app.state.attachment_limits)
        opened = await open_from_form(body, uploads, "web", store, directory, signer, files)
    except RequestValidationError as invalid:
        errors, status = field_errors(invalid.errors(), OPEN_FIELDS), 422
    except ApiError as rejected:
        if not any(detail.get("field") in OPEN_FIELDS for detail in rejected.details):
            raise  # not about a field of the form: an error page
        errors, status = api_field_errors(rejected, OPEN_FIELDS), rejected.status
    else:
        return render(request, "opened.html", 201, opened=opened, email=body.email)
    values = text_fields(await request.form())
    return _open_form(request, directory, values, errors, status)


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request,
    ticket_id: str,
    store: Store,
    signer: Sign,
    secret: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    """The requester's page of their ticket: status, public thread, and what they can do."""
    ticket = await load_ticket(ticket_id, secret, store, signer)
    return _ticket_page(request, ticket, secret, done=DONE.get(done or ""))


@router.get("/tickets/{ticket_id}/feedback", response_class=HTMLResponse)
async def survey(
    request: Request,
    ticket_id: str,
    store: Store,
    signer: Sign,
    secret: str | None = None,
    rating: str | None = None,
) -> HTMLResponse:
    """The satisfaction survey, with the rating chosen in the closure e-mail preselected."""
    ticket = await load_ticket(ticket_id, secret, store, signer)
    values = {"rating": rating} if rating in {"1", "2", "3", "4", "5"} else {}
    secret = (secret or "").strip()
    return render(request, "survey.html", ticket=ticket, secret=secret, values=values, errors={})


@router.post("/tickets/{ticket_id}/reply")
async def reply(request: Request, ticket_id: str, store: Store, signer: Sign) -> Response:
    """The requester answers; a resolved ticket opens again."""

    def command(form: ReplyForm, actor: Actor) -> Command:
        return build(
            ReplyAsRequester, ticket_id=ticket_id, actor=actor, channel="web", body=form.body
        )

    return await _act(request, ticket_id, ReplyForm, command, "reply", store, signer)


@router.post("/tickets/{ticket_id}/confirm")
async def confirm(request: Request, ticket_id: str, store: Store, signer: Sign) -> Response:
    """The requester confirms the resolution; the ticket closes."""

    def command(form: ConfirmForm, actor: Actor) -> Command:
        return build(ConfirmResolution, ticket_id=ticket_id, actor=actor)

    return await _act(request, ticket_id, ConfirmForm, command, "confirm", store, signer)


@router.post("/tickets/{ticket_id}/reopen")
async def reopen(request: Request, ticket_id: str, store: Store, signer: Sign) -> Response:
    """The requester says the resolution did not solve it; the ticket opens again."""

    def command(form: ReopenForm, actor: Actor) -> Command:
        return build(Reopen, ticket_id=ticket_id, actor=actor, reason=form.reason)

    return await _act(request, ticket_id, ReopenForm, command, "reopen", store, signer)


@router.post("/tickets/{ticket_id}/feedback")
async def feedback(request: Request, ticket_id: str, store: Store, signer: Sign) -> Response:
    """The satisfaction survey of a closed ticket, answered once."""

    def command(form: FeedbackForm, actor: Actor) -> Command:
        return build(
            SubmitFeedback,
            ticket_id=ticket_id,
            actor=actor,
            rating=form.rating,
            comment=form.comment,
        )

    return await _act(request, ticket_id, FeedbackForm, command, "feedback", store, signer)


@router.get("/tickets/{ticket_id}/attachments/{sha256}")
async def attachment(
    ticket_id: str, sha256: str, store: Store, signer: Sign, files: Files, secret: str | None = None
) -> Response:
    """A file of the ticket's public thread, for its requester only."""
    ticket = await load_ticket(ticket_id, secret, store, signer)
    ref = ticket.attachment(sha256)
    if ref is None:
        raise ApiError(404, "attachment_not_found", "this ticket has no such attachment")
    return attachment_response(ref, await files.get(ref))


def _open_form(
    request: Request,
    directory: Directory,
    values: dict[str, str],
    errors: FieldErrors,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "open.html",
        status_code,
        topics=directory.help_topics,
        values=values,
        errors=errors,
        max_attachments=request.app.state.attachment_limits.max_count,
        max_mib=request.app.state.attachment_limits.max_bytes // (1024 * 1024),
    )


def _ticket_page(
    request: Request,
    ticket: RequesterTicket,
    secret: str | None,
    status_code: int = 200,
    *,
    done: str | None = None,
    problem: str | None = None,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "ticket.html",
        status_code,
        ticket=ticket,
        secret=(secret or "").strip(),
        done=done,
        problem=problem,
        errors=errors or {},
        values=values or {},
    )


async def _act(
    request: Request,
    ticket_id: str,
    form_model: type[FormT],
    command: Callable[[FormT, Actor], Command],
    done: str,
    store: EventStore,
    signer: Signer,
) -> Response:
    """Run a requester's command from a form; 303 to their page, or the page with why not."""
    fields = text_fields(await request.form())
    secret = fields.get("secret", "").strip()
    actor = await requester(ticket_id, secret, store, signer)
    problem, errors = None, {}
    try:
        await run(store, command(parse(form_model, fields), actor), actor)
    except InvalidForm as invalid:
        status, errors = 422, invalid.errors
    except RequestValidationError as invalid:
        status, errors = 422, field_errors(invalid.errors())
    except ApiError as rejected:
        status, problem = rejected.status, rejected.message
    else:
        query = urlencode({"secret": secret, "done": done})
        return RedirectResponse(f"/tickets/{ticket_id}?{query}", status_code=303)
    ticket = await load_ticket(ticket_id, secret, store, signer)
    return _ticket_page(
        request, ticket, secret, status, problem=problem, errors=errors, values=fields
    )
