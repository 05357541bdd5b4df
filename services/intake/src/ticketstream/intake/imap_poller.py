"""IMAP intake: fetch new messages from a mailbox and hand each raw message to intake.

Exactly once across restarts is built from two halves:

* **at-least-once fetch.** The poller remembers nothing itself: the state lives on the
  server, with the message. A poll asks for the messages *without* the keyword
  ``processed_flag`` (``UID SEARCH UNKEYWORD $Ticketstream NOT DELETED``), fetches each with
  ``BODY.PEEK[]`` (which does not set ``\\Seen``, so the mailbox still looks unread to a
  person), awaits ``receive(raw)`` and only *after* it returned stores the keyword (and
  moves the message if ``move_to`` is set). A ``receive`` that raises leaves its message
  unflagged: it is logged and retried on the next poll, and the poll goes on with the next
  message. Restarts, crashes and UIDVALIDITY changes lose nothing, because nothing is
  kept outside the mailbox.
* **idempotent receive.** Intake recognises a message it has already taken by its
  Message-ID, so delivering it again changes nothing.

The window that remains: a crash (or a lost connection) after ``receive`` returned but
before the keyword was stored. The next poll delivers that message again and ``receive``
recognises its Message-ID. The same holds when two pollers share a mailbox. ``receive``
must therefore be idempotent, and should raise only for transient failures (a message it
can never take, e.g. garbage bytes, should be recorded or dropped with a reason and
return normally; otherwise it is retried on every poll).

The IMAP work is blocking (``imaplib`` from the standard library) and runs in
``asyncio.to_thread``, one connection per poll, one call at a time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["ImapError", "ImapLoginError", "ImapPoller", "ImapSettings"]

_log = structlog.get_logger(__name__)

# An IMAP flag keyword is an atom: no SP, CTL, "(", ")", "{", "%", "*", '"', "\\", "]".
_KEYWORD = re.compile(r"[!#$&'+,\-./0-9:;<=>?@A-Z\[^_`a-z|}~]+")


class ImapSettings(BaseModel):
    """Where to fetch mail from and what to do with a processed message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(993, ge=1, le=65535)
    user: str = Field(min_length=1)
    password: SecretStr
    mailbox: str = Field("INBOX", min_length=1)
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    interval_seconds: float = Field(30, gt=0)
    processed_flag: str = "$Ticketstream"
    move_to: str | None = None
    timeout_seconds: float = Field(30, gt=0, description="socket timeout of one IMAP call")
    max_backoff_seconds: float = Field(300, gt=0, description="longest wait after failures")

    @field_validator("processed_flag")
    @classmethod
    def _keyword(cls, value: str) -> str:
        if not _KEYWORD.fullmatch(value):
            raise ValueError(
                "must be an IMAP keyword (an atom such as $Ticketstream; no spaces, "
                'parentheses, quotes, "\\" or system flags)'
            )
        return value

    @field_validator("move_to")
    @classmethod
    def _folder(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be a folder name or unset")
        return value


class ImapError(RuntimeError):
    """The IMAP server refused something (or answered something unexpected)."""


class ImapLoginError(ImapError):
    """Login failed: wrong user or password, or the server refuses plain-text login."""


def _utf7_imap(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 section 5.1.3)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be"))
            out.append("&" + data.rstrip(b"=").replace(b"/", b",").decode("ascii") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _mailbox_arg(name: str) -> str:
    """A mailbox name as an IMAP command argument (encoded and quoted)."""
    encoded = _utf7_imap(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: Sequence[object] | None) -> str:
    parts = [
        item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
        for item in data or ()
        if item is not None
    ]
    return " ".join(parts)


class _Session:
    """One blocking IMAP connection with the mailbox selected (call from a worker thread)."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self.capabilities: frozenset[str] = frozenset()
        self.conn = self._connect()

    def _connect(self) -> imaplib.IMAP4:
        s = self.settings
        where = f"{s.host}:{s.port}"
        conn: imaplib.IMAP4
        if s.tls == "ssl":
            conn = imaplib.IMAP4_SSL(
                s.host, s.port, ssl_context=ssl.create_default_context(), timeout=s.timeout_seconds
            )
        else:
            conn = imaplib.IMAP4(s.host, s.port, timeout=s.timeout_seconds)
        try:
            if s.tls == "starttls":
                conn.starttls(ssl.create_default_context())
            try:
                conn.login(s.user, s.password.get_secret_value())
            except imaplib.IMAP4.error as exc:
                raise ImapLoginError(
                    f"IMAP login as {s.user!r} at {where} failed: {exc}"
                    " (check the user and password)"
                ) from None
            self.capabilities = self._load_capabilities(conn)
            typ, data = conn.select(_mailbox_arg(s.mailbox))
            if typ != "OK":
                raise ImapError(f"cannot select mailbox {s.mailbox!r} at {where}: {_text(data)}")
            self._check_keyword_allowed(conn)
            if s.move_to is not None:
                self._ensure_folder(conn, s.move_to)
        except BaseException:
            with contextlib.suppress(Exception):
                conn.shutdown()
            raise
        return conn

    @staticmethod
    def _load_capabilities(conn: imaplib.IMAP4) -> frozenset[str]:
        typ, data = conn.capability()  # after login: servers announce more than in the greeting
        if typ != "OK":
            return frozenset(str(c).upper() for c in conn.capabilities)
        return frozenset(_text(data).upper().split())

    def _check_keyword_allowed(self, conn: imaplib.IMAP4) -> None:
        _typ, data = conn.response("PERMANENTFLAGS")
        permanent = _text(data)
        if not permanent:
            return  # not announced: nothing to check against
        flag = self.settings.processed_flag
        if "\\*" in permanent or flag.lower() in permanent.lower().strip("()").split():
            return
        if self.settings.move_to is None:
            raise ImapError(
                f"mailbox {self.settings.mailbox!r} cannot store the keyword {flag!r} "
                f"(PERMANENTFLAGS {permanent}); every message would be fetched again on "
                "every poll: set move_to or use a server that allows keywords"
            )

    @staticmethod
    def _ensure_folder(conn: imaplib.IMAP4, name: str) -> None:
        typ, data = conn.list('""', _mailbox_arg(name))
        if typ == "OK" and any(item is not None for item in data):
            return
        typ, data = conn.create(_mailbox_arg(name))
        if typ != "OK" and "ALREADYEXISTS" not in _text(data).upper():
            raise ImapError(f"cannot create folder {name!r}: {_text(data)}")
        _log.info("imap folder created", folder=name)

    def _uid(self, command: str, *args: str) -> list[object]:
        typ, data = self.conn.uid(command, *args)
        if typ != "OK":
            raise ImapError(f"UID {command} {' '.join(args)} failed: {_text(data)}")
        return list(data)

    def unprocessed_uids(self) -> list[str]:
        data = self._uid("SEARCH", "UNKEYWORD", self.settings.processed_flag, "NOT", "DELETED")
        return _text(data).split()

    def fetch(self, uid: str) -> bytes | None:
        """The whole message (without setting ``\\Seen``), or None if it is gone."""
        for item in self._uid("FETCH", uid, "(BODY.PEEK[])"):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def mark_processed(self, uid: str) -> None:
        self._uid("STORE", uid, "+FLAGS.SILENT", f"({self.settings.processed_flag})")
        target = self.settings.move_to
        if target is None:
            return
        folder = _mailbox_arg(target)
        if "MOVE" in self.capabilities:
            self._uid("MOVE", uid, folder)
            return
        self._uid("COPY", uid, folder)
        self._uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
        if "UIDPLUS" in self.capabilities:
            self._uid("EXPUNGE", uid)  # only this message, not others marked \Deleted
        else:
            typ, data = self.conn.expunge()
            if typ != "OK":
                raise ImapError(f"EXPUNGE failed: {_text(data)}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.logout()


class ImapPoller:
    """Polls one IMAP mailbox; see the module docstring for the delivery guarantees."""

    def __init__(self, settings: ImapSettings, receive: Callable[[bytes], Awaitable[object]]):
        self.settings = settings
        self.receive = receive

    def _bound(self) -> Any:
        s = self.settings
        return _log.bind(imap_host=s.host, imap_port=s.port, imap_user=s.user, mailbox=s.mailbox)

    async def poll_once(self) -> int:
        """Receive every unprocessed message once; returns how many were processed.

        Connection and protocol errors propagate (:meth:`run` backs off and retries); a
        ``receive`` that raises is logged and its message stays for the next poll.
        """
        log = self._bound()
        started = time.monotonic()
        session = await asyncio.to_thread(_Session, self.settings)
        processed = failed = 0
        try:
            uids = await asyncio.to_thread(session.unprocessed_uids)
            for uid in uids:
                raw = await asyncio.to_thread(session.fetch, uid)
                if raw is None:
                    log.info("imap message vanished before fetch", uid=uid)
                    continue
                try:
                    await self.receive(raw)
                except Exception as exc:
                    failed += 1
                    log.exception(
                        "imap message not received; left for the next poll",
                        uid=uid,
                        size=len(raw),
                        error=str(exc)[:500],
                    )
                    continue
                await asyncio.to_thread(session.mark_processed, uid)
                processed += 1
        finally:
            await asyncio.to_thread(session.close)
        if uids:
            log.info(
                "imap poll",
                found=len(uids),
                processed=processed,
                failed=failed,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )
        return processed

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``interval_seconds`` until ``stop`` is set; errors never end the loop.

        After a failed poll the wait doubles (starting at the interval) up to
        ``max_backoff_seconds``; a successful poll resets it.
        """
        log = self._bound()
        interval = self.settings.interval_seconds
        ceiling = max(self.settings.max_backoff_seconds, interval)
        failures = 0
        log.info("imap poller started", interval_seconds=interval)
        while not stop.is_set():
            try:
                await self.poll_once()
                failures = 0
                delay = interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(interval * 2 ** min(failures - 1, 30), ceiling)
                fields = {
                    "error": str(exc)[:500],
                    "error_type": type(exc).__name__,
                    "failures": failures,
                    "retry_in_seconds": delay,
                }
                if isinstance(exc, ImapError | imaplib.IMAP4.error | OSError):
                    log.error("imap poll failed", **fields)
                else:  # a bug rather than the server: keep the traceback
                    log.exception("imap poll failed", **fields)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        log.info("imap poller stopped")
