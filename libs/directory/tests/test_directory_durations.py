"""Durations: "30m", "4h", "2d", "1h30m" and ISO 8601, always longer than zero."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from ticketstream.directory import Duration, format_duration, parse_duration

pytestmark = pytest.mark.unit


class Holder(BaseModel):
    every: Duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 1h 30m ", timedelta(hours=1, minutes=30)),
        ("72h", timedelta(hours=72)),
        ("PT4H", timedelta(hours=4)),
        ("P3D", timedelta(days=3)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("P2W", timedelta(weeks=2)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert Holder(every=text).every == expected


@pytest.mark.parametrize(
    "text",
    ["", "4", "4 hours", "h", "4H", "30m1h", "1.5h", "-4h", "P", "PT", "P1M", "P1Y", "4h!", "PT4h"],
)
def test_malformed_durations_are_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected a duration such as '30m', '4h'"):
        parse_duration(text)
    with pytest.raises(ValidationError) as rejected:
        Holder(every=text)
    assert rejected.value.errors()[0]["type"] == "duration_format"


@pytest.mark.parametrize("text", ["0m", "0h0m", "PT0S", "P0D"])
def test_zero_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as rejected:
        Holder(every=text)
    error = rejected.value.errors()[0]
    assert error["type"] == "duration_not_positive"
    assert "longer than zero" in error["msg"]


@pytest.mark.parametrize("value", [72, 1.5, True, None, ["4h"]])
def test_a_number_without_a_unit_is_refused(value: object) -> None:
    with pytest.raises(ValidationError) as rejected:
        Holder(every=value)
    error = rejected.value.errors()[0]
    assert error["type"] == "duration_type"
    assert "with a unit" in error["msg"]


def test_a_timedelta_is_accepted_when_positive() -> None:
    assert Holder(every=timedelta(hours=2)).every == timedelta(hours=2)
    with pytest.raises(ValidationError, match="longer than zero"):
        Holder(every=timedelta(0))


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(hours=4), "4h"),
        (timedelta(hours=72), "3d"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=1, seconds=5), "1d5s"),
        (timedelta(milliseconds=1500), "P0DT0H0M1.5S"),
    ],
)
def test_durations_are_written_back_in_the_form_they_are_read(
    duration: timedelta, text: str
) -> None:
    assert format_duration(duration) == text
    assert parse_duration(text) == duration
    assert Holder(every=duration).model_dump(mode="json") == {"every": text}
