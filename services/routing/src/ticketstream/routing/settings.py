"""routing's settings, from the environment."""

from __future__ import annotations

from pydantic import Field

from ticketstream.servicekit import ServiceSettings


class RoutingSettings(ServiceSettings):
    """See :class:`~ticketstream.servicekit.ServiceSettings` for the shared variables.

    - ``TICKETSTREAM_DIRECTORY``: the directory file (help topics, departments, SLA plans);
      the development default when unset. Every replica must read the same file.
    - ``TICKETSTREAM_CONSUMER``: the durable consumer name (default ``routing``); replicas
      share it, so each event is handled by one of them.
    - ``TICKETSTREAM_TICK_SECONDS``: how often deadlines are checked (default 5).
    """

    service_name: str = "routing"
    port: int = Field(default=8003, ge=1, le=65535)
    consumer: str = Field(default="routing", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    tick_seconds: float = Field(default=5.0, gt=0, le=3600)
