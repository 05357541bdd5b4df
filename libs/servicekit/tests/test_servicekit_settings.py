"""Settings from the environment, and a start-up error that says what to set."""

from __future__ import annotations

import os

import pytest
from pydantic import Field

from ticketstream.servicekit import DatabaseServiceSettings, ServiceSettings, load_settings

pytestmark = pytest.mark.unit


class IntakeSettings(ServiceSettings):
    service_name: str = "intake"
    port: int = 8001


class ProjectionsSettings(DatabaseServiceSettings):
    service_name: str = "projections"
    port: int = 8002


class TokenSettings(IntakeSettings):
    agent_token_seed: int = Field(default=1)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TICKETSTREAM_") or name.upper() in {"NATS_URL", "DATABASE_URL"}:
            monkeypatch.delenv(name)


def test_defaults() -> None:
    settings = load_settings(IntakeSettings)

    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert (settings.host, settings.port) == ("127.0.0.1", 8001)
    assert (settings.log_level, settings.log_format) == ("INFO", "auto")
    assert settings.max_body_bytes == 1024 * 1024


def test_infrastructure_urls_are_unprefixed_the_rest_prefixed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NATS_URL", "nats://nats.internal:4222")
    monkeypatch.setenv("DATABASE_URL", "postgresql://ts@db/ticketstream")
    monkeypatch.setenv("TICKETSTREAM_PORT", "9002")
    monkeypatch.setenv("TICKETSTREAM_LOG_LEVEL", "debug")
    monkeypatch.setenv("TICKETSTREAM_LOG_FORMAT", "console")

    settings = load_settings(ProjectionsSettings)

    assert settings.nats_url == "nats://nats.internal:4222"
    assert settings.database_url == "postgresql://ts@db/ticketstream"
    assert settings.port == 9002
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "console"


def test_overrides_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETSTREAM_PORT", "9001")

    assert load_settings(IntakeSettings, port=0 + 7001, nats_url="nats://x:1").port == 7001


def test_missing_variable_is_named_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        load_settings(ProjectionsSettings)

    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("projections cannot start")
    assert "DATABASE_URL: required but not set" in err


def test_required_base_fields_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_settings(ServiceSettings)

    err = capsys.readouterr().err
    assert "TICKETSTREAM_PORT: required but not set" in err
    assert "TICKETSTREAM_SERVICE_NAME: required but not set" in err


def test_invalid_values_name_the_variable_and_the_rule(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TICKETSTREAM_PORT", "eighty")
    monkeypatch.setenv("TICKETSTREAM_LOG_LEVEL", "loud")
    monkeypatch.setenv("TICKETSTREAM_LOG_FORMAT", "xml")

    with pytest.raises(SystemExit):
        load_settings(IntakeSettings)

    err = capsys.readouterr().err
    assert "3 configuration problems" in err
    assert "TICKETSTREAM_PORT: " in err
    assert "int_parsing" in err
    assert "'eighty'" in err
    assert "TICKETSTREAM_LOG_LEVEL: must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG" in err
    assert "TICKETSTREAM_LOG_FORMAT: " in err
    assert "literal_error" in err


def test_port_out_of_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TICKETSTREAM_PORT", "70000")

    with pytest.raises(SystemExit):
        load_settings(IntakeSettings)

    assert "TICKETSTREAM_PORT: must be a TCP port between 1 and 65535" in capsys.readouterr().err


def test_values_of_secret_looking_variables_are_not_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TICKETSTREAM_AGENT_TOKEN_SEED", "hunter2")

    with pytest.raises(SystemExit):
        load_settings(TokenSettings)

    err = capsys.readouterr().err
    assert "TICKETSTREAM_AGENT_TOKEN_SEED" in err
    assert "hunter2" not in err
