"""The development SMTP sink: one .eml per message, written atomically, and its CLI."""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from ticketstream.notify.sink import ENVELOPE_TO_HEADER, MailSink, SinkHandler
from ticketstream.notify.smtp import DeliveryFailed, SmtpSender, SmtpSettings

NAME = re.compile(r"^\d{8}T\d{12}Z-\d{6}-[A-Za-z0-9@._+-]+\.eml$")


def make_message(n: int, to: str = "dana@example.com") -> email.message.EmailMessage:
    message = email.message.EmailMessage()
    message["From"] = "support@ticketstream.test"
    message["To"] = to
    message["Subject"] = f"[#T-{n}] Über deine Anfrage"
    message["Message-ID"] = f"<n-{n}@ticketstream.test>"
    message.set_content(f"Message number {n}.\n.leading dot stays\n")
    message.add_alternative(f"<p>Message number {n}.</p>", subtype="html")
    return message


def parse(path: Path) -> email.message.EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def sender_for(port: int, **changes: Any) -> SmtpSender:
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", **changes)
    return SmtpSender(settings)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".eml"))


# ---------------------------------------------------------------- the handler alone


@pytest.mark.unit
def test_write_is_atomic_named_and_keeps_the_bytes(tmp_path: Path) -> None:
    handler = SinkHandler(tmp_path / "mail")
    data = b"Subject: hi\r\nTo: dana@example.com\r\n\r\nbody\r\n"

    first = handler.write(data, "dana@example.com")
    second = handler.write(data, "../../etc/passwd")

    assert NAME.match(first.name), first.name
    assert first.name.endswith("-000001-dana@example.com.eml")
    assert second.parent == tmp_path / "mail"
    assert "/" not in second.name
    assert second.name.endswith("-000002-.._.._etc_passwd.eml")
    assert first.read_bytes() == f"{ENVELOPE_TO_HEADER}: dana@example.com\r\n".encode() + data
    assert leftovers(tmp_path / "mail") == []


@pytest.mark.unit
def test_write_without_envelope_header_is_byte_for_byte(tmp_path: Path) -> None:
    handler = SinkHandler(tmp_path, envelope_header=False)
    data = b"Subject: hi\r\n\r\nbody\r\n"
    assert handler.write(data, "dana@example.com").read_bytes() == data


@pytest.mark.unit
def test_a_failed_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = SinkHandler(tmp_path)

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        handler.write(b"Subject: hi\r\n\r\nbody\r\n", "dana@example.com")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.unit
def test_port_is_only_known_while_running(tmp_path: Path) -> None:
    sink = MailSink(tmp_path)
    with pytest.raises(RuntimeError):
        _ = sink.port
    with sink:
        assert sink.running
        assert sink.port > 0
        with pytest.raises(RuntimeError):
            sink.start()
    assert not sink.running
    sink.stop()  # stopping twice is harmless


# ---------------------------------------------------------------- a running sink


@pytest.mark.integration
async def test_one_parseable_eml_per_message_in_arrival_order(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    with MailSink(folder) as sink:
        sender = sender_for(sink.port)
        for n in range(1, 4):
            await sender.send(make_message(n))
        files = sink.files()

    assert len(files) == 3
    assert all(NAME.match(f.name) for f in files)
    assert leftovers(folder) == []
    for n, path in enumerate(files, start=1):
        raw = path.read_bytes()
        assert raw.startswith(f"{ENVELOPE_TO_HEADER}: dana@example.com\r\n".encode())
        message = parse(path)
        assert message["Message-ID"] == f"<n-{n}@ticketstream.test>"
        assert message["Subject"] == f"[#T-{n}] Über deine Anfrage"
        assert message["To"] == "dana@example.com"
        assert message[ENVELOPE_TO_HEADER] == "dana@example.com"
        plain = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert plain is not None
        assert html is not None
        assert ".leading dot stays" in plain.get_content()
        assert f"<p>Message number {n}.</p>" in html.get_content()


@pytest.mark.integration
async def test_one_file_per_envelope_recipient(tmp_path: Path) -> None:
    with MailSink(tmp_path) as sink:
        await sender_for(sink.port).send(make_message(1, to="a@example.com, b@example.com"))
        files = sink.files()
    assert [parse(f)[ENVELOPE_TO_HEADER] for f in files] == ["a@example.com", "b@example.com"]
    assert parse(files[0])["Message-ID"] == parse(files[1])["Message-ID"]


@pytest.mark.integration
async def test_a_write_failure_answers_451_and_the_retry_lands_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync
    calls: list[int] = []

    def flaky_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", flaky_fsync)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    with MailSink(tmp_path) as sink:
        sender = SmtpSender(
            SmtpSettings(host="127.0.0.1", port=sink.port, security="none"), sleep=sleep
        )
        await sender.send(make_message(7))
        files = sink.files()

    assert pauses == [1.0]
    assert len(files) == 1
    assert parse(files[0])["Message-ID"] == "<n-7@ticketstream.test>"
    assert leftovers(tmp_path) == []


@pytest.mark.integration
async def test_a_fixed_port_is_honoured(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with MailSink(tmp_path, port=port) as sink:
        assert sink.port == port
        await sender_for(port).send(make_message(1))
        files = sink.files()
    assert len(files) == 1


@pytest.mark.integration
async def test_a_stopped_sink_refuses_connections(tmp_path: Path) -> None:
    with MailSink(tmp_path) as sink:
        port = sink.port
    with pytest.raises(DeliveryFailed) as caught:
        await sender_for(port, max_attempts=1).send(make_message(1))
    assert caught.value.permanent is False


# ---------------------------------------------------------------- the CLI


@pytest.mark.integration
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_cli_serves_until_signalled_and_exits_cleanly(
    tmp_path: Path, signum: signal.Signals
) -> None:
    folder = tmp_path / "run" / "mail"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ticketstream.notify.sink",
        "--folder",
        str(folder),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        found = re.fullmatch(r"SMTP sink on 127\.0\.0\.1:(\d+) writing to (.+)\n", line)
        assert found, line
        assert found.group(2) == str(folder)
        await sender_for(int(found.group(1))).send(make_message(1))
        process.send_signal(signum)
        returncode = await asyncio.wait_for(process.wait(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    stderr = (await process.stderr.read()).decode()
    assert returncode == 0, stderr
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 1
    assert parse(files[0])["Message-ID"] == "<n-1@ticketstream.test>"
