"""Ticketstream's public event contract.

Install this package alone to consume Ticketstream events: it depends on pydantic only.
"""

from .catalog import *  # noqa: F403
from .catalog import __all__ as _catalog_all
from .envelope import Envelope, Metadata, decode, encode, new_event_id, to_dict, wrap
from .subjects import (
    ALL_TICKETS,
    CONTENT_TYPE,
    HEADER_EVENT_TYPE,
    HEADER_TICKET_VERSION,
    STREAM_NAME,
    SUBJECT_PREFIX,
    ticket_id_of,
    ticket_subject,
)
from .upcasting import UPCASTERS, Upcaster, upcast

__all__ = [
    *_catalog_all,
    "ALL_TICKETS",
    "CONTENT_TYPE",
    "HEADER_EVENT_TYPE",
    "HEADER_TICKET_VERSION",
    "STREAM_NAME",
    "SUBJECT_PREFIX",
    "UPCASTERS",
    "Envelope",
    "Metadata",
    "Upcaster",
    "decode",
    "encode",
    "new_event_id",
    "ticket_id_of",
    "ticket_subject",
    "to_dict",
    "upcast",
    "wrap",
]
