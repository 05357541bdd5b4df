"""intake's settings, from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr

from ticketstream.servicekit import ServiceSettings

from .imap_poller import ImapSettings
from .ticket_form import AttachmentLimits

DEFAULT_ATTACHMENT_TYPES = (
    "image/*",
    "text/*",
    "application/pdf",
    "application/json",
    "application/xml",
    "application/zip",
    "application/gzip",
    "application/x-zip-compressed",
    "application/msword",
    "application/vnd.ms-*",
    "application/vnd.openxmlformats-officedocument.*",
    "application/vnd.oasis.opendocument.*",
    "message/rfc822",
    "application/octet-stream",
)
"""Documents, images, text, archives and e-mails; not executables or scripts by their type."""


class IntakeSettings(ServiceSettings):
    """See :class:`~ticketstream.servicekit.ServiceSettings` for the shared variables.

    - ``TICKETSTREAM_SECRET_KEY`` (required, at least 32 characters): signs requesters'
      ticket secrets and reply addresses; notify must use the same key. ``make run``
      generates one under ``.run/``; ``python -m ticketstream.signing new-key`` makes one.
    - ``TICKETSTREAM_DIRECTORY``: the directory file (help topics, departments, agents ...);
      the development default when unset.
    - ``TICKETSTREAM_INBOUND_TOKEN``: when set, ``POST /api/v1/inbound/email`` needs it as a
      bearer token (set it when the endpoint is reachable by more than your MTA).
    - ``TICKETSTREAM_IMAP_HOST`` turns the IMAP poller on (off by default), with
      ``TICKETSTREAM_IMAP_PORT`` (993), ``_USER``, ``_PASSWORD``, ``_MAILBOX`` (INBOX),
      ``_TLS`` (ssl, starttls or none), ``_INTERVAL_SECONDS`` (30) and ``_MOVE_TO``
      (a folder for processed mail; by default they stay and get the ``$Ticketstream`` flag).
    - ``TICKETSTREAM_ATTACHMENT_MAX_COUNT`` (10), ``TICKETSTREAM_ATTACHMENT_MAX_BYTES``
      (10 MiB) and ``TICKETSTREAM_ATTACHMENT_TYPES`` (comma-separated patterns such as
      ``image/*,application/pdf``) limit the files a form may carry.
    - ``TICKETSTREAM_WORKERS`` (1): processes sharing the port, each with its own NATS
      connection; intake keeps no state between requests. A worker uses at most one core,
      so give intake as many workers as cores it can have to itself (docs/benchmarks.md).
      ``/metrics`` shows the counters of the worker that answers the scrape.
    """

    service_name: str = "intake"
    port: int = Field(default=8001, ge=1, le=65535)
    max_body_bytes: int = Field(
        default=26 * 1024 * 1024, ge=0
    )  # attachments: 10 MiB each, ~25 MiB a request
    secret_key: SecretStr = Field(
        validation_alias=AliasChoices("TICKETSTREAM_SECRET_KEY", "secret_key"), min_length=32
    )
    inbound_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TICKETSTREAM_INBOUND_TOKEN", "inbound_token"),
        min_length=16,
    )
    attachment_max_count: int = Field(default=10, ge=0, le=100)
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    attachment_types: str = Field(
        default=",".join(DEFAULT_ATTACHMENT_TYPES),
        description="Comma-separated media type patterns accepted for attachments",
    )
    workers: int = Field(default=1, ge=1, le=64)
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_mailbox: str = "INBOX"
    imap_tls: Literal["ssl", "starttls", "none"] = "ssl"
    imap_interval_seconds: float = Field(default=30, gt=0)
    imap_move_to: str | None = None

    def attachment_limits(self) -> AttachmentLimits:
        """The attachment limits of forms (count, size, media types)."""
        types = tuple(t.strip().lower() for t in self.attachment_types.split(",") if t.strip())
        return AttachmentLimits(self.attachment_max_count, self.attachment_max_bytes, types)

    def imap(self) -> ImapSettings | None:
        """The IMAP poller's settings, or None when it is off."""
        if not self.imap_host:
            return None
        return ImapSettings(
            host=self.imap_host,
            port=self.imap_port,
            user=self.imap_user or "",
            password=self.imap_password or SecretStr(""),
            mailbox=self.imap_mailbox,
            tls=self.imap_tls,
            interval_seconds=self.imap_interval_seconds,
            move_to=self.imap_move_to,
        )
