"""The IMAP poller against a real Dovecot (Debian's dovecot-imapd; ``scripts/ensure-dovecot``).

One server for the module; every test works in a mailbox of its own.
"""

from __future__ import annotations

import asyncio
import imaplib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import ValidationError

from ticketstream.embedded.dovecot import EmbeddedDovecot, start_dovecot
from ticketstream.intake import imap_poller
from ticketstream.intake.imap_poller import ImapPoller, ImapSettings

pytestmark = pytest.mark.integration

FLAG = "$Ticketstream"


@pytest.fixture(scope="module")
def dovecot(server_dir: Callable[[str], Path]) -> Iterator[EmbeddedDovecot]:
    with start_dovecot(server_dir("dovecot"), password="imap-test-pw") as server:
        yield server


@pytest.fixture
def mailbox(dovecot: EmbeddedDovecot) -> str:
    """A fresh, empty mailbox for one test."""
    name = f"Test-{uuid.uuid4().hex[:12]}"
    conn = dovecot.connect()
    try:
        typ, data = conn.create(name)
        assert typ == "OK", data
    finally:
        conn.logout()
    return name


def settings(dovecot: EmbeddedDovecot, mailbox: str, **changes: Any) -> ImapSettings:
    values: dict[str, Any] = {
        "host": dovecot.host,
        "port": dovecot.port,
        "user": dovecot.user,
        "password": dovecot.password,
        "mailbox": mailbox,
        "tls": "none",
        "interval_seconds": 0.05,
        "timeout_seconds": 5,
        **changes,
    }
    return ImapSettings(**values)


def make_message(n: int, *, charset: str = "utf-8", attachment: bool = False) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Requester {n} <requester{n}@example.com>"
    msg["To"] = "support@example.com"
    msg["Subject"] = f"Printer on floor {n} is jammed"
    msg["Date"] = format_datetime(datetime(2025, 1, n + 1, 9, 30, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(f"imap{n}", domain="mail.example.com")
    body = f"Hello,\n\nthe printer on floor {n} shows error E{n}. Grüße, Jürgen\n"
    msg.set_content(body, charset=charset)
    if attachment:
        msg.add_attachment(
            b"%PDF-1.4 fake\n", maintype="application", subtype="pdf", filename="report.pdf"
        )
    return msg.as_bytes(policy=SMTP)


def message_id(raw: bytes) -> str:
    from email import message_from_bytes
    from email.policy import default

    value = message_from_bytes(raw, policy=default)["Message-ID"]
    assert value
    return str(value)


def append(dovecot: EmbeddedDovecot, mailbox: str, messages: list[bytes]) -> None:
    conn = dovecot.connect()
    try:
        for raw in messages:
            typ, data = conn.append(mailbox, None, None, raw)
            assert typ == "OK", data
    finally:
        conn.logout()


def flags_by_message_id(dovecot: EmbeddedDovecot, mailbox: str) -> dict[str, set[str]]:
    """Message-ID -> flags of every message in ``mailbox`` (read-only, nothing changed)."""
    conn = dovecot.connect()
    try:
        typ, data = conn.select(imap_poller._mailbox_arg(mailbox), readonly=True)
        assert typ == "OK", data
        typ, data = conn.uid("SEARCH", "ALL")
        result: dict[str, set[str]] = {}
        for uid in (data[0] or b"").split():
            typ, fetched = conn.uid("FETCH", uid.decode(), "(FLAGS BODY.PEEK[HEADER])")
            assert typ == "OK", fetched
            assert isinstance(fetched[0], tuple)
            head, header = fetched[0]
            flags = imaplib.ParseFlags(head)
            result[message_id(header)] = {f.decode() for f in flags}
        return result
    finally:
        conn.logout()


class Recorder:
    """A ``receive`` that records raw messages and can fail for chosen Message-IDs."""

    def __init__(self, fail_for: set[str] | None = None) -> None:
        self.received: list[bytes] = []
        self.fail_for = set(fail_for or ())

    async def __call__(self, raw: bytes) -> None:
        if message_id(raw) in self.fail_for:
            raise RuntimeError("event store unavailable")
        self.received.append(raw)

    @property
    def ids(self) -> list[str]:
        return [message_id(raw) for raw in self.received]


async def test_each_message_received_once_and_flagged(
    dovecot: EmbeddedDovecot, mailbox: str
) -> None:
    messages = [
        make_message(1),
        make_message(2, charset="iso-8859-1"),
        make_message(3, attachment=True),
    ]
    append(dovecot, mailbox, messages)
    receive = Recorder()
    poller = ImapPoller(settings(dovecot, mailbox), receive)

    assert await poller.poll_once() == 3
    assert sorted(receive.received) == sorted(messages)  # byte for byte
    flags = flags_by_message_id(dovecot, mailbox)
    assert set(flags) == {message_id(m) for m in messages}
    for message_flags in flags.values():
        assert FLAG in message_flags
        assert "\\Seen" not in message_flags  # BODY.PEEK[]: still unread for a person

    assert await poller.poll_once() == 0  # second poll: nothing new
    assert len(receive.received) == 3

    restarted = Recorder()  # a new process: no memory but the flags on the server
    assert await ImapPoller(settings(dovecot, mailbox), restarted).poll_once() == 0
    assert restarted.received == []

    late = make_message(4)
    append(dovecot, mailbox, [late])
    assert await ImapPoller(settings(dovecot, mailbox), restarted).poll_once() == 1
    assert restarted.received == [late]


async def test_empty_mailbox(dovecot: EmbeddedDovecot, mailbox: str) -> None:
    receive = Recorder()
    assert await ImapPoller(settings(dovecot, mailbox), receive).poll_once() == 0
    assert receive.received == []


async def test_failing_receive_leaves_that_message_for_the_next_poll(
    dovecot: EmbeddedDovecot, mailbox: str
) -> None:
    messages = [make_message(1), make_message(2), make_message(3)]
    append(dovecot, mailbox, messages)
    bad = message_id(messages[1])
    receive = Recorder(fail_for={bad})
    poller = ImapPoller(settings(dovecot, mailbox), receive)

    with structlog.testing.capture_logs() as logs:
        assert await poller.poll_once() == 2
    assert receive.ids == [message_id(messages[0]), message_id(messages[2])]
    flags = flags_by_message_id(dovecot, mailbox)
    assert FLAG not in flags[bad]
    assert all(FLAG in f for mid, f in flags.items() if mid != bad)
    failures = [e for e in logs if e["log_level"] == "error"]
    assert len(failures) == 1
    assert "left for the next poll" in failures[0]["event"]
    assert failures[0]["error"] == "event store unavailable"

    receive.fail_for.clear()  # the store is back
    assert await poller.poll_once() == 1
    assert receive.ids[-1] == bad
    assert len(receive.received) == 3
    assert all(FLAG in f for f in flags_by_message_id(dovecot, mailbox).values())
    assert await poller.poll_once() == 0


async def test_crash_between_receive_and_flag_redelivers_to_an_idempotent_receive(
    dovecot: EmbeddedDovecot, mailbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remaining window: the next poll re-delivers, receive recognises the Message-ID."""
    raw = make_message(1)
    append(dovecot, mailbox, [raw])
    deliveries: list[str] = []
    taken: set[str] = set()

    async def idempotent_receive(message: bytes) -> None:
        mid = message_id(message)
        deliveries.append(mid)
        taken.add(mid)  # a second delivery changes nothing

    def connection_lost(self: object, uid: str) -> None:
        raise imaplib.IMAP4.abort("socket error: EOF")

    with monkeypatch.context() as patch:
        patch.setattr(imap_poller._Session, "mark_processed", connection_lost)
        with pytest.raises(imaplib.IMAP4.abort):
            await ImapPoller(settings(dovecot, mailbox), idempotent_receive).poll_once()
    assert FLAG not in flags_by_message_id(dovecot, mailbox)[message_id(raw)]

    assert await ImapPoller(settings(dovecot, mailbox), idempotent_receive).poll_once() == 1
    assert deliveries == [message_id(raw)] * 2
    assert taken == {message_id(raw)}
    assert FLAG in flags_by_message_id(dovecot, mailbox)[message_id(raw)]


async def test_move_to_moves_processed_messages(dovecot: EmbeddedDovecot, mailbox: str) -> None:
    messages = [make_message(1), make_message(2)]
    append(dovecot, mailbox, messages)
    target = f"{mailbox} Erledigt-Ü"  # a space and non-ASCII: quoted, modified UTF-7
    receive = Recorder(fail_for={message_id(messages[1])})
    poller = ImapPoller(settings(dovecot, mailbox, move_to=target), receive)

    assert await poller.poll_once() == 1  # creates the folder, moves the first message
    assert set(flags_by_message_id(dovecot, mailbox)) == {message_id(messages[1])}
    moved = flags_by_message_id(dovecot, target)
    assert set(moved) == {message_id(messages[0])}
    assert FLAG in moved[message_id(messages[0])]

    receive.fail_for.clear()
    assert await poller.poll_once() == 1
    assert flags_by_message_id(dovecot, mailbox) == {}
    assert set(flags_by_message_id(dovecot, target)) == {message_id(m) for m in messages}
    assert len(receive.received) == 2


@pytest.mark.parametrize("missing", [{"MOVE"}, {"MOVE", "UIDPLUS"}], ids=["uid-expunge", "expunge"])
async def test_move_without_move_capability_copies_and_expunges(
    dovecot: EmbeddedDovecot, mailbox: str, monkeypatch: pytest.MonkeyPatch, missing: set[str]
) -> None:
    original = imap_poller._Session._load_capabilities

    def without(conn: imaplib.IMAP4) -> frozenset[str]:
        return original(conn) - missing

    monkeypatch.setattr(imap_poller._Session, "_load_capabilities", staticmethod(without))
    messages = [make_message(1), make_message(2)]
    append(dovecot, mailbox, messages)
    target = f"{mailbox}-done"
    receive = Recorder()
    assert await ImapPoller(settings(dovecot, mailbox, move_to=target), receive).poll_once() == 2
    assert flags_by_message_id(dovecot, mailbox) == {}
    moved = flags_by_message_id(dovecot, target)
    assert set(moved) == {message_id(m) for m in messages}
    assert all(FLAG in f and "\\Deleted" not in f for f in moved.values())


async def test_wrong_password_is_logged_and_run_keeps_going(
    dovecot: EmbeddedDovecot, mailbox: str
) -> None:
    append(dovecot, mailbox, [make_message(1)])
    receive = Recorder()
    poller = ImapPoller(
        settings(dovecot, mailbox, password="wrong", max_backoff_seconds=0.2), receive
    )
    stop = asyncio.Event()
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(poller.run(stop))
        for _ in range(500):
            if sum(e["event"] == "imap poll failed" for e in logs) >= 2:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 5)
    failures = [e for e in logs if e["event"] == "imap poll failed"]
    assert len(failures) >= 2  # kept going after the first failure
    first = failures[0]
    assert first["log_level"] == "error"
    assert first["error_type"] == "ImapLoginError"
    assert f"IMAP login as {dovecot.user!r}" in first["error"]
    assert "AUTHENTICATIONFAILED" in first["error"]
    assert "wrong" not in first["error"]  # the password is never logged
    assert [f["retry_in_seconds"] for f in failures[:2]] == [0.05, 0.1]  # backing off
    assert logs[-1]["event"] == "imap poller stopped"
    assert receive.received == []


async def test_run_polls_until_stopped(dovecot: EmbeddedDovecot, mailbox: str) -> None:
    receive = Recorder()
    poller = ImapPoller(settings(dovecot, mailbox), receive)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    append(dovecot, mailbox, [make_message(1)])
    for _ in range(200):
        if receive.received:
            break
        await asyncio.sleep(0.02)
    append(dovecot, mailbox, [make_message(2)])  # picked up by a later poll
    for _ in range(200):
        if len(receive.received) == 2:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(receive.received) == 2


async def test_unreachable_server_is_logged_and_run_stops_when_asked() -> None:
    from ticketstream.embedded import free_port

    poller = ImapPoller(
        ImapSettings(
            host="127.0.0.1",
            port=free_port(),
            user="u",
            password="p",
            tls="none",
            interval_seconds=0.05,
        ),
        Recorder(),
    )
    stop = asyncio.Event()
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(poller.run(stop))
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 5)
    failures = [e for e in logs if e["event"] == "imap poll failed"]
    assert failures
    assert failures[0]["error_type"] == "ConnectionRefusedError"


def test_settings_defaults_and_validation() -> None:
    s = ImapSettings(host="imap.example.com", user="support", password="secret")
    assert (s.port, s.tls, s.mailbox, s.processed_flag, s.move_to) == (
        993,
        "ssl",
        "INBOX",
        "$Ticketstream",
        None,
    )
    assert s.interval_seconds == 30
    assert "secret" not in repr(s)
    for bad in ["two words", "\\Seen", "(x)", ""]:
        with pytest.raises(ValidationError):
            ImapSettings(host="h", user="u", password="p", processed_flag=bad)
    with pytest.raises(ValidationError):
        ImapSettings(host="h", user="u", password="p", tls="maybe")


def test_mailbox_names_are_modified_utf7() -> None:
    assert imap_poller._utf7_imap("INBOX") == "INBOX"
    assert imap_poller._utf7_imap("Entwürfe") == "Entw&APw-rfe"
    assert imap_poller._utf7_imap("R&D") == "R&-D"
    assert imap_poller._utf7_imap("日本語") == "&ZeVnLIqe-"
    assert imap_poller._mailbox_arg('a "b"') == '"a \\"b\\""'
