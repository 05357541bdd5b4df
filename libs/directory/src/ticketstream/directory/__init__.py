"""Ticketstream's directory: the one configuration file every service reads.

Help topics, departments, agents, SLA plans, categories, priorities and the auto-close
quiet period, in one YAML file validated by pydantic. Load it with
:func:`directory_from_env` (``TICKETSTREAM_DIRECTORY``, else the packaged development
default) or :func:`load_directory`; both raise :class:`DirectoryError` naming each
problem's key path and rule.
"""

from .directory import Directory, UnknownIdError
from .durations import Duration, format_duration, parse_duration
from .loading import (
    ENV_VAR,
    DirectoryError,
    default_directory_path,
    directory_for_service,
    directory_from_env,
    format_location,
    load_directory,
    parse_directory,
    validate_directory,
)
from .models import (
    Agent,
    AgentStatus,
    BusinessHours,
    Category,
    CategoryId,
    ClockTime,
    Department,
    DepartmentAlerts,
    DepartmentAssignment,
    HelpTopic,
    HelpTopicId,
    Organization,
    SlaPlan,
    SlaPlanId,
    SlaTargets,
    Slug,
    Weekday,
)
from .tokens import TokenSha256, generate_token, hash_token

__all__ = [
    "ENV_VAR",
    "Agent",
    "AgentStatus",
    "BusinessHours",
    "Category",
    "CategoryId",
    "ClockTime",
    "Department",
    "DepartmentAlerts",
    "DepartmentAssignment",
    "Directory",
    "DirectoryError",
    "Duration",
    "HelpTopic",
    "HelpTopicId",
    "Organization",
    "SlaPlan",
    "SlaPlanId",
    "SlaTargets",
    "Slug",
    "TokenSha256",
    "UnknownIdError",
    "Weekday",
    "default_directory_path",
    "directory_for_service",
    "directory_from_env",
    "format_duration",
    "format_location",
    "generate_token",
    "hash_token",
    "load_directory",
    "parse_directory",
    "parse_duration",
    "validate_directory",
]
