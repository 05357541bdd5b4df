"""Ticket numbers: short, unguessable enough to be unique, easy to read aloud and type.

Eight characters of Crockford's base32 (no I, L, O, U): 40 random bits. Uniqueness is not
left to chance: the first append of a ticket expects an empty subject, so a collision is
rejected by the event store and intake draws another number.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8


def new_ticket_id() -> str:
    """A fresh random ticket number, e.g. ``4K7Q2M9X``."""
    return ticket_number(secrets.randbits(5 * LENGTH))  # one draw, not one per character


def ticket_number(bits: int) -> str:
    """The ticket number written with the low 40 bits of ``bits``."""
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(LENGTH)))
