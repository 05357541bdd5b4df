"""The ``[#ticket]`` tag notify puts in every subject, and finding it again in a reply."""

from __future__ import annotations

import re

from ._syntax import require_ticket_id

__all__ = ["ticket_from_subject", "ticket_subject_tag"]

_SUBJECT_TAG = re.compile(r"\[#[ \t]*([0-9A-Za-z]{4,32})[ \t]*\]")


def ticket_subject_tag(ticket_id: str) -> str:
    """``"[#<ticket_id>]"``, the tag notify puts in every subject (``ValueError`` if malformed)."""
    return f"[#{require_ticket_id(ticket_id)}]"


def ticket_from_subject(subject: str) -> str | None:
    """The upper-case ticket id of the first ``[#ABCD1234]`` tag in ``subject``, or None.

    Case-insensitive, tolerant of spaces inside the brackets (``[# abcd1234 ]``); never
    raises. Decode RFC 2047 encoded words before calling this.

    Unlike the reply address and the Message-ID, the subject tag is **not signed**: ticket
    ids are visible to anyone who has seen a subject line, and can be guessed. Intake must
    therefore treat a ticket found only in the subject as a hint, and thread on it only when
    the sender is that ticket's requester (or an agent); otherwise the mail opens a new
    ticket.
    """
    if not isinstance(subject, str):
        return None
    match = _SUBJECT_TAG.search(subject)
    return match.group(1).upper() if match else None
