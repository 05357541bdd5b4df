"""Turning every failure of a request into the standard error body.

- :class:`~ticketstream.servicekit.errors.ApiError` → its status, code and details;
- invalid input → 422 ``validation_failed`` (one detail per field and rule), malformed
  JSON → 400 ``malformed_json``, a body in another media type than JSON → 415;
- the router's 404 / 405 and any other ``HTTPException`` → the same format;
- anything unhandled → 500 ``internal_error``: the exception is logged with the
  correlation id, the client gets the id and never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketstream.servicekit.errors import (
    ApiError,
    default_code,
    error_response,
    reason_phrase,
)
from ticketstream.servicekit.logging import current_correlation_id, get_logger

ERROR_CODE_SCOPE_KEY = "ticketstream.error_code"
"""Where a handler leaves the error code it answered with, for the request log."""

_REQUEST_PARTS = frozenset({"body", "query", "path", "header", "cookie"})
_MAX_PROBLEMS_IN_MESSAGE = 3

_log = get_logger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every 4xx answer of ``app`` the standard body."""
    app.add_exception_handler(ApiError, _handle_api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _handle_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _handle_http_exception)  # type: ignore[arg-type]


class UnhandledErrorMiddleware:
    """ASGI middleware: log an escaped exception and answer 500 ``internal_error``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            cid = current_correlation_id() or "unknown"
            _log.exception(
                "request.failed",
                method=scope.get("method"),
                path=scope.get("path"),
                response_started=response_started,
            )
            if response_started:
                raise
            scope[ERROR_CODE_SCOPE_KEY] = "internal_error"
            response = error_response(
                500,
                "internal_error",
                f"The server failed to handle this request. "
                f"Quote correlation id {cid} when reporting it.",
            )
            await response(scope, receive, send)


async def _handle_api_error(request: Request, exc: ApiError) -> Response:
    request.scope[ERROR_CODE_SCOPE_KEY] = exc.code
    return exc.to_response()


async def _handle_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    code = default_code(status)
    detail: Any = exc.detail
    details: list[dict[str, Any]] = []
    if isinstance(detail, str) and detail and detail != reason_phrase(status):
        message = detail
    else:
        message = _default_message(request, status, exc.headers)
        if isinstance(detail, dict):
            details = [detail]
        elif isinstance(detail, list):
            details = [
                item if isinstance(item, dict) else {"message": str(item)} for item in detail
            ]
    request.scope[ERROR_CODE_SCOPE_KEY] = code
    if status in (204, 304) or status < 200:
        return Response(status_code=status, headers=exc.headers)
    return error_response(status, code, message, details, exc.headers)


async def _handle_validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors: Sequence[Any] = exc.errors()
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        return _malformed_json(request, malformed, exc.body)
    if _is_unparsed_body(exc.body) and any(_part(e) == "body" for e in errors):
        return _unsupported_media_type(request)

    details = [_detail(error) for error in errors]
    request.scope[ERROR_CODE_SCOPE_KEY] = "validation_failed"
    return error_response(422, "validation_failed", _summary(details), details)


def _detail(error: Any) -> dict[str, Any]:
    loc = tuple(error.get("loc", ()))
    part = _part(error)
    path = loc[1:] if part is not None else loc
    message = str(error.get("msg", "invalid value"))
    kind = str(error.get("type", "invalid"))
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    return {
        "field": ".".join(str(segment) for segment in path),
        "in": part,
        "rule": kind,
        "message": message,
    }


def _summary(details: Sequence[dict[str, Any]]) -> str:
    shown = [f"{_label(d)}: {d['message']}" for d in details[:_MAX_PROBLEMS_IN_MESSAGE]]
    more = len(details) - len(shown)
    tail = f"; and {more} more" if more > 0 else ""
    return f"The request is invalid: {'; '.join(shown)}{tail}."


def _label(detail: dict[str, Any]) -> str:
    if detail["field"]:
        return str(detail["field"])
    return f"request {detail['in'] or 'input'}"


def _malformed_json(request: Request, error: Any, document: Any) -> Response:
    loc = tuple(error.get("loc", ()))
    position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
    reason = str((error.get("ctx") or {}).get("error", "invalid JSON"))
    line, column = _line_and_column(document, position)
    request.scope[ERROR_CODE_SCOPE_KEY] = "malformed_json"
    return error_response(
        400,
        "malformed_json",
        f"The request body is not valid JSON: {reason} at line {line} column {column} "
        f"(character {position}).",
        [
            {
                "field": "",
                "in": "body",
                "rule": "json_invalid",
                "message": reason,
                "position": position,
                "line": line,
                "column": column,
            }
        ],
    )


def _unsupported_media_type(request: Request) -> Response:
    received = request.headers.get("content-type")
    message = (
        f"Content-Type {received!r} is not accepted here; send the body as application/json."
        if received
        else "The request has a body but no Content-Type; send it as application/json."
    )
    request.scope[ERROR_CODE_SCOPE_KEY] = "unsupported_media_type"
    return error_response(
        415,
        "unsupported_media_type",
        message,
        [
            {
                "field": "content-type",
                "in": "header",
                "rule": "media_type",
                "message": "expected application/json",
            }
        ],
        {"Accept": "application/json"},
    )


def _default_message(request: Request, status: int, headers: Any) -> str:
    target = request.url.path
    if status == 404:
        return f"There is no resource at {target}."
    if status == 405:
        allowed = (headers or {}).get("Allow") or (headers or {}).get("allow")
        suffix = f"; allowed: {allowed}" if allowed else ""
        return f"Method {request.method} is not allowed on {target}{suffix}."
    return reason_phrase(status) or f"HTTP {status}"


def _part(error: Any) -> str | None:
    loc = tuple(error.get("loc", ()))
    if loc and isinstance(loc[0], str) and loc[0] in _REQUEST_PARTS:
        return loc[0]
    return None


def _is_unparsed_body(body: Any) -> bool:
    # FastAPI hands the raw bytes on when the Content-Type is not JSON; a JSON body
    # arrives decoded and a form body as FormData.
    return isinstance(body, bytes | bytearray) and len(body) > 0


def _line_and_column(document: Any, position: int) -> tuple[int, int]:
    if not isinstance(document, str | bytes):
        return 1, position + 1
    text = document if isinstance(document, str) else document.decode("utf-8", "replace")
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column
