"""Structured logging: one JSON object per line off a terminal, readable lines on one.

Every line carries ``timestamp`` (ISO 8601, UTC), ``level``, ``service``, ``logger``,
``event`` and whatever is bound in the current context (``correlation_id``,
``ticket_id`` ...). Records from the standard library (uvicorn, nats-py, asyncpg) go
through the same renderer, so a service writes one format only.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

CORRELATION_ID_KEY = "correlation_id"
_HANDLER_NAME = "ticketstream-servicekit"
# uvicorn may have been given handlers of its own; make its records reach ours instead.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure_logging(
    service: str, level: str = "INFO", fmt: str = "auto", *, stream: TextIO | None = None
) -> None:
    """Route structlog and standard-library logging to ``stream`` (default stdout).

    ``fmt`` is ``"json"``, ``"console"`` or ``"auto"`` (JSON unless the stream is a
    terminal). Calling it again replaces the previous configuration.
    """
    out = sys.stdout if stream is None else stream
    numeric_level = logging.getLevelNamesMapping().get(level.strip().upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}")
    use_json = _wants_json(fmt, out)

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _add_service(service),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]
    renderer: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if use_json
        else [structlog.dev.ConsoleRenderer(colors=_isatty(out))]
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    for name in _SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True
        server_logger.setLevel(logging.NOTSET)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: configure_logging may run again (tests, embedded runs) and loggers
        # created at import time must follow the new configuration.
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; ``name`` becomes the ``logger`` field (use ``__name__``)."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


def bind_correlation_id(correlation_id: str) -> None:
    """Stamp ``correlation_id`` on every line logged from the current context on."""
    structlog.contextvars.bind_contextvars(**{CORRELATION_ID_KEY: correlation_id})


def current_correlation_id() -> str | None:
    """The correlation id bound in the current context, if any."""
    value = structlog.contextvars.get_contextvars().get(CORRELATION_ID_KEY)
    return value if isinstance(value, str) else None


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Bind ``values`` (``ticket_id=...``) to every line logged inside the block."""
    with structlog.contextvars.bound_contextvars(**values):
        yield


def _add_service(service: str) -> Processor:
    def add_service(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def _wants_json(fmt: str, stream: TextIO) -> bool:
    if fmt == "json":
        return True
    if fmt == "console":
        return False
    if fmt == "auto":
        return not _isatty(stream)
    raise ValueError(f"unknown log format {fmt!r}; expected json, console or auto")


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty()) if callable(isatty) else False
