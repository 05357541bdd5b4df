"""intake's settings, from the environment."""

from __future__ import annotations

from pydantic import Field

from ticketstream.servicekit import ServiceSettings


class IntakeSettings(ServiceSettings):
    """See :class:`~ticketstream.servicekit.ServiceSettings` for the shared variables."""

    service_name: str = "intake"
    port: int = Field(default=8001, ge=1, le=65535)
