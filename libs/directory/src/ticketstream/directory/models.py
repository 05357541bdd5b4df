"""The shapes of the directory's entries: each one valid on its own.

Rules that look across entries (a help topic's department exists, ids are unique ...) are
in :mod:`ticketstream.directory.references`; :class:`~ticketstream.directory.Directory`
applies both.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from ticketstream.events import AgentId, DepartmentId, EmailAddress, Label, Priority

from .durations import Duration, format_duration
from .tokens import TokenSha256

__all__ = [
    "Agent",
    "AgentStatus",
    "BusinessHours",
    "Category",
    "CategoryId",
    "ClockTime",
    "Department",
    "DepartmentAlerts",
    "DepartmentAssignment",
    "HelpTopic",
    "HelpTopicId",
    "Name",
    "Organization",
    "SlaPlan",
    "SlaPlanId",
    "SlaTargets",
    "Slug",
    "Weekday",
]

Slug: TypeAlias = Annotated[Label, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
"""A lowercase identifier (like agent and department ids); a valid event ``Label``."""
HelpTopicId: TypeAlias = Slug
CategoryId: TypeAlias = Slug
SlaPlanId: TypeAlias = Slug
Name: TypeAlias = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)
]

DepartmentAssignment: TypeAlias = Literal["none", "round_robin", "least_open"]
"""How a department auto-assigns a new ticket: not at all, in turn, or to the least loaded."""
AgentStatus: TypeAlias = Literal["active", "away"]
Weekday: TypeAlias = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _reject(loc: tuple[str | int, ...], rule: str, message: str, value: Any) -> ValidationError:
    """A validation error at ``loc`` (relative to the model being validated)."""
    error = PydanticCustomError(rule, "{message}", {"message": message})
    return ValidationError.from_exception_data(
        "Directory", [InitErrorDetails(type=error, loc=loc, input=value)]
    )


_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _base_url(value: str) -> str:
    _HTTP_URL.validate_python(value)
    return value.rstrip("/")


class Organization(_Entry):
    """Who runs the help desk, and where requesters reach it."""

    name: Name
    support_address: EmailAddress = Field(
        description="The mailbox requesters write to, e.g. support@example.com"
    )
    public_url: Annotated[str, AfterValidator(_base_url)] = Field(
        description="Base URL of the requester portal, without a trailing slash"
    )


class Category(_Entry):
    """A kind of problem (software, hardware ...); a ticket has at most one."""

    id: CategoryId
    name: Name


class SlaTargets(_Entry):
    """How soon an agent must first answer, and how soon the ticket must be resolved."""

    first_response: Duration
    resolution: Duration

    @model_validator(mode="after")
    def _first_response_comes_first(self) -> SlaTargets:
        if self.first_response > self.resolution:
            raise _reject(
                ("first_response",),
                "first_response_after_resolution",
                f"first_response ({format_duration(self.first_response)}) is longer than "
                f"resolution ({format_duration(self.resolution)})",
                format_duration(self.first_response),
            )
        return self


def _clock_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            hours, minutes = value.split(":")
            if len(hours) == len(minutes) == 2:
                return time(int(hours), int(minutes))
        except ValueError:
            pass
    raise PydanticCustomError(
        "clock_time_format",
        "expected a time of day as 'HH:MM' (24-hour), e.g. '09:00', got {got}",
        {"got": repr(value)},
    )


ClockTime: TypeAlias = Annotated[
    time,
    BeforeValidator(_clock_time),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
]
"""A time of day written ``"HH:MM"``."""


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "unknown_time_zone",
            "unknown time zone {got}; use an IANA name such as 'Europe/Paris' or 'UTC'",
            {"got": repr(value)},
        ) from None
    return value


class BusinessHours(_Entry):
    """When SLA clocks run: these days, from ``start`` to ``end``, in ``timezone``."""

    timezone: Annotated[str, AfterValidator(_time_zone)] = Field(description="IANA time zone")
    days: tuple[Weekday, ...] = Field(default=WEEKDAYS[:5], min_length=1)
    start: ClockTime = time(9, 0)
    end: ClockTime = time(17, 0)

    @property
    def zone(self) -> ZoneInfo:
        """The time zone as a ``tzinfo``."""
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _sane(self) -> BusinessHours:
        if self.end <= self.start:
            raise _reject(
                ("end",),
                "end_before_start",
                f"business hours end ({self.end:%H:%M}) must be after they start "
                f"({self.start:%H:%M}); overnight hours are not supported",
                f"{self.end:%H:%M}",
            )
        for position, day in enumerate(self.days):
            if day in self.days[:position]:
                raise _reject(("days", position), "duplicate_day", f"{day!r} is listed twice", day)
        return self


class SlaPlan(_Entry):
    """Response and resolution targets per priority.

    With ``business_hours``, targets count only time within them; without, the clock runs
    around the clock. With ``pause_while_pending`` the clocks stop while the ticket waits
    on the requester.
    """

    id: SlaPlanId
    name: Name
    targets: dict[Priority, SlaTargets]
    business_hours: BusinessHours | None = None
    pause_while_pending: bool = True

    def target(self, priority: Priority) -> SlaTargets:
        """The targets for ``priority`` (every configured priority has them)."""
        return self.targets[priority]


class DepartmentAlerts(_Entry):
    """Which alerts the department's agents get by e-mail (notify reads them)."""

    new_ticket: bool = Field(default=True, description="a ticket arrived in the department")
    assigned: bool = Field(default=True, description="a ticket was assigned to the agent")
    requester_replied: bool = Field(default=True, description="on the agent's ticket")
    sla_breached: bool = Field(default=True, description="on the agent's ticket")


class Department(_Entry):
    """A team that owns tickets. ``members`` are the agents it auto-assigns, in turn order."""

    id: DepartmentId
    name: Name
    assignment: DepartmentAssignment = "none"
    members: tuple[AgentId, ...] = ()
    sla_plan: SlaPlanId
    alerts: DepartmentAlerts = DepartmentAlerts()


class Agent(_Entry):
    """A person who works tickets.

    ``departments``: whose tickets the agent works (queues, alerts). ``status`` ``away``
    only keeps the agent out of auto-assignment: an away agent still acts with their token.
    """

    id: AgentId
    name: Name
    email: EmailAddress
    departments: tuple[DepartmentId, ...] = Field(min_length=1)
    token_sha256: TokenSha256 = Field(
        description="SHA-256 (hex) of the agent's API token; see ticketstream.directory.tokens"
    )
    status: AgentStatus = "active"


class HelpTopic(_Entry):
    """What a requester picks when opening a ticket; decides where the ticket goes."""

    id: HelpTopicId
    name: Name
    department: DepartmentId
    priority: Priority = Field(description="The ticket's priority unless one is asked for")
    sla_plan: SlaPlanId | None = Field(default=None, description="Default: the department's")
    category: CategoryId | None = None
