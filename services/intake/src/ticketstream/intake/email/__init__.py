"""E-mail intake, the pure part: parse a raw message, find the ticket it threads onto.

- :func:`parse_email` turns raw RFC 822 bytes into an :class:`InboundEmail` (text, the new
  text of a reply, attachments, threading headers, auto-reply and bounce flags), or raises
  :class:`EmailParseError` for input that is not an e-mail message;
- :func:`find_thread` decides which ticket the e-mail belongs to (:class:`ThreadMatch`),
  checking signed keys through a :class:`ThreadingKeys` (``ticketstream.signing.Signer``);
- :func:`html_to_text` and :func:`strip_quoted_reply` are the two text steps on their own.

No I/O here: fetching mail (HTTP endpoint, IMAP) and appending events live elsewhere.
"""

from __future__ import annotations

from .html_text import html_to_text
from .parsing import EmailParseError, InboundAttachment, InboundEmail, parse_email, safe_filename
from .quotes import strip_quoted_reply
from .threading import ThreadingKeys, ThreadMatch, ThreadReason, find_thread

__all__ = [
    "EmailParseError",
    "InboundAttachment",
    "InboundEmail",
    "ThreadMatch",
    "ThreadReason",
    "ThreadingKeys",
    "find_thread",
    "html_to_text",
    "parse_email",
    "safe_filename",
    "strip_quoted_reply",
]
