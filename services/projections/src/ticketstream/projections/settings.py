"""projections' settings, from the environment."""

from __future__ import annotations

from pydantic import Field

from ticketstream.servicekit import DatabaseServiceSettings


class ProjectionsSettings(DatabaseServiceSettings):
    """See :class:`~ticketstream.servicekit.DatabaseServiceSettings` for the shared variables.

    - ``TICKETSTREAM_CONSUMER``: durable consumer name of the projector (default
      ``projections``).
    - ``TICKETSTREAM_BATCH_SIZE``: most events applied in one transaction (default 10,000;
      a batch is what has arrived, so this bounds catching up, not latency).
    - ``TICKETSTREAM_MAX_WAIT_SECONDS``: the longest a query waits for ``min_position``
      (default 5).
    """

    service_name: str = "projections"
    port: int = Field(default=8002, ge=1, le=65535)
    consumer: str = Field(default="projections", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    batch_size: int = Field(default=10_000, ge=1, le=50_000)
    max_wait_seconds: float = Field(default=5.0, gt=0, le=60)
