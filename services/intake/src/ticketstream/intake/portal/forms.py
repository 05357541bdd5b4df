"""The portal's forms: what each one accepts, and its errors as messages next to fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from starlette.datastructures import FormData

from ticketstream.servicekit import ApiError

OPEN_FIELDS = ("name", "email", "help_topic", "subject", "message", "attachments")
"""The fields of the "Open a New Ticket" form, in the order they are shown."""

GENERAL = "_form"
"""Where an error that belongs to no field of the form goes (shown above it)."""

FieldErrors = dict[str, str]
"""One message per field name (:data:`GENERAL` for the form as a whole)."""


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000)]
_Optional = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)] | None,
    BeforeValidator(_blank_is_none),
]


class _Form(BaseModel):
    # A browser sends the hidden secret and the button with every form: ignore extras.
    model_config = ConfigDict(extra="ignore")


class ReplyForm(_Form):
    body: _Text


class ReopenForm(_Form):
    reason: _Optional = None


class ConfirmForm(_Form):
    pass


class FeedbackForm(_Form):
    rating: int = Field(ge=1, le=5)
    comment: _Optional = None


FormT = TypeVar("FormT", bound=_Form)


def text_fields(form: FormData) -> dict[str, str]:
    """The text fields of a submitted form (files are never echoed back)."""
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


def parse(model: type[FormT], fields: Mapping[str, str]) -> FormT:
    """The form's values, or :class:`InvalidForm` with a message per field."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise InvalidForm(field_errors(error.errors(include_url=False))) from error


class InvalidForm(Exception):  # noqa: N818 -- reads as what it is: an invalid form
    """A form that cannot be accepted as sent; ``errors`` says why, field by field."""

    def __init__(self, errors: FieldErrors) -> None:
        super().__init__(errors)
        self.errors = errors


def field_errors(errors: Iterable[Mapping[str, Any]], fields: Sequence[str] = ()) -> FieldErrors:
    """pydantic's errors as one friendly message per field.

    A location may start with ``body`` (as :func:`read_open_request` reports them). A field
    outside ``fields`` (when given) goes to :data:`GENERAL`.
    """
    messages: FieldErrors = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if len(loc) > 1 and loc[0] == "body":
            loc = loc[1:]
        field = loc[0] if loc else GENERAL
        if fields and field not in fields:
            field, text = GENERAL, f"{field}: {_friendly(error)}"
        else:
            text = _friendly(error)
        messages.setdefault(field, text)
    return messages


def api_field_errors(error: ApiError, fields: Sequence[str]) -> FieldErrors:
    """An :class:`ApiError` about a field (unknown help topic, attachment limits) next to it."""
    messages: FieldErrors = {}
    for detail in error.details:
        field = str(detail.get("field", ""))
        messages.setdefault(field if field in fields else GENERAL, str(detail.get("message")))
    return messages or {GENERAL: error.message}


def _friendly(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return "Please fill this in."
    if kind == "string_too_long":
        return f"Please keep this to {ctx.get('max_length')} characters or fewer."
    if kind == "string_pattern_mismatch":
        return "Please choose one of the options."
    if kind in ("int_parsing", "greater_than_equal", "less_than_equal"):
        return "Please choose a number from 1 to 5."
    if kind == "extra_forbidden":
        return "This field is not part of the form."
    message = str(error.get("msg", "This value is not valid."))
    return message.removeprefix("Value error, ")
