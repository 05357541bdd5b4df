"""Reading an "open a ticket" request: JSON, or a form (multipart with attachments).

The portal's form and the JSON API share one model, so a field has the same name and the
same rules everywhere, and a bad value gets the same 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from starlette.datastructures import UploadFile

from ticketstream.events import Priority
from ticketstream.servicekit import ApiError

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _deliverable_address(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


_Trimmed = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class OpenTicketRequest(BaseModel):
    """The "Open a New Ticket" form."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[_Trimmed, StringConstraints(max_length=128)] = Field(
        description="The requester's name", examples=["Dana Whitfield"]
    )
    email: Annotated[str, StringConstraints(max_length=254), AfterValidator(_deliverable_address)]
    subject: Annotated[_Trimmed, StringConstraints(max_length=255)] = Field(
        examples=["Unable to access e-mail"]
    )
    message: Annotated[_Trimmed, StringConstraints(max_length=100_000)]
    help_topic: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = Field(
        examples=["email-support"]
    )
    priority: Annotated[Priority | None, BeforeValidator(_blank_is_none)] = None


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    """How many files a form may carry, how large, and of which media types (patterns)."""

    max_count: int = 10
    max_bytes: int = 10 * 1024 * 1024
    types: tuple[str, ...] = ("*/*",)

    def allows(self, content_type: str) -> bool:
        media_type = content_type.split(";")[0].strip().lower()
        return any(fnmatchcase(media_type, pattern) for pattern in self.types)


@dataclass(frozen=True, slots=True)
class Upload:
    """A file sent with the form."""

    filename: str
    content_type: str
    data: bytes


OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": OpenTicketRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    **OpenTicketRequest.model_json_schema(),
                    "properties": {
                        **OpenTicketRequest.model_json_schema()["properties"],
                        "attachments": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                }
            },
        },
    }
}


async def read_open_request(
    request: Request, limits: AttachmentLimits
) -> tuple[OpenTicketRequest, list[Upload]]:
    """The validated fields and the uploaded files (422, 400, 413 or 415 otherwise)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        raw = await request.body()
        try:
            return OpenTicketRequest.model_validate_json(raw), []
        except ValidationError as error:
            # The raw document only helps locate a JSON syntax error; anything else is a 422.
            syntax = any(e["type"] == "json_invalid" for e in error.errors())
            raise _invalid(error, raw.decode(errors="replace") if syntax else None) from error
    if media_type in FORM_TYPES:
        return await _read_form(request, limits)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {media_type or 'none'!r} is not accepted here; send "
        "application/json, or multipart/form-data with attachments",
        details=[{"field": "content-type", "in": "header", "rule": "media_type"}],
    )


async def _read_form(
    request: Request, limits: AttachmentLimits
) -> tuple[OpenTicketRequest, list[Upload]]:
    form = await request.form(max_files=limits.max_count + 1, max_fields=50)
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    files = [v for _, v in form.multi_items() if isinstance(v, UploadFile) and v.filename]
    try:
        fields_model = OpenTicketRequest.model_validate(fields)
    except ValidationError as error:
        raise _invalid(error, fields) from error
    if len(files) > limits.max_count:
        raise _attachment_error(
            422,
            "too_many",
            f"at most {limits.max_count} attachments (TICKETSTREAM_ATTACHMENT_MAX_COUNT)",
        )
    return fields_model, [await _upload(file, limits) for file in files]


async def _upload(file: UploadFile, limits: AttachmentLimits) -> Upload:
    content_type = file.content_type or "application/octet-stream"
    if not limits.allows(content_type):
        raise _attachment_error(
            415,
            "media_type",
            f"{file.filename}: {content_type} is not accepted; accepted types: "
            f"{', '.join(limits.types)} (TICKETSTREAM_ATTACHMENT_TYPES)",
        )
    data = await file.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise _attachment_error(
            413,
            "too_large",
            f"{file.filename}: larger than {limits.max_bytes} bytes "
            "(TICKETSTREAM_ATTACHMENT_MAX_BYTES)",
        )
    return Upload(
        filename=_safe_filename(file.filename or "attachment"),
        content_type=content_type,
        data=data,
    )


def _invalid(error: ValidationError, body: Any) -> RequestValidationError:
    errors = [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
    return RequestValidationError(errors, body=body)


def _attachment_error(status: int, rule: str, message: str) -> ApiError:
    codes = {413: "content_too_large", 415: "unsupported_media_type", 422: "validation_failed"}
    return ApiError(
        status,
        codes[status],
        f"attachments: {message}",
        details=[{"field": "attachments", "in": "body", "rule": rule, "message": message}],
    )


def _safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    cleaned = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*')
    return cleaned[:255] or "attachment"
