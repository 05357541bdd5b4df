"""The one error format of every Ticketstream HTTP API.

Every error body is ``{"error": {"code": ..., "message": ..., "details": [...]}}``:
``code`` is a stable snake_case identifier for programs, ``message`` a sentence for
people, ``details`` a list of objects (for invalid input: ``field``, ``in``, ``rule``,
``message``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

STATUS_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    412: "precondition_failed",
    413: "content_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}
"""The default ``code`` for a status when nothing more specific is known."""


class ErrorInfo(BaseModel):
    """The ``error`` member of an error body."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(examples=["validation_failed"])
    message: str = Field(examples=["requester.email: value is not a valid email address"])
    details: list[dict[str, Any]] = Field(
        default_factory=list,
        examples=[
            [
                {
                    "field": "requester.email",
                    "in": "body",
                    "rule": "value_error",
                    "message": "value is not a valid email address",
                }
            ]
        ],
    )


class ErrorResponse(BaseModel):
    """An error body, as documented in OpenAPI: ``{"error": {...}}``."""

    model_config = ConfigDict(frozen=True)

    error: ErrorInfo


class ApiError(HTTPException):
    """Raise from a route to answer with ``status`` and the standard error body.

    ``code`` is the stable identifier clients branch on (``ticket_not_found``,
    ``version_conflict`` ...); ``message`` says what went wrong and, where possible, how
    to fix it; ``details`` lists the specifics (one object per offending field or rule).
    It subclasses Starlette's ``HTTPException`` so it survives every layer that lets
    those through.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.status = status
        self.code = code
        self.message = message
        self.details: list[dict[str, Any]] = [dict(item) for item in details or ()]

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.message!r})"

    def to_response(self) -> JSONResponse:
        """The JSON response for this error."""
        return error_response(self.status, self.code, self.message, self.details, self.headers)


def error_body(
    code: str, message: str, details: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The standard error body as a plain dict."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": [dict(item) for item in details or ()],
        }
    }


def error_response(
    status: int,
    code: str,
    message: str,
    details: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A ``JSONResponse`` carrying the standard error body."""
    return JSONResponse(
        error_body(code, message, details), status_code=status, headers=dict(headers or {})
    )


def default_code(status: int) -> str:
    """The generic ``code`` for an HTTP status (``http_<status>`` when none is defined)."""
    return STATUS_CODES.get(status, f"http_{status}")


def reason_phrase(status: int) -> str:
    """The standard reason phrase of ``status`` (``"Not Found"``), or ``""``."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
