"""Durations as people write them in the directory: ``30m``, ``4h``, ``2d``, ``1h30m``.

ISO 8601 (``PT4H``, ``P3D``, ``P1DT12H``) is accepted too, because that is how pydantic
writes a ``timedelta`` to JSON, so a dumped directory loads again. Years and months are
refused: they have no fixed length.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, TypeAlias

from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

__all__ = ["Duration", "format_duration", "parse_duration"]

_SHORT = re.compile(
    r"(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?"
)
_ISO = re.compile(
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
_UNITS = (("w", 7 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
_EXAMPLES = "'30m', '4h', '2d', '1h30m' or ISO 8601 'PT4H'"


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``, ``4h``, ``2d``, ``1w``, ``1h30m``, ``90s`` or ISO 8601 ``PT4H``.

    Units, largest first: ``w`` weeks, ``d`` days, ``h`` hours, ``m`` minutes, ``s``
    seconds; spaces between parts are allowed (``1h 30m``). The result must be longer than
    zero. Raises ``ValueError`` naming the accepted forms.
    """
    value = text.strip()
    match = _ISO.fullmatch(value) if value.startswith("P") else None
    if match is None and not value.startswith("P"):
        match = _SHORT.fullmatch("".join(value.split()))
    if match is None or not any(match.groupdict().values()):
        hint = " (years and months have no fixed length)" if value.startswith("P") else ""
        raise ValueError(f"expected a duration such as {_EXAMPLES}, got {text!r}{hint}")
    seconds = sum(float(match[unit] or 0) * size for unit, size in _UNITS)
    duration = timedelta(seconds=seconds)
    if duration <= timedelta(0):
        raise ValueError(f"a duration must be longer than zero, got {text!r}")
    return duration


def format_duration(duration: timedelta) -> str:
    """Write a duration the way :func:`parse_duration` reads it: ``3d``, ``1h30m``, ``45s``."""
    if duration <= timedelta(0):
        raise ValueError(f"a duration must be longer than zero, got {duration}")
    rest = duration.total_seconds()
    parts = []
    for unit, size in _UNITS[1:]:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{int(count)}{unit}")
    if rest:  # sub-second precision: only ISO 8601 can say it
        return _iso(duration)
    return "".join(parts)


def _iso(duration: timedelta) -> str:
    hours, rest = divmod(duration.seconds, 3_600)
    minutes, seconds = divmod(rest, 60)
    fraction = f"{seconds + duration.microseconds / 1e6:g}"
    return f"P{duration.days}DT{hours}H{minutes}M{fraction}S"


def _validate(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise PydanticCustomError(
                "duration_not_positive",
                "a duration must be longer than zero, got {got}",
                {"got": str(value)},
            )
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "duration_type",
            "expected a duration with a unit such as {examples}, got {got}",
            {"examples": _EXAMPLES, "got": repr(value)},
        )
    try:
        return parse_duration(value)
    except ValueError as invalid:
        rule = "duration_not_positive" if "longer than zero" in str(invalid) else "duration_format"
        raise PydanticCustomError(rule, "{reason}", {"reason": str(invalid)}) from None


Duration: TypeAlias = Annotated[
    timedelta,
    BeforeValidator(_validate),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A positive ``timedelta`` read from ``"4h"``-style or ISO 8601 text; written as ``"4h"``."""
