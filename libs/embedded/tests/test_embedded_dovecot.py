"""The throwaway Dovecot (Debian's dovecot-imapd, installed by ``scripts/ensure-dovecot``)."""

from __future__ import annotations

import imaplib
import socket
import time
from pathlib import Path

import psutil
import pytest

from ticketstream.embedded import dovecot as dovecot_module
from ticketstream.embedded.dovecot import EmbeddedDovecot, find_dovecot, start_dovecot

pytestmark = pytest.mark.integration

MESSAGE = (
    b"From: Dana Whitfield <dana@example.com>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Unable to access e-mail\r\n"
    b"Message-ID: <embedded-dovecot-1@example.com>\r\n"
    b"Date: Thu, 04 Dec 2025 10:00:00 +0000\r\n"
    b"\r\n"
    b"I cannot log in to my mailbox since this morning.\r\n"
)


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_start_login_append_search_and_stop(tmp_path: Path) -> None:
    started = time.monotonic()
    server = start_dovecot(tmp_path / "dovecot", password="s3cret")
    try:
        startup = time.monotonic() - started
        assert startup < 10
        assert server.running
        assert server.host == "127.0.0.1"
        assert server.user == "support"
        assert server.password == "s3cret"
        assert server.greeting.startswith("* OK")

        conn = imaplib.IMAP4(server.host, server.port, timeout=5)
        assert conn.login(server.user, server.password)[0] == "OK"
        appended = conn.append("INBOX", None, None, MESSAGE)
        assert appended[0] == "OK", appended
        assert conn.select("INBOX") == ("OK", [b"1"])
        assert conn.search(None, "HEADER", "Message-ID", "embedded-dovecot-1") == ("OK", [b"1"])
        typ, fetched = conn.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        assert isinstance(fetched[0], tuple)
        assert fetched[0][1] == MESSAGE
        conn.logout()

        # the mail is in the user's Maildir, owned by the package's dovecot user
        maildir = server.home / "Maildir"
        assert maildir.is_dir()
        assert maildir.stat().st_uid == dovecot_module._mail_user().uid
    finally:
        server.stop()


def test_nothing_left_running_after_stop(tmp_path: Path) -> None:
    server = start_dovecot(tmp_path / "dovecot")
    conn = server.connect()  # a connected client keeps an imap process busy
    conn.select("INBOX")
    processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
    names = {p.name() for p in processes}
    assert {"dovecot", "imap", "auth", "log"} <= names

    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5
    assert not server.running
    assert [p for p in processes if _alive(p)] == []
    assert not _accepts(server.host, server.port)
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        conn.noop()
    server.stop()  # idempotent


def test_context_manager_and_restart_keeps_mail(tmp_path: Path) -> None:
    base = tmp_path / "dovecot"
    with start_dovecot(base, password="pw") as server:
        first_port = server.port
        conn = server.connect()
        conn.append("INBOX", None, None, MESSAGE)
        conn.logout()
    assert not server.running
    assert not _accepts(server.host, first_port)

    with start_dovecot(base, password="pw") as again:  # same folder: same mailbox
        conn = again.connect()
        typ, data = conn.select("INBOX", readonly=True)
        assert (typ, data) == ("OK", [b"1"])
        conn.logout()


def test_wrong_password_is_refused(tmp_path: Path) -> None:
    with start_dovecot(tmp_path / "dovecot") as server:
        assert len(server.password) >= 16  # random when not given
        conn = imaplib.IMAP4(server.host, server.port, timeout=5)
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            conn.login(server.user, "not-the-password")
        conn.shutdown()
        started = time.monotonic()
        server.connect().logout()  # no per-IP penalty delay for the next login
        assert time.monotonic() - started < 1


def test_long_base_path_uses_a_short_socket_folder(tmp_path: Path) -> None:
    base = tmp_path / ("x" * 100) / "dovecot"
    with start_dovecot(base) as server:
        assert server.run_dir != base / "run"
        assert len(str(server.run_dir)) < 60
        server.connect().logout()
    assert not server.run_dir.exists()


def test_find_dovecot_names_the_install_script(monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_dovecot().name == "dovecot"
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(dovecot_module, "_SBIN", ())
    with pytest.raises(FileNotFoundError, match="scripts/ensure-dovecot"):
        find_dovecot()
    with pytest.raises(FileNotFoundError, match="scripts/ensure-dovecot"):
        start_dovecot(Path("/nonexistent/never-created"))


def test_repr_and_properties(tmp_path: Path) -> None:
    with start_dovecot(tmp_path / "dovecot", user="helpdesk", password="Zq9-unique") as server:
        assert isinstance(server, EmbeddedDovecot)
        assert server.user == "helpdesk"
        assert f"port={server.port}" in repr(server)
        assert "Zq9-unique" not in repr(server)
        assert server.config_path.read_text().count("ssl = no") == 1
        server.connect().logout()
