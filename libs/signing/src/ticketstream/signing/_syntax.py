"""Strict, never-raising parsers for the small pieces of syntax the signing scheme uses.

Every regular expression here spells its character classes out in ASCII and is used with
``fullmatch``: no ``IGNORECASE`` (which lets the Kelvin sign match ``k``), no ``$`` (which
matches before a trailing newline), no Unicode ``\\d`` or ``\\s``. Input is checked with
``str.isascii()`` before any case folding, because ``str.upper``/``str.lower`` map some
non-ASCII characters onto ASCII ones (``"ß".upper() == "SS"``).
"""

from __future__ import annotations

import re

TICKET_ID_PATTERN = r"[0-9A-Z]{4,32}"
"""A ticket number, as the event contract (``ticketstream.events.TicketId``) defines it."""

_TICKET_ID = re.compile(TICKET_ID_PATTERN)

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
"""RFC 5322 ``dot-atom-text``: what a Message-ID's halves and a plain local part may be."""


def canonical_ticket_id(text: object) -> str | None:
    """The upper-case ticket id ``text`` spells (any case), or None when it is not one."""
    if not isinstance(text, str) or not text.isascii():
        return None
    candidate = text.upper()
    return candidate if _TICKET_ID.fullmatch(candidate) else None


def require_ticket_id(ticket_id: str) -> str:
    """The canonical (upper-case) ticket id; anything else is a programming error."""
    canonical = canonical_ticket_id(ticket_id.strip() if isinstance(ticket_id, str) else None)
    if canonical is None:
        raise ValueError(f"ticket id {ticket_id!r} is not 4 to 32 characters of [0-9A-Z]")
    return canonical


def canonical_base32(text: object, pattern: re.Pattern[str]) -> str | None:
    """The lower-case form of a base32 token that fully matches ``pattern``, else None."""
    if not isinstance(text, str) or not text.isascii():
        return None
    candidate = text.lower()
    return candidate if pattern.fullmatch(candidate) else None


def addr_spec(address: object) -> str | None:
    """The bare ``local@domain`` of ``"Name <local@domain>"`` or of a bare address.

    Only the outer shape is handled here (surrounding white space, the last ``<...>``);
    the caller checks what is inside. None when ``address`` cannot be one address.
    """
    if not isinstance(address, str):
        return None
    text = address.strip()
    if text.endswith(">"):
        start = text.rfind("<")
        if start < 0:
            return None
        text = text[start + 1 : -1].strip()
    elif "<" in text:
        return None
    return text or None
