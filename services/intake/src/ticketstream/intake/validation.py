"""Checks of request values against the directory, answered in the standard 422 format."""

from __future__ import annotations

from collections.abc import Iterable

from ticketstream.servicekit import ApiError


def known(field: str, value: str, valid: Iterable[str]) -> None:
    """422 naming ``field`` and listing the valid values when ``value`` is not one of them."""
    choices = sorted(valid)
    if value not in choices:
        message = f"unknown {field} {value!r}; valid: {', '.join(choices)}"
        raise ApiError(
            422,
            "validation_failed",
            f"{field}: {message}",
            details=[
                {"field": field, "in": "body", "rule": f"unknown_{field}", "message": message}
            ],
        )
