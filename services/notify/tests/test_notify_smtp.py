"""SmtpSender against real aiosmtpd servers, plus the unit rules (settings, backoff, fakes)."""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr, ValidationError

from ticketstream.notify.sink import EphemeralPortController
from ticketstream.notify.smtp import (
    DeliveryFailed,
    InMemorySender,
    MailSender,
    SmtpSender,
    SmtpSettings,
)

# ---------------------------------------------------------------- helpers


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    encrypted: bool = False

    def parsed(self) -> email.message.EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        return message


@dataclass
class ScriptedHandler:
    """Records accepted envelopes; answers DATA / RCPT from a script when one is set."""

    data_replies: list[str] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    peers: list[object] = field(default_factory=list)
    """The client address of each accepted message: one per connection."""
    data_attempts: int = 0
    rcpt_attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.rcpt_attempts += 1
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self.lock:
            self.data_attempts += 1
            if self.data_replies:
                return self.data_replies.pop(0)
            content = envelope.content
            assert isinstance(content, bytes)
            transport = server.transport
            encrypted = session.ssl is not None or (
                transport is not None and transport.get_extra_info("sslcontext") is not None
            )
            self.received.append(
                Received(
                    str(envelope.mail_from),
                    [str(r) for r in envelope.rcpt_tos],
                    content,
                    encrypted,
                )
            )
            self.peers.append(session.peer)
        return "250 Message accepted for delivery"


@dataclass
class Server:
    handler: ScriptedHandler
    controller: EphemeralPortController

    @property
    def port(self) -> int:
        port: int = self.controller.port
        return port


@pytest.fixture
def smtp_server() -> Iterator[Server]:
    handler = ScriptedHandler()
    controller = EphemeralPortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield Server(handler, controller)
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for localhost (needs the openssl CLI)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl CLI not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_tls_context(files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*files)
    return context


class RecordingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def settings(port: int, **changes: Any) -> SmtpSettings:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": port, "security": "none"}
    values.update(changes)
    return SmtpSettings(**values)


def make_message(to: str = "dana@example.com", **headers: str) -> email.message.EmailMessage:
    message = email.message.EmailMessage()
    message["From"] = "Ticketstream Support <support@ticketstream.test>"
    message["To"] = to
    message["Subject"] = "[#T-1042] Réponse à votre demande"
    message["Message-ID"] = "<n-0001.dana@ticketstream.test>"
    message["In-Reply-To"] = "<t-1042@ticketstream.test>"
    message["References"] = "<t-1042@ticketstream.test> <n-0000.dana@ticketstream.test>"
    message["Reply-To"] = "reply+T-1042.sig@ticketstream.test"
    message["Auto-Submitted"] = "auto-generated"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("Hello Dana,\n\nWe are on it. — Alex\n")
    message.add_alternative("<p>Hello Dana,</p><p>We are on it. — Alex</p>", subtype="html")
    return message


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# ---------------------------------------------------------------- real servers


@pytest.mark.integration
async def test_message_is_delivered_once_with_headers_intact(smtp_server: Server) -> None:
    sleep = RecordingSleep()
    sender = SmtpSender(settings(smtp_server.port), sleep=sleep)
    original = make_message()

    await sender.send(original)

    assert len(smtp_server.handler.received) == 1
    got = smtp_server.handler.received[0]
    assert got.mail_from == "support@ticketstream.test"
    assert got.rcpt_tos == ["dana@example.com"]
    assert got.encrypted is False
    parsed = got.parsed()
    for name in (
        "From",
        "To",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Reply-To",
        "Auto-Submitted",
    ):
        assert parsed[name] == original[name], name
    assert parsed["Subject"] == "[#T-1042] Réponse à votre demande"
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "We are on it. — Alex" in plain.get_content()
    assert "<p>Hello Dana,</p>" in html.get_content()
    assert "Bcc" not in parsed
    assert sleep.calls == []


@pytest.mark.integration
async def test_messages_in_a_row_share_one_connection(smtp_server: Server) -> None:
    sender = SmtpSender(settings(smtp_server.port))

    for _ in range(3):
        await sender.send(make_message())
    await sender.close()

    assert len(smtp_server.handler.received) == 3
    assert len(set(smtp_server.handler.peers)) == 1


@pytest.mark.integration
async def test_keepalive_zero_connects_for_every_message(smtp_server: Server) -> None:
    sender = SmtpSender(settings(smtp_server.port, keepalive_seconds=0))

    await sender.send(make_message())
    await sender.send(make_message())

    assert len(set(smtp_server.handler.peers)) == 2


@pytest.mark.integration
async def test_a_kept_connection_the_server_closed_is_replaced_without_a_retry() -> None:
    handler = ScriptedHandler()
    first = EphemeralPortController(handler, hostname="127.0.0.1", port=0)
    first.start()
    port = first.port
    sleep = RecordingSleep()
    sender = SmtpSender(settings(port), sleep=sleep)
    await sender.send(make_message())
    first.stop()  # the server goes away and comes back: the kept connection is dead
    second = EphemeralPortController(handler, hostname="127.0.0.1", port=port)
    second.start()
    try:
        await sender.send(make_message())
        await sender.close()
    finally:
        second.stop()

    assert len(handler.received) == 2
    assert len(set(handler.peers)) == 2
    assert sleep.calls == []


@pytest.mark.integration
async def test_envelope_from_overrides_the_header_sender(smtp_server: Server) -> None:
    sender = SmtpSender(settings(smtp_server.port, envelope_from="bounces@ticketstream.test"))
    await sender.send(make_message())
    assert [r.mail_from for r in smtp_server.handler.received] == ["bounces@ticketstream.test"]


@pytest.mark.integration
async def test_451_twice_then_accepted_delivers_exactly_once(smtp_server: Server) -> None:
    smtp_server.handler.data_replies = ["451 try later", "451 try later"]
    sleep = RecordingSleep()
    sender = SmtpSender(settings(smtp_server.port), sleep=sleep)

    await sender.send(make_message())

    assert smtp_server.handler.data_attempts == 3
    assert len(smtp_server.handler.received) == 1
    assert (
        smtp_server.handler.received[0].parsed()["Message-ID"] == "<n-0001.dana@ticketstream.test>"
    )
    assert sleep.calls == [1.0, 2.0]


@pytest.mark.integration
async def test_persistent_451_gives_up_as_transient(smtp_server: Server) -> None:
    smtp_server.handler.data_replies = ["451 try later"] * 10
    sleep = RecordingSleep()
    sender = SmtpSender(settings(smtp_server.port, max_attempts=3), sleep=sleep)

    with pytest.raises(DeliveryFailed) as caught:
        await sender.send(make_message())

    assert caught.value.permanent is False
    assert caught.value.code == 451
    assert caught.value.attempts == 3
    assert "451 try later" in str(caught.value)
    assert smtp_server.handler.data_attempts == 3
    assert smtp_server.handler.received == []
    assert sleep.calls == [1.0, 2.0]


@pytest.mark.integration
async def test_550_for_the_recipient_is_permanent_without_retry(smtp_server: Server) -> None:
    smtp_server.handler.refuse_rcpt = {"gone@example.com": "550 5.1.1 No such user here"}
    sleep = RecordingSleep()
    sender = SmtpSender(settings(smtp_server.port), sleep=sleep)

    with pytest.raises(DeliveryFailed) as caught:
        await sender.send(make_message(to="gone@example.com"))

    failure = caught.value
    assert failure.permanent is True
    assert failure.code == 550
    assert failure.attempts == 1
    assert failure.recipients == ("gone@example.com",)
    assert "550" in str(failure)
    assert "No such user here" in str(failure)
    assert smtp_server.handler.rcpt_attempts == 1
    assert smtp_server.handler.data_attempts == 0
    assert sleep.calls == []


@pytest.mark.integration
async def test_554_for_the_message_is_permanent_without_retry(smtp_server: Server) -> None:
    smtp_server.handler.data_replies = ["554 5.6.0 Message refused: content rejected"]
    sleep = RecordingSleep()
    sender = SmtpSender(settings(smtp_server.port), sleep=sleep)

    with pytest.raises(DeliveryFailed) as caught:
        await sender.send(make_message())

    assert caught.value.permanent is True
    assert caught.value.code == 554
    assert "content rejected" in str(caught.value)
    assert smtp_server.handler.data_attempts == 1
    assert sleep.calls == []


@pytest.mark.integration
async def test_partial_recipient_refusal_is_permanent_and_not_resent(smtp_server: Server) -> None:
    smtp_server.handler.refuse_rcpt = {"gone@example.com": "550 No such user"}
    sleep = RecordingSleep()
    sender = SmtpSender(settings(smtp_server.port), sleep=sleep)

    with pytest.raises(DeliveryFailed) as caught:
        await sender.send(make_message(to="dana@example.com, gone@example.com"))

    assert caught.value.permanent is True
    assert caught.value.recipients == ("gone@example.com",)
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [["dana@example.com"]]
    assert sleep.calls == []


@pytest.mark.integration
async def test_connection_refused_is_retried_then_transient() -> None:
    sleep = RecordingSleep()
    sender = SmtpSender(settings(unused_port(), max_attempts=5), sleep=sleep)

    with pytest.raises(DeliveryFailed) as caught:
        await sender.send(make_message())

    assert caught.value.permanent is False
    assert caught.value.attempts == 5
    assert caught.value.code is None
    assert sleep.calls == [1.0, 2.0, 4.0, 8.0]


@pytest.fixture
async def rude_server() -> AsyncIterator[tuple[int, list[int]]]:
    """Accepts a connection and hangs up at once (a server disconnect)."""
    connections: list[int] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], connections
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.integration
async def test_server_disconnect_is_transient(rude_server: tuple[int, list[int]]) -> None:
    port, connections = rude_server
    sleep = RecordingSleep()
    sender = SmtpSender(settings(port, max_attempts=3, backoff_seconds=0.5), sleep=sleep)

    with pytest.raises(DeliveryFailed) as caught:
        await sender.send(make_message())

    assert caught.value.permanent is False
    assert caught.value.attempts == 3
    assert len(connections) == 3
    assert sleep.calls == [0.5, 1.0]


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word (a timeout)."""
    held: list[asyncio.StreamWriter] = []

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(say_nothing, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


@pytest.mark.integration
async def test_timeout_is_transient(silent_server: int) -> None:
    sleep = RecordingSleep()
    sender = SmtpSender(settings(silent_server, timeout_seconds=0.2, max_attempts=2), sleep=sleep)

    with pytest.raises(DeliveryFailed) as caught:
        await sender.send(make_message())

    assert caught.value.permanent is False
    assert caught.value.attempts == 2
    assert sleep.calls == [1.0]


@pytest.mark.integration
async def test_security_none_sends_in_plain_text_even_if_starttls_is_offered(
    tls_files: tuple[Path, Path],
) -> None:
    handler = ScriptedHandler()
    controller = EphemeralPortController(
        handler, hostname="127.0.0.1", port=0, tls_context=server_tls_context(tls_files)
    )
    controller.start()
    try:
        await SmtpSender(settings(controller.port, security="none")).send(make_message())
    finally:
        controller.stop()
    assert [r.encrypted for r in handler.received] == [False]


@pytest.mark.integration
async def test_starttls_upgrades_the_connection(tls_files: tuple[Path, Path]) -> None:
    handler = ScriptedHandler()
    controller = EphemeralPortController(
        handler,
        hostname="127.0.0.1",
        port=0,
        tls_context=server_tls_context(tls_files),
        require_starttls=True,
    )
    controller.start()
    try:
        sender = SmtpSender(settings(controller.port, security="starttls", validate_certs=False))
        await sender.send(make_message())
        # The same server refuses a plain-text sender: a settings problem, not retried, and
        # not a verdict on the message.
        sleep = RecordingSleep()
        plain = SmtpSender(settings(controller.port, security="none"), sleep=sleep)
        with pytest.raises(DeliveryFailed) as caught:
            await plain.send(make_message())
    finally:
        controller.stop()
    assert [r.encrypted for r in handler.received] == [True]
    assert caught.value.permanent is False
    assert caught.value.code == 530
    assert caught.value.attempts == 1
    assert sleep.calls == []


@pytest.mark.integration
async def test_implicit_tls(tls_files: tuple[Path, Path]) -> None:
    handler = ScriptedHandler()
    controller = EphemeralPortController(
        handler, hostname="127.0.0.1", port=0, ssl_context=server_tls_context(tls_files)
    )
    controller.start()
    try:
        await SmtpSender(settings(controller.port, security="tls", validate_certs=False)).send(
            make_message()
        )
        # An unverifiable certificate is a configuration problem: not retried, not permanent.
        sleep = RecordingSleep()
        strict = SmtpSender(settings(controller.port, security="tls"), sleep=sleep)
        with pytest.raises(DeliveryFailed) as caught:
            await strict.send(make_message())
    finally:
        controller.stop()
    assert [r.encrypted for r in handler.received] == [True]
    assert caught.value.permanent is False
    assert caught.value.attempts == 1
    assert "TLS" in str(caught.value)
    assert sleep.calls == []


@pytest.mark.integration
async def test_starttls_required_but_not_offered_is_a_settings_problem(
    smtp_server: Server,
) -> None:
    sleep = RecordingSleep()
    sender = SmtpSender(settings(smtp_server.port, security="starttls"), sleep=sleep)

    with pytest.raises(DeliveryFailed) as caught:
        await sender.send(make_message())

    assert caught.value.permanent is False
    assert caught.value.attempts == 1
    assert smtp_server.handler.received == []
    assert sleep.calls == []


# ---------------------------------------------------------------- unit rules


@pytest.mark.unit
def test_settings_defaults_and_backoff() -> None:
    s = SmtpSettings(host="mail.example.com")
    assert (s.port, s.security, s.timeout_seconds, s.max_attempts) == (587, "starttls", 30, 5)
    assert [s.backoff(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    with pytest.raises(ValidationError):
        s.port = 25  # type: ignore[misc]


@pytest.mark.unit
def test_settings_keep_the_password_secret_and_credentials_paired() -> None:
    s = SmtpSettings(host="mail.example.com", username="notify", password=SecretStr("hunter2"))
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s.model_dump())
    with pytest.raises(ValidationError):
        SmtpSettings(host="mail.example.com", username="notify")
    with pytest.raises(ValidationError):
        SmtpSettings(host="mail.example.com", security="ssl")
    with pytest.raises(ValidationError):
        SmtpSettings(host="mail.example.com", max_attempts=0)


@pytest.mark.unit
async def test_in_memory_sender_records_and_fails_on_request() -> None:
    sender = InMemorySender()
    assert isinstance(sender, MailSender)
    assert isinstance(SmtpSender(SmtpSettings(host="localhost")), MailSender)
    sender.fail_next(DeliveryFailed("451 try later", permanent=False, code=451))
    message = make_message()

    with pytest.raises(DeliveryFailed):
        await sender.send(message)
    assert sender.messages == []

    await sender.send(message)
    message.replace_header("Subject", "changed afterwards")
    assert len(sender.messages) == 1
    assert sender.messages[0]["Subject"] == "[#T-1042] Réponse à votre demande"
    assert sender.sent_to("DANA@example.com") == sender.messages
    assert sender.sent_to("sam@example.com") == []


@pytest.mark.unit
def test_delivery_failed_says_what_happened() -> None:
    failure = DeliveryFailed("recipient refused: 550 No such user", permanent=True, code=550)
    assert str(failure) == "recipient refused: 550 No such user"
    assert "permanent" in repr(failure)
    assert failure.attempts == 1
