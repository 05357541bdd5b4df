"""Log lines: JSON off a terminal, with service, level, time and the correlation id."""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from ticketstream.servicekit import configure_logging, get_logger, log_context

pytestmark = pytest.mark.unit

TICKETS = "/api/v1/departments/support/tickets"
VALID = {"requester": {"name": "Ada", "email": "ada@example.org"}, "subject": "Help"}


async def test_handler_and_request_lines_carry_service_and_correlation_id(
    client: httpx.AsyncClient, json_logs: Any
) -> None:
    await client.post(TICKETS, json=VALID, headers={"X-Correlation-Id": "cid-logged"})

    [opened] = json_logs.events("ticket.opened")
    assert opened["service"] == "svc-test"
    assert opened["correlation_id"] == "cid-logged"
    assert opened["department"] == "support"
    assert opened["level"] == "info"
    assert opened["logger"] == "tests.service"
    assert datetime.fromisoformat(opened["timestamp"]).utcoffset() == timedelta(0)

    [completed] = json_logs.events("request.completed")
    assert completed["correlation_id"] == "cid-logged"
    assert completed["service"] == "svc-test"
    assert completed["route"] == "/api/v1/departments/{department}/tickets"
    assert completed["status"] == 201
    assert completed["method"] == "POST"
    assert completed["duration_ms"] >= 0


async def test_rejections_are_logged_with_their_error_code(
    client: httpx.AsyncClient, json_logs: Any
) -> None:
    await client.post(TICKETS, json={"subject": "no requester"})

    [completed] = json_logs.events("request.completed")
    assert completed["status"] == 422
    assert completed["error_code"] == "validation_failed"


async def test_unhandled_exception_is_logged_with_traceback_and_correlation_id(
    client: httpx.AsyncClient, json_logs: Any
) -> None:
    await client.get("/boom", headers={"X-Correlation-Id": "cid-boom"})

    [failed] = json_logs.events("request.failed")
    assert failed["level"] == "error"
    assert failed["correlation_id"] == "cid-boom"
    assert "RuntimeError: password=hunter2" in failed["exception"]
    assert "Traceback" in failed["exception"]


async def test_probe_requests_log_at_debug(client: httpx.AsyncClient, json_logs: Any) -> None:
    await client.get("/healthz")

    [completed] = json_logs.events("request.completed")
    assert completed["level"] == "debug"


def test_standard_library_records_use_the_same_format(json_logs: Any) -> None:
    with log_context(correlation_id="cid-std", ticket_id="T-7"):
        logging.getLogger("uvicorn.error").warning("Started server process [%d]", 42)

    [line] = json_logs.events("Started server process [42]")
    assert line["service"] == "svc-test"
    assert line["level"] == "warning"
    assert line["logger"] == "uvicorn.error"
    assert line["correlation_id"] == "cid-std"
    assert line["ticket_id"] == "T-7"
    assert "timestamp" in line


def test_context_ends_with_its_block(json_logs: Any) -> None:
    log = get_logger("tests")
    with log_context(ticket_id="T-1"):
        log.info("inside")
    log.info("outside")

    assert json_logs.events("inside")[0]["ticket_id"] == "T-1"
    assert "ticket_id" not in json_logs.events("outside")[0]


def test_level_filters_lines(json_logs: Any) -> None:
    configure_logging("svc-test", "WARNING", "json", stream=json_logs.stream)
    log = get_logger("tests")

    log.info("quiet")
    log.warning("loud")

    assert [line["event"] for line in json_logs.all()] == ["loud"]


def test_console_format_is_not_json(json_logs: Any) -> None:
    console = io.StringIO()
    configure_logging("svc-test", "INFO", "console", stream=console)

    get_logger("tests").info("hello", ticket_id="T-1")

    text = console.getvalue()
    assert "hello" in text
    assert "ticket_id=T-1" in text
    assert not text.lstrip().startswith("{")


def test_auto_format_is_json_off_a_terminal(json_logs: Any) -> None:
    buffer = io.StringIO()  # not a TTY
    configure_logging("svc-test", "INFO", "auto", stream=buffer)

    get_logger("tests").info("hello")

    assert buffer.getvalue().startswith("{")


def test_reconfiguring_replaces_the_handler(json_logs: Any) -> None:
    configure_logging("svc-test", "INFO", "json", stream=json_logs.stream)
    configure_logging("svc-test", "INFO", "json", stream=json_logs.stream)

    get_logger("tests").info("once")

    assert len(json_logs.events("once")) == 1


def test_unknown_level_or_format_is_refused() -> None:
    with pytest.raises(ValueError, match="log level"):
        configure_logging("svc", "LOUD", "json")
    with pytest.raises(ValueError, match="log format"):
        configure_logging("svc", "INFO", "xml")
