"""Where ticket events live on NATS: one stream, one literal subject per ticket."""

from __future__ import annotations

STREAM_NAME = "TICKETS"
SUBJECT_PREFIX = "tickets"
ALL_TICKETS = f"{SUBJECT_PREFIX}.*"
"""Filter for every ticket's events (``tickets.>`` matches the same subjects)."""

CONTENT_TYPE = "application/cloudevents+json"
HEADER_EVENT_TYPE = "Ts-Event-Type"
"""Carries the CloudEvents type so a consumer can skip an event without decoding it."""
HEADER_TICKET_VERSION = "Ts-Ticket-Version"
"""The event's version within its ticket (1, 2, 3 ...)."""


def ticket_subject(ticket_id: str) -> str:
    """The subject that holds every event of one ticket, e.g. ``tickets.4K7Q2M9X``."""
    if not _is_token(ticket_id):
        raise ValueError(f"ticket id {ticket_id!r} cannot be a NATS subject token")
    return f"{SUBJECT_PREFIX}.{ticket_id}"


def ticket_id_of(subject: str) -> str:
    """The ticket id from a ticket subject; a wildcard or malformed subject raises."""
    prefix, _, ticket_id = subject.partition(".")
    if prefix != SUBJECT_PREFIX or not _is_token(ticket_id):
        raise ValueError(f"{subject!r} is not a ticket subject ({SUBJECT_PREFIX}.<ticket>)")
    return ticket_id


def _is_token(token: str) -> bool:
    """One literal NATS subject token: not empty, no separator, wildcard or white space."""
    return bool(token) and not any(c in ".*>" or c.isspace() for c in token)
