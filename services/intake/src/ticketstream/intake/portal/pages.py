"""Rendering portal pages: one Jinja2 environment (autoescaped), security headers, errors.

Every portal route is a :class:`PortalRoute`, so every answer it gives (page, redirect,
download or error) carries the same headers, and an :class:`ApiError` escaping a route
becomes a page for people instead of the JSON error body.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.exceptions import HTTPException

from ticketstream.directory import Directory
from ticketstream.servicekit import ApiError

SECURITY_HEADERS = {
    # The secret is in the URL: never send it on as a Referer, never let a page be framed
    # or run a script, and keep pages with a secret out of shared caches.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

_TITLES = {
    400: "The form could not be read",
    403: "This link does not open this ticket",
    404: "Not found",
    409: "That is not possible right now",
    413: "Too large",
    415: "The form was not sent as expected",
    422: "Please check the form",
}


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


templates = Environment(
    loader=PackageLoader("ticketstream.intake.portal", "templates"),
    autoescape=True,  # every template, whatever its name: all user content is escaped
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["when"] = _when
templates.filters["size"] = _size


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` with ``context`` and the organization's name."""
    directory: Directory = request.app.state.directory
    organization = directory.organization.name
    html = templates.get_template(template).render(organization=organization, **context)
    return HTMLResponse(html, status_code=status_code)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A page for an error the requester cannot fix in a form."""
    title = _TITLES.get(status, "Something went wrong")
    return render(request, "error.html", status, title=title, message=message)


class PortalRoute(APIRoute):
    """A route whose answers carry :data:`SECURITY_HEADERS` and whose errors are pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def portal_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except ApiError as error:
                response = error_page(request, error.status, error.message)
            except HTTPException as error:
                response = error_page(request, error.status_code, str(error.detail))
            response.headers.update(SECURITY_HEADERS)
            return response

        return portal_handler
