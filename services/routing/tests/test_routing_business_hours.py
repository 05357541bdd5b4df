"""Business-time arithmetic: add_business_time, business_time_between, due_times."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ticketstream.directory import BusinessHours, SlaPlan, SlaTargets
from ticketstream.routing.sla import add_business_time, business_time_between, due_times

pytestmark = pytest.mark.unit

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = BusinessHours(timezone="Europe/Berlin")  # mon-fri 09:00-17:00
NY_OFFICE = BusinessHours(timezone="America/New_York")
H = timedelta(hours=1)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def berlin(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=BERLIN)


def test_calendar_assumptions() -> None:
    # 2024-03-04 is a Monday; Berlin changes to summer time on Sunday 2024-03-31 and back on
    # Sunday 2024-10-27; New York on Sundays 2024-03-10 and 2024-11-03.
    assert berlin(4, 9).strftime("%a") == "Mon"
    assert berlin(31, 12).strftime("%a") == berlin(27, 12, month=10).strftime("%a") == "Sun"
    assert berlin(30, 12).utcoffset() == H
    assert berlin(31, 12).utcoffset() == 2 * H


# ------------------------------------------------------------------ without business hours


def test_without_business_hours_time_is_elapsed_time_across_dst() -> None:
    # 24 hours elapsed across the spring-forward night is 13:00 by the new wall clock
    # (plain `datetime + timedelta` in a ZoneInfo zone would say 12:00: wall-clock maths).
    assert add_business_time(berlin(30, 12), 24 * H, None) == berlin(31, 13)
    assert business_time_between(berlin(30, 12), berlin(31, 12), None) == 23 * H


def test_without_business_hours_zero_and_negative() -> None:
    assert add_business_time(berlin(30, 12), timedelta(0), None) == berlin(30, 12)
    assert business_time_between(berlin(31, 12), berlin(30, 12), None) == -23 * H
    with pytest.raises(ValueError, match="negative"):
        add_business_time(berlin(30, 12), -H, None)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(datetime(2024, 3, 4, 9), H, OFFICE)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(berlin(4, 9), datetime(2024, 3, 4, 10), OFFICE)


# ---------------------------------------------------------------------- within the windows


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        pytest.param(berlin(4, 10), 2 * H, berlin(4, 12), id="inside a window"),
        pytest.param(berlin(4, 9), 8 * H, berlin(4, 17), id="a whole day from the opening"),
        pytest.param(berlin(4, 16), H, berlin(4, 17), id="ends exactly at closing"),
        pytest.param(berlin(4, 16), 2 * H, berlin(5, 10), id="carries over to the next day"),
        pytest.param(berlin(4, 17), timedelta(minutes=1), berlin(5, 9, 1), id="start at close"),
        pytest.param(berlin(4, 7), H, berlin(4, 10), id="before hours: from the opening"),
        pytest.param(berlin(4, 20), H, berlin(5, 10), id="after hours: from next opening"),
        pytest.param(berlin(8, 16), 2 * H, berlin(11, 10), id="friday over the weekend"),
        pytest.param(berlin(9, 12), H, berlin(11, 10), id="saturday: from monday"),
        pytest.param(berlin(10, 23, 59), H, berlin(11, 10), id="sunday night"),
        pytest.param(berlin(4, 9), 40 * H, berlin(8, 17), id="a whole working week"),
        pytest.param(berlin(4, 9), 41 * H, berlin(11, 10), id="a week and an hour"),
        pytest.param(berlin(4, 12), 3 * 40 * H, berlin(25, 12), id="three weeks"),
    ],
)
def test_add_business_time_in_office_hours(
    start: datetime, duration: timedelta, expected: datetime
) -> None:
    assert add_business_time(start, duration, OFFICE) == expected
    assert business_time_between(start, expected, OFFICE) == duration


def test_zero_duration_outside_hours_is_the_start_itself() -> None:
    assert add_business_time(berlin(9, 12), timedelta(0), OFFICE) == berlin(9, 12)


def test_result_keeps_the_zone_of_the_start() -> None:
    start = datetime(2024, 3, 4, 8, 30, tzinfo=UTC)  # 09:30 in Berlin
    result = add_business_time(start, H, OFFICE)
    assert result.tzinfo is UTC
    assert result == datetime(2024, 3, 4, 9, 30, tzinfo=UTC)


def test_hours_are_read_in_the_plans_zone_not_the_inputs() -> None:
    # 09:00 in New York is 15:00 in Berlin: two hours of Berlin's day are left.
    start = datetime(2024, 3, 4, 9, 0, tzinfo=NEW_YORK)
    assert add_business_time(start, 3 * H, OFFICE) == berlin(5, 10)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param(berlin(8, 12), berlin(11, 12), 8 * H, id="friday noon to monday noon"),
        pytest.param(berlin(4, 17, 30), berlin(5, 8), timedelta(0), id="overnight"),
        pytest.param(berlin(9, 0), berlin(11, 0), timedelta(0), id="weekend"),
        pytest.param(berlin(4, 12), berlin(4, 12), timedelta(0), id="same moment"),
        pytest.param(berlin(4, 8), berlin(4, 18), 8 * H, id="around a whole day"),
        pytest.param(berlin(11, 12), berlin(8, 12), -8 * H, id="backwards is negative"),
    ],
)
def test_business_time_between(a: datetime, b: datetime, expected: timedelta) -> None:
    assert business_time_between(a, b, OFFICE) == expected


def test_a_tiny_window_still_counts_exactly() -> None:
    minute = BusinessHours(timezone="Europe/Berlin", days=("wed",), start="12:00", end="12:01")
    start = berlin(4, 9)
    end = add_business_time(start, timedelta(minutes=3), minute)
    assert end == berlin(20, 12, 1)
    assert business_time_between(start, end, minute) == timedelta(minutes=3)


def test_custom_days_and_hours() -> None:
    weekend_desk = BusinessHours(
        timezone="UTC", days=("sat", "sun"), start=time(10, 0), end=time(14, 0)
    )
    monday = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)
    assert add_business_time(monday, 5 * H, weekend_desk) == datetime(2024, 3, 10, 11, tzinfo=UTC)


# ---------------------------------------------------------------------------- DST changes


def test_berlin_office_day_after_spring_forward() -> None:
    # Friday 16:00 CET + 2h: one hour on Friday, one from 09:00 CEST on Monday (07:00 UTC).
    result = add_business_time(berlin(29, 16), 2 * H, OFFICE)
    assert result == berlin(1, 10, month=4)
    assert result == datetime(2024, 4, 1, 8, 0, tzinfo=UTC)


def test_berlin_office_day_after_fall_back() -> None:
    result = add_business_time(berlin(25, 16, month=10), 2 * H, OFFICE)
    assert result == berlin(28, 10, month=10)
    assert result == datetime(2024, 10, 28, 9, 0, tzinfo=UTC)


def test_berlin_window_across_spring_forward_is_an_hour_shorter() -> None:
    # Sunday 01:00-05:00 by the wall clock; 02:00-03:00 does not exist on 2024-03-31.
    night = BusinessHours(timezone="Europe/Berlin", days=("sun",), start="01:00", end="05:00")
    assert business_time_between(berlin(31, 0), berlin(31, 6), night) == 3 * H
    assert add_business_time(berlin(31, 1), 2 * H, night) == berlin(31, 4)
    # The fourth hour is not there: it runs on the next Sunday.
    assert add_business_time(berlin(31, 1), 4 * H, night) == berlin(7, 2, month=4)


def test_berlin_window_across_fall_back_is_an_hour_longer() -> None:
    night = BusinessHours(timezone="Europe/Berlin", days=("sun",), start="01:00", end="05:00")
    sunday = datetime(2024, 10, 27, 0, 0, tzinfo=BERLIN)
    assert business_time_between(sunday, sunday + timedelta(hours=6), night) == 5 * H
    # 01:00 CEST (23:00 UTC) + 4h elapsed is 04:00 CET (03:00 UTC), still inside the window.
    result = add_business_time(datetime(2024, 10, 27, 1, 0, tzinfo=BERLIN), 4 * H, night)
    assert result == datetime(2024, 10, 27, 3, 0, tzinfo=UTC)


def test_new_york_office_day_after_spring_forward() -> None:
    start = datetime(2024, 3, 8, 16, 0, tzinfo=NEW_YORK)  # Friday, EST
    result = add_business_time(start, 2 * H, NY_OFFICE)
    assert result == datetime(2024, 3, 11, 10, 0, tzinfo=NEW_YORK)
    assert result == datetime(2024, 3, 11, 14, 0, tzinfo=UTC)  # EDT: UTC-4


def test_new_york_windows_across_both_changes() -> None:
    night = BusinessHours(timezone="America/New_York", days=("sun",), start="00:00", end="04:00")
    spring = datetime(2024, 3, 10, 0, 0, tzinfo=NEW_YORK)
    fall = datetime(2024, 11, 3, 0, 0, tzinfo=NEW_YORK)
    assert business_time_between(spring, spring + timedelta(hours=5), night) == 3 * H
    assert business_time_between(fall, fall + timedelta(hours=5), night) == 5 * H
    # A week of office days spanning the spring change is still 40 business hours.
    week_start = datetime(2024, 3, 4, 0, 0, tzinfo=NEW_YORK)
    assert business_time_between(week_start, week_start + timedelta(days=14), NY_OFFICE) == 80 * H


# ------------------------------------------------------------------------------ due times


def test_due_times_per_priority_with_and_without_business_hours() -> None:
    targets = {
        "low": SlaTargets(first_response=timedelta(hours=24), resolution=timedelta(days=5)),
        "urgent": SlaTargets(first_response=H, resolution=8 * H),
    }
    around = SlaPlan(id="around", name="Around the clock", targets=targets)
    office = SlaPlan(id="office", name="Office", targets=targets, business_hours=OFFICE)
    opened = berlin(8, 16)  # Friday 16:00
    assert due_times(around, "urgent", opened) == (berlin(8, 17), berlin(9, 0))
    assert due_times(office, "urgent", opened) == (berlin(8, 17), berlin(11, 16))
    # Targets count business hours: "5d" is 120 office hours, fifteen working days.
    assert due_times(office, "low", opened) == (berlin(13, 16), berlin(29, 16))


# ---------------------------------------------------------------------------- properties

ZONES = [UTC, BERLIN, NEW_YORK, ZoneInfo("Asia/Kolkata"), ZoneInfo("Australia/Sydney")]
ZONE_NAMES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@st.composite
def business_hours(draw: st.DrawFn, early: bool = False) -> BusinessHours:
    # At least half an hour a day: the arithmetic steps day by day, so a one-minute window
    # would take tens of thousands of weeks to fit days of business time.
    start = draw(st.integers(0, 4 * 60 if early else 23 * 60))
    end = draw(st.integers(start + 30, 24 * 60 - 1))
    return BusinessHours(
        timezone=draw(st.sampled_from(ZONE_NAMES)),
        days=tuple(draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))),
        start=time(start // 60, start % 60),
        end=time(end // 60, end % 60),
    )


moments = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)
# Around the 2024 DST changes of Europe and North America (and Sydney's in April/October).
dst_moments = st.one_of(
    st.datetimes(
        min_value=datetime(2024, 3, 8),
        max_value=datetime(2024, 4, 8),
        timezones=st.sampled_from(ZONES),
        allow_imaginary=False,
    ),
    st.datetimes(
        min_value=datetime(2024, 10, 1),
        max_value=datetime(2024, 11, 5),
        timezones=st.sampled_from(ZONES),
        allow_imaginary=False,
    ),
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10))
maybe_hours = st.one_of(st.none(), business_hours())


@SETTINGS
@given(start=moments, duration=durations, hours=maybe_hours)
def test_round_trip(start: datetime, duration: timedelta, hours: BusinessHours | None) -> None:
    end = add_business_time(start, duration, hours)
    assert end >= start
    assert business_time_between(start, end, hours) == duration


@SETTINGS
@given(start=dst_moments, duration=durations, hours=business_hours(early=True))
def test_round_trip_around_dst_changes(
    start: datetime, duration: timedelta, hours: BusinessHours
) -> None:
    assert business_time_between(start, add_business_time(start, duration, hours), hours) == (
        duration
    )


@SETTINGS
@given(start=moments, first=durations, then=durations, hours=maybe_hours)
@example(  # found by hypothesis: across Berlin's fall-back hour
    start=datetime(2021, 10, 31, 1, 59, tzinfo=BERLIN),
    first=timedelta(seconds=61),
    then=timedelta(seconds=3599),
    hours=None,
)
def test_adding_in_two_steps_is_adding_the_sum(
    start: datetime, first: timedelta, then: timedelta, hours: BusinessHours | None
) -> None:
    # What the SLA clock relies on when it pushes a due time back by a pause.
    middle = add_business_time(start, first, hours)
    # In UTC: Python compares two datetimes of the same zone by wall time, and around a DST
    # fall-back the later moment can show the earlier wall time (fold=1).
    assert middle.astimezone(UTC) <= add_business_time(start, first + then, hours).astimezone(UTC)
    if then > timedelta(0):
        assert add_business_time(middle, then, hours) == add_business_time(
            start, first + then, hours
        )


@SETTINGS
@given(a=moments, b=moments, c=moments, hours=maybe_hours)
def test_between_is_additive_and_antisymmetric(
    a: datetime, b: datetime, c: datetime, hours: BusinessHours | None
) -> None:
    assert business_time_between(a, b, hours) == -business_time_between(b, a, hours)
    assert business_time_between(a, c, hours) == (
        business_time_between(a, b, hours) + business_time_between(b, c, hours)
    )
