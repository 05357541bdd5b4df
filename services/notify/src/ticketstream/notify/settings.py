"""notify's settings, from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr

from ticketstream.servicekit import ServiceSettings

from .smtp import SmtpSettings


class NotifySettings(ServiceSettings):
    """See :class:`~ticketstream.servicekit.ServiceSettings` for the shared variables.

    - ``TICKETSTREAM_SECRET_KEY`` (required): the same key as intake's; it signs the
      requester's links, the Reply-To address and the Message-IDs intake threads back.
    - ``TICKETSTREAM_DIRECTORY``: the directory file (the development default when unset).
    - ``TICKETSTREAM_SMTP_HOST`` (default 127.0.0.1), ``_PORT`` (587), ``_SECURITY``
      (starttls, tls or none), ``_USERNAME``, ``_PASSWORD``.
    - ``TICKETSTREAM_TEMPLATES``: a folder of templates that replace the packaged ones.
    - ``TICKETSTREAM_NOTIFY_DENY``: address patterns that never get e-mail (default:
      mailer-daemon, postmaster, no-reply addresses); ``TICKETSTREAM_NOTIFY_MAX_PER_HOUR``
      (30): more e-mails than this to one requester address in an hour are held back.
    - ``TICKETSTREAM_CONSUMER``: the durable consumer (default ``notify``), shared by replicas.
    """

    service_name: str = "notify"
    port: int = Field(default=8004, ge=1, le=65535)
    consumer: str = Field(default="notify", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    secret_key: SecretStr = Field(
        validation_alias=AliasChoices("TICKETSTREAM_SECRET_KEY", "secret_key"), min_length=32
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    templates: Path | None = None
    notify_deny: str = Field(
        default="mailer-daemon@*,postmaster@*,*noreply*,*no-reply*",
        description="Comma-separated address patterns that never get e-mail",
    )
    notify_max_per_hour: int = Field(default=30, ge=1)

    def smtp(self) -> SmtpSettings:
        """The SMTP sender's settings."""
        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            security=self.smtp_security,
            username=self.smtp_username,
            password=self.smtp_password,
        )
