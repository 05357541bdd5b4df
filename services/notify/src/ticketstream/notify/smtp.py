"""Sending e-mail over SMTP (aiosmtplib), with the failure classification notify relies on.

``SmtpSender.send`` either returns (the server accepted the message), or raises
:class:`DeliveryFailed`:

* ``permanent=True``: the server refused the message or its recipient with a 5xx reply (or
  accepted it for only some recipients). Retrying cannot help, and retrying after a partial
  acceptance would deliver twice; the caller records the failure and moves on.
* ``permanent=False``: a transient failure (4xx reply, connection refused / reset / timed out,
  server disconnected) that persisted through ``max_attempts`` attempts with exponential
  backoff, or a configuration problem (authentication rejected, TLS unavailable or
  unverifiable) that no retry inside one ``send`` can fix. The message itself may be fine;
  the caller should try again later.

Known window: if the connection drops or times out *after* the server received the final
``.`` of DATA but before its reply arrived, the server may have queued the message and the
retry delivers it a second time. SMTP offers no way to close that window from the client.

The connection is kept for the next message (``keepalive_seconds``, 30 s of idleness), so a
burst of e-mails pays for one connect, EHLO, STARTTLS and login instead of one per message.
Any failure closes it; the next attempt starts from a fresh connection, and a kept one that
the server hung up on meanwhile is replaced at once, without counting as an attempt.
"""

from __future__ import annotations

import asyncio
import copy
import email.message
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ticketstream.servicekit import get_logger

__all__ = [
    "DeliveryFailed",
    "InMemorySender",
    "MailSender",
    "SmtpSender",
    "SmtpSettings",
]

_log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[object]]


class SmtpSettings(BaseModel):
    """Where and how to submit mail."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    """``starttls``: plain connection upgraded with STARTTLS (required, typically port 587);
    ``tls``: implicit TLS from the first byte (typically 465); ``none``: plain text (dev sink)."""
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=30, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=1.0, ge=0)
    """Pause before the second attempt; doubles each attempt, capped at ``max_backoff_seconds``."""
    max_backoff_seconds: float = Field(default=60.0, ge=0)
    validate_certs: bool = True
    envelope_from: str | None = None
    """MAIL FROM (where bounces go); by default the message's Sender or From header."""
    keepalive_seconds: float = Field(default=30.0, ge=0)
    """How long an idle connection is kept for the next message (0: one per message)."""

    @model_validator(mode="after")
    def _credentials_in_pairs(self) -> SmtpSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("SMTP username and password go together: set both or neither")
        return self

    def backoff(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1-based)."""
        return min(self.backoff_seconds * 2.0 ** (attempt - 1), self.max_backoff_seconds)


class DeliveryFailed(Exception):  # noqa: N818 - the name notify's service uses
    """A message was not delivered; ``permanent`` tells whether trying again can help."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        attempts: int = 1,
        recipients: Iterable[str] = (),
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        """The SMTP reply code, when the failure was a reply (None for connection errors)."""
        self.attempts = attempts
        self.recipients = tuple(recipients)
        """The recipients the server refused, when it refused recipients."""

    def __repr__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return f"DeliveryFailed({str(self)!r}, {kind}, code={self.code}, attempts={self.attempts})"


@runtime_checkable
class MailSender(Protocol):
    """Something that delivers an e-mail or raises :class:`DeliveryFailed`."""

    async def send(self, message: email.message.EmailMessage) -> None: ...


@dataclass(frozen=True)
class _Attempt:
    """One classified failed attempt (internal)."""

    text: str
    retry: bool
    permanent: bool
    code: int | None = None
    recipients: tuple[str, ...] = ()


def _reply(code: int, text: str) -> str:
    return f"{code} {text}".strip()


def _by_code(code: int, text: str, what: str, recipients: Iterable[str] = ()) -> _Attempt:
    if 400 <= code < 500:
        return _Attempt(f"{what}: {_reply(code, text)}", retry=True, permanent=False, code=code)
    return _Attempt(
        f"{what}: {_reply(code, text)}",
        retry=False,
        permanent=True,
        code=code,
        recipients=tuple(recipients),
    )


_SECURITY_CODES = frozenset({530, 534, 535, 538})


def _classify(error: BaseException) -> _Attempt:
    """Map an aiosmtplib / OS error to retry-or-not and permanent-or-not."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refused = error.recipients
        addresses = [r.recipient for r in refused]
        replies = "; ".join(f"<{r.recipient}> {_reply(r.code, r.message)}" for r in refused)
        if refused and all(400 <= r.code < 500 for r in refused):
            return _Attempt(
                f"recipient deferred: {replies}", retry=True, permanent=False, code=refused[0].code
            )
        return _Attempt(
            f"recipient refused: {replies}",
            retry=False,
            permanent=True,
            code=next((r.code for r in refused if r.code >= 500), None),
            recipients=tuple(addresses),
        )
    if isinstance(error, aiosmtplib.SMTPAuthenticationError) or (
        isinstance(error, aiosmtplib.SMTPResponseException) and error.code in _SECURITY_CODES
    ):
        # 530 (STARTTLS / AUTH required), 534, 535 (credentials), 538: about our settings,
        # not the message. No retry helps now; fix the settings and try the message later.
        return _Attempt(
            f"refused for authentication or encryption: {_reply(error.code, error.message)}",
            retry=False,
            permanent=False,
            code=error.code,
        )
    if isinstance(error, aiosmtplib.SMTPConnectResponseError):
        # The greeting refused us (421 busy, 554 no service): the server, not the message.
        return _Attempt(
            f"server refused the connection: {_reply(error.code, error.message)}",
            retry=True,
            permanent=False,
            code=error.code,
        )
    if isinstance(error, aiosmtplib.SMTPSenderRefused):
        return _by_code(error.code, error.message, f"sender <{error.sender}> refused")
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        return _by_code(
            error.code, error.message, f"recipient <{error.recipient}> refused", [error.recipient]
        )
    if isinstance(error, aiosmtplib.SMTPDataError):
        return _by_code(error.code, error.message, "message refused")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return _by_code(error.code, error.message, "server replied")
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        # A non-ASCII address and a server without SMTPUTF8: this message cannot go through.
        return _Attempt(f"not supported by the server: {error}", retry=False, permanent=True)
    if type(error) is aiosmtplib.SMTPException:
        # The bare class is what aiosmtplib raises for a capability the settings demand but
        # the server lacks (STARTTLS, AUTH): fix the settings; the message may be fine.
        return _Attempt(f"settings do not fit the server: {error}", retry=False, permanent=False)
    tls_error = _tls_error(error)
    if tls_error is not None:
        return _Attempt(f"TLS failed: {tls_error}", retry=False, permanent=False)
    if isinstance(error, aiosmtplib.SMTPException | OSError | TimeoutError | EOFError):
        # Connection refused / reset, timeouts, server disconnected: the network or the server.
        name = type(error).__name__
        return _Attempt(f"connection failed ({name}): {error}", retry=True, permanent=False)
    if isinstance(error, ValueError):
        # aiosmtplib refuses to send a message it cannot address (no recipients, bad address).
        return _Attempt(f"message cannot be sent: {error}", retry=False, permanent=True)
    raise error


def _tls_error(error: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class SmtpSender:
    """Deliver messages over one kept SMTP connection, retrying transient failures."""

    def __init__(self, settings: SmtpSettings, *, sleep: Sleep = asyncio.sleep) -> None:
        self._settings = settings
        self._sleep = sleep
        self._client: aiosmtplib.SMTP | None = None
        self._idle_since = 0.0
        self._lock = asyncio.Lock()

    @property
    def settings(self) -> SmtpSettings:
        return self._settings

    async def send(self, message: email.message.EmailMessage) -> None:
        async with self._lock:  # one SMTP transaction at a time on the kept connection
            await self._send(message)

    async def close(self) -> None:
        """Say QUIT on the kept connection, if there is one."""
        async with self._lock:
            await self._disconnect()

    async def _send(self, message: email.message.EmailMessage) -> None:
        settings = self._settings
        for attempt in range(1, settings.max_attempts + 1):
            try:
                await self._attempt(message)
                return
            except DeliveryFailed:
                raise
            except Exception as error:
                classified = _classify(error)
                cause = error
            if not classified.retry:
                raise DeliveryFailed(
                    classified.text,
                    permanent=classified.permanent,
                    code=classified.code,
                    attempts=attempt,
                    recipients=classified.recipients,
                ) from cause
            if attempt == settings.max_attempts:
                raise DeliveryFailed(
                    f"gave up after {attempt} attempts: {classified.text}",
                    permanent=False,
                    code=classified.code,
                    attempts=attempt,
                ) from cause
            pause = settings.backoff(attempt)
            _log.warning(
                "smtp attempt failed, retrying",
                attempt=attempt,
                retry_in=pause,
                error=classified.text,
                host=settings.host,
                port=settings.port,
            )
            await self._sleep(pause)

    async def _attempt(self, message: email.message.EmailMessage) -> None:
        kept = await self._kept_connection()
        try:
            await self._transaction(message)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
            if not kept:
                raise
            # The server hung up on the kept connection while it was idle: not a failure of
            # this message, so try once more on a fresh connection before counting it.
            await self._transaction(message)

    async def _kept_connection(self) -> bool:
        """Whether a kept connection is there for the next transaction (else: none yet)."""
        client = self._client
        if client is None:
            return False
        idle = asyncio.get_running_loop().time() - self._idle_since
        if client.is_connected and idle <= self._settings.keepalive_seconds:
            return True
        await self._disconnect()
        return False

    async def _transaction(self, message: email.message.EmailMessage) -> None:
        """One MAIL / RCPT / DATA exchange; the connection is closed when it goes wrong."""
        try:
            client = self._client or await self._connect()
            errors, _ = await client.send_message(message, sender=self._settings.envelope_from)
        except BaseException:
            self._abandon()
            raise
        if errors:
            # Accepted for some recipients, refused for others. Sending again would deliver
            # twice to those who got it, so the refusal stands for those refused.
            replies = "; ".join(
                f"<{address}> {_reply(reply.code, reply.message)}"
                for address, reply in errors.items()
            )
            raise DeliveryFailed(
                f"recipient refused: {replies}",
                permanent=True,
                code=next(iter(errors.values())).code,
                recipients=errors.keys(),
            )
        self._idle_since = asyncio.get_running_loop().time()
        if self._settings.keepalive_seconds == 0:
            await self._disconnect()

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self._settings
        client = aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            timeout=settings.timeout_seconds,
            validate_certs=settings.validate_certs,
        )
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    async def _disconnect(self) -> None:
        """QUIT politely; a server that is gone already is fine too."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit()
        except Exception as error:  # nothing left to do with a broken connection
            _log.debug("smtp quit failed", error=str(error))
        finally:
            client.close()

    def _abandon(self) -> None:
        """Drop the connection without a word: after a failure its state is unknown."""
        client, self._client = self._client, None
        if client is not None:
            client.close()


class InMemorySender:
    """A :class:`MailSender` for tests: records what it is given.

    ``failures`` queued with :meth:`fail_next` are raised, one per ``send``, before anything
    is recorded (a failed send delivers nothing).
    """

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self._failures: deque[DeliveryFailed] = deque()

    def fail_next(self, *failures: DeliveryFailed) -> None:
        self._failures.extend(failures)

    async def send(self, message: email.message.EmailMessage) -> None:
        if self._failures:
            raise self._failures.popleft()
        self.messages.append(copy.deepcopy(message))

    def sent_to(self, address: str) -> list[email.message.EmailMessage]:
        """The recorded messages whose To header contains ``address`` (case-insensitive)."""
        wanted = address.casefold()
        return [m for m in self.messages if wanted in str(m.get("To", "")).casefold()]
