"""Service configuration from environment variables, and a start-up that explains bad ones.

Naming rule (12-factor): the addresses of shared infrastructure use the conventional
unprefixed names, ``NATS_URL`` and ``DATABASE_URL``, so the same container environment
serves every service and every tool. Everything else a service reads is prefixed with
``TICKETSTREAM_`` (``TICKETSTREAM_PORT``, ``TICKETSTREAM_LOG_LEVEL`` ...), so it never
collides with another program's variables. Names are case-insensitive.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, AliasPath, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TICKETSTREAM_"
CONFIG_ERROR_EXIT_CODE = 2
"""Exit status of a service whose configuration is invalid (as for a usage error)."""

DEFAULT_MAX_BODY_BYTES = 1024 * 1024

_SECRET_HINTS = ("url", "dsn", "password", "secret", "token", "key")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class ServiceSettings(BaseSettings):
    """What every Ticketstream service reads from its environment.

    A service subclasses it, gives ``service_name`` and ``port`` its own defaults and adds
    its own fields; it then loads them with :func:`load_settings`.

    Environment variables:

    - ``NATS_URL`` (no prefix): the NATS server, default ``nats://127.0.0.1:4222``.
    - ``TICKETSTREAM_HOST`` / ``TICKETSTREAM_PORT``: where the HTTP server listens.
    - ``TICKETSTREAM_LOG_LEVEL``: ``DEBUG``, ``INFO`` (default), ``WARNING``, ``ERROR``.
    - ``TICKETSTREAM_LOG_FORMAT``: ``json``, ``console`` or ``auto`` (default: JSON lines
      unless stdout is a terminal).
    - ``TICKETSTREAM_SERVICE_NAME``: the name stamped on every log line.
    - ``TICKETSTREAM_MAX_BODY_BYTES``: the largest request body accepted, default 1 MiB.
    - ``TICKETSTREAM_STREAM_REPLICAS``: replicas of the TICKETS stream, 1 (default) to 5;
      production runs 3.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
    )

    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        validation_alias=AliasChoices("NATS_URL"),
        description="NATS server URL(s), comma-separated.",
    )
    host: str = "127.0.0.1"
    port: int
    log_level: str = "INFO"
    log_format: Literal["json", "console", "auto"] = "auto"
    service_name: str
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=0)
    stream_replicas: int = Field(
        default=1, ge=1, le=5, description="Replicas of the TICKETS stream (3 in production)."
    )

    # Validators rather than Field constraints: they still hold when a service redeclares
    # the field to give it a default (``port: int = 8001``).
    @field_validator("port")
    @classmethod
    def _valid_port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError("must be a TCP port between 1 and 65535 (0 picks a free one)")
        return value

    @field_validator("service_name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return level


class DatabaseServiceSettings(ServiceSettings):
    """Settings of a service that keeps state in PostgreSQL.

    Adds ``DATABASE_URL`` (no prefix, required), e.g.
    ``postgresql://ticketstream@127.0.0.1:5432/ticketstream``.
    """

    database_url: str = Field(
        validation_alias=AliasChoices("DATABASE_URL"),
        min_length=1,
        description="PostgreSQL connection URL.",
    )


def env_var_name(settings_cls: type[BaseSettings], field_name: str) -> str:
    """The environment variable that sets ``field_name`` of ``settings_cls``."""
    field = settings_cls.model_fields.get(field_name)
    if field is not None:
        alias = _first_alias(field)
        if alias is not None:
            return alias.upper()
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    return f"{prefix}{field_name}".upper()


def format_settings_error(settings_cls: type[BaseSettings], error: ValidationError) -> str:
    """A start-up message naming each offending environment variable and the broken rule."""
    service = _service_label(settings_cls)
    problems = error.errors(include_url=False)
    lines = [
        f"{service} cannot start: {len(problems)} configuration "
        f"problem{'s' if len(problems) != 1 else ''} in the environment:"
    ]
    for problem in problems:
        field_name = _field_name_for(settings_cls, problem["loc"])
        var = env_var_name(settings_cls, field_name) if field_name else "(settings)"
        lines.append(f"  {var}: {_describe(problem, field_name)}")
    lines.append(
        "Set these environment variables (export NAME=value, or the container's env) "
        "and start the service again."
    )
    return "\n".join(lines)


def load_settings(settings_cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Read ``settings_cls`` from the environment, or exit with status 2 explaining why not.

    ``overrides`` take precedence over the environment (for tests and embedded runs).
    On invalid or missing values the message from :func:`format_settings_error` goes to
    stderr and the process exits with :data:`CONFIG_ERROR_EXIT_CODE`.
    """
    try:
        return settings_cls(**overrides)
    except ValidationError as error:
        print(format_settings_error(settings_cls, error), file=sys.stderr, flush=True)
        raise SystemExit(CONFIG_ERROR_EXIT_CODE) from None


def _first_alias(field: FieldInfo) -> str | None:
    alias = field.validation_alias
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        for choice in alias.choices:
            if isinstance(choice, str):
                return choice
    if isinstance(alias, AliasPath):
        return None
    return field.alias


def _field_name_for(settings_cls: type[BaseSettings], loc: tuple[int | str, ...]) -> str | None:
    if not loc:
        return None
    head = str(loc[0])
    if head in settings_cls.model_fields:
        return head
    for name, field in settings_cls.model_fields.items():
        alias = _first_alias(field)
        if alias is not None and alias.lower() == head.lower():
            return name
    return head


def _describe(problem: Any, field_name: str | None) -> str:
    kind = str(problem["type"])
    message = str(problem["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        return "required but not set"
    if field_name and not any(hint in field_name.lower() for hint in _SECRET_HINTS):
        return f"{message} [rule: {kind}; got {problem.get('input')!r}]"
    return f"{message} [rule: {kind}]"


def _service_label(settings_cls: type[BaseSettings]) -> str:
    field = settings_cls.model_fields.get("service_name")
    default = None if field is None else field.get_default()
    if isinstance(default, str) and default:
        return default
    return settings_cls.__name__
