"""Making a fresh ``TICKETSTREAM_SECRET_KEY``."""

from __future__ import annotations

import secrets

__all__ = ["new_secret_key"]


def new_secret_key() -> str:
    """A fresh random secret for ``TICKETSTREAM_SECRET_KEY``: 48 random bytes, URL-safe.

    64 characters of ``secrets.token_urlsafe(48)`` (384 bits). ``make run`` generates one
    under ``.run/``; operators make one with ``python -m ticketstream.signing new-key`` and
    give the same value to every service. Changing it later invalidates every requester
    link, reply address and Message-ID already sent.
    """
    return secrets.token_urlsafe(48)
