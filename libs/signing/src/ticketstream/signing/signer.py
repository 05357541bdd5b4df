"""The one signing scheme Ticketstream uses for requester links and e-mail threading.

Intake verifies and notify signs, so the scheme lives here once. Everything is derived from a
single server-side key (``TICKETSTREAM_SECRET_KEY``) with HMAC-SHA256, and every use has its
own purpose prefix (``requester``, ``reply``, ``msgid``), so a value made for one use is never
valid for another.

**Requester secrets.** A requester acts on their ticket through a link that carries a
per-ticket secret (DESIGN §5: a requester can never read or change another ticket). The
secret is *derived*, not stored: ``HMAC(key, "requester" NUL ticket_id)``, truncated to 160
bits. Anyone can see a ticket id (it is in every e-mail subject); without the key, the
secret of a ticket cannot be guessed from its id, nor from the secrets of other tickets.
Because nothing is stored, there is nothing to leak from the database, nothing to migrate,
and every replica of every service agrees on the secret given the same key.

The trade-off: **rotating the key invalidates every link ever sent** (every requester
secret, every reply address, every Message-ID still in a mail client). A per-ticket secret
cannot be revoked on its own either; it lives as long as the key. Rotate only when the key
is compromised, and expect replies to old e-mails to open new tickets afterwards.

**Signed reply addresses and Message-IDs.** Intake threads an inbound e-mail onto an
existing ticket when it is addressed to the ticket's reply address
(``support+<ticket>.<sig>@example.com``) or refers to one of notify's Message-IDs in
In-Reply-To / References (DESIGN §3). Both carry a short HMAC over the ticket id, so a
forged References header or a guessed plus-address cannot thread mail onto someone else's
ticket: without the key nobody can make a value that names a ticket they were never sent
mail about. (The ``[#ticket]`` subject tag is *not* signed; see
:func:`ticketstream.signing.ticket_from_subject`.)

Signatures are compared with :func:`hmac.compare_digest` (constant time). Parsing accepts
what mail systems do to addresses (display names, angle brackets, white space, case
changes) and returns ``False``/``None`` for anything malformed; it never raises.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from ._syntax import (
    DOT_ATOM,
    addr_spec,
    canonical_base32,
    canonical_ticket_id,
    require_ticket_id,
)

__all__ = [
    "MIN_KEY_BYTES",
    "MIN_SECRET_CHARS",
    "SECRET_KEY_ENV",
    "Signer",
]

SECRET_KEY_ENV = "TICKETSTREAM_SECRET_KEY"
"""The environment variable every service reads the signing secret from."""
MIN_KEY_BYTES = 32
"""A raw key shorter than this is refused (HMAC-SHA256 wants at least 256 bits)."""
MIN_SECRET_CHARS = 32
"""A secret string shorter than this is refused by :meth:`Signer.from_secret`."""

REQUESTER_SECRET_CHARS = 32
"""160 bits of HMAC, base32: unguessable, and short enough for a URL."""
SIGNATURE_CHARS = 10
"""50 bits: an online guess (one e-mail per try) never gets anywhere near it."""
RECIPIENT_HASH_CHARS = 12

MAX_LOCAL_PART = 64
"""RFC 5321 §4.5.3.1.1: the longest local part an SMTP server has to accept."""
MAX_ADDRESS = 254
MAX_DOMAIN = 253

_REQUESTER = b"requester\x00"
_REPLY = b"reply\x00"
_MSGID = b"msgid\x00"

_REQUESTER_SECRET = re.compile(rf"[a-z2-7]{{{REQUESTER_SECRET_CHARS}}}")
_SIGNATURE = re.compile(rf"[a-z2-7]{{{SIGNATURE_CHARS}}}")
_RECIPIENT_HASH = re.compile(rf"[a-z2-7]{{{RECIPIENT_HASH_CHARS}}}")
_MESSAGE_ID_PREFIX = "ts"


def _base32(digest: bytes, chars: int) -> str:
    """The first ``chars`` characters of ``digest`` in lower-case base32 (no padding)."""
    return base64.b32encode(digest).decode("ascii").lower()[:chars]


def _domain(text: str) -> str | None:
    return text if len(text) <= MAX_DOMAIN and DOT_ATOM.fullmatch(text) else None


def _recipient_key(recipient: str) -> str:
    """The recipient's address as it goes into a Message-ID: bare, trimmed, lower case."""
    return (addr_spec(recipient) or recipient.strip()).lower()


class Signer:
    """Makes and checks Ticketstream's requester secrets, reply addresses and Message-IDs.

    One instance per process, built from the shared key; it holds no other state and is
    safe to share between threads and tasks. Ticket ids are accepted in any case and
    normalized to the upper-case form of the event contract (``[0-9A-Z]{4,32}``).
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        """Sign with ``key``: raw bytes, at least 32 of them (else ``ValueError``)."""
        if not isinstance(key, bytes | bytearray):
            raise TypeError(f"the signing key must be bytes, not {type(key).__name__}")
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(
                f"the signing key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}"
            )
        self._key = bytes(key)

    @classmethod
    def from_secret(cls, secret: str) -> Signer:
        """A signer keyed with SHA-256 of the configured secret string.

        ``secret`` is the value of ``TICKETSTREAM_SECRET_KEY`` (surrounding white space, such
        as the newline of a mounted secret file, is ignored). It must be at least 32
        characters of randomness, e.g. from :func:`ticketstream.signing.new_secret_key` or
        ``python -m ticketstream.signing new-key``; it is hashed once, not stretched, so a
        memorable password is not a good key.
        """
        if not isinstance(secret, str):
            raise TypeError(f"{SECRET_KEY_ENV} must be a string, not {type(secret).__name__}")
        text = secret.strip()
        if len(text) < MIN_SECRET_CHARS:
            raise ValueError(
                f"{SECRET_KEY_ENV} must be at least {MIN_SECRET_CHARS} characters "
                f"(got {len(text)}); make one with `python -m ticketstream.signing new-key`"
            )
        try:
            material = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as error:
            raise ValueError(f"{SECRET_KEY_ENV} is not valid text: {error}") from None
        return cls(hashlib.sha256(material).digest())

    def __repr__(self) -> str:
        return "Signer(key=<redacted>)"

    def _mac(self, purpose: bytes, *parts: str) -> bytes:
        message = purpose + b"\x00".join(part.encode("ascii") for part in parts)
        return hmac.new(self._key, message, hashlib.sha256).digest()

    # -- requester secrets -------------------------------------------------------------

    def requester_secret(self, ticket_id: str) -> str:
        """The secret in a ticket's requester link: 32 lower-case base32 characters.

        ``HMAC-SHA256(key, "requester" NUL ticket_id)``, first 160 bits. Deterministic (the
        same ticket always gets the same secret, so it is never stored) and unguessable from
        the ticket id without the key. Rotating the key changes every secret. Raises
        ``ValueError`` for a malformed ticket id.
        """
        ticket = require_ticket_id(ticket_id)
        return _base32(self._mac(_REQUESTER, ticket)[:20], REQUESTER_SECRET_CHARS)

    def verify_requester_secret(self, ticket_id: str, secret: str) -> bool:
        """Whether ``secret`` is this ticket's requester secret (constant-time compare).

        Tolerates the case changes and surrounding white space that copying a link
        introduces; ``False`` for any malformed ticket id or secret, never raises.
        """
        ticket = canonical_ticket_id(ticket_id.strip() if isinstance(ticket_id, str) else None)
        candidate = canonical_base32(
            secret.strip() if isinstance(secret, str) else None, _REQUESTER_SECRET
        )
        if ticket is None or candidate is None:
            return False
        return hmac.compare_digest(self.requester_secret(ticket), candidate)

    # -- reply addresses ---------------------------------------------------------------

    def _reply_signature(self, ticket: str) -> str:
        return _base32(self._mac(_REPLY, ticket), SIGNATURE_CHARS)

    def reply_address(self, ticket_id: str, mailbox: str) -> str:
        """The Reply-To address that routes a reply back onto this ticket.

        ``"support@example.com"`` becomes ``"support+<ticket>.<sig>@example.com"``, with
        ``sig`` 10 base32 characters of ``HMAC(key, "reply" NUL ticket_id)``: a guessed
        plus-address does not thread onto a ticket. ``mailbox`` is intake's inbound
        address, bare or as ``"Name <address>"``; the bare tagged address is returned (add
        a display name with :func:`email.utils.formataddr`). ``ValueError`` for a malformed
        ticket id or mailbox, or when the tagged local part would exceed 64 characters.
        """
        ticket = require_ticket_id(ticket_id)
        spec = addr_spec(mailbox)
        local, at, domain = (spec or "").rpartition("@")
        if not at or not DOT_ATOM.fullmatch(local) or _domain(domain) is None:
            raise ValueError(f"mailbox {mailbox!r} is not a plain local@domain address")
        tagged = f"{local}+{ticket}.{self._reply_signature(ticket)}"
        if len(tagged) > MAX_LOCAL_PART:
            raise ValueError(
                f"reply address local part {tagged!r} is longer than {MAX_LOCAL_PART} "
                f"characters; use a mailbox with a shorter local part than {local!r}"
            )
        address = f"{tagged}@{domain}"
        if len(address) > MAX_ADDRESS:
            raise ValueError(f"reply address {address!r} is longer than {MAX_ADDRESS} characters")
        return address

    def ticket_from_reply_address(self, address: str) -> str | None:
        """The ticket a reply address made by :meth:`reply_address` belongs to.

        Accepts ``"Name <support+T.sig@example.com>"`` or the bare address, in any case
        (mail systems are free to change it); returns the upper-case ticket id, or None when
        there is no tag, the tag is malformed or its signature does not verify. Only the
        ``+<ticket>.<sig>`` tag is checked: which mailbox and domain the mail reached is
        the mail server's business. Never raises.
        """
        spec = addr_spec(address)
        if spec is None:
            return None
        local, at, domain = spec.rpartition("@")
        if not at or _domain(domain) is None:
            return None
        base, plus, tag = local.rpartition("+")
        if not plus or not base:
            return None
        ticket_part, dot, signature_part = tag.partition(".")
        ticket = canonical_ticket_id(ticket_part) if dot else None
        signature = canonical_base32(signature_part, _SIGNATURE)
        if ticket is None or signature is None:
            return None
        if hmac.compare_digest(self._reply_signature(ticket), signature):
            return ticket
        return None

    # -- Message-IDs -------------------------------------------------------------------

    def _message_id_signature(self, ticket: str, recipient_hash: str) -> str:
        return _base32(self._mac(_MSGID, ticket, recipient_hash), SIGNATURE_CHARS)

    def message_id(self, ticket_id: str, event_id: str, recipient: str, domain: str) -> str:
        """The Message-ID of the e-mail about ``event_id`` sent to ``recipient``.

        ``<ts.<ticket>.<h>.<sig>@<domain>>``: ``h`` is 12 base32 characters of
        ``SHA-256(event_id NUL recipient)`` (the recipient's bare address, lower case), so
        the id is stable per (event, recipient) and a resent e-mail keeps its id; ``sig``
        is 10 base32 characters of ``HMAC(key, "msgid" NUL ticket NUL h)``, so a forged
        In-Reply-To / References cannot thread mail onto someone else's ticket. The result
        is RFC 5322 ``msg-id`` syntax. ``ValueError`` for a malformed ticket id or domain,
        or an empty event id or recipient.
        """
        ticket = require_ticket_id(ticket_id)
        host = _domain(domain.strip()) if isinstance(domain, str) else None
        if host is None:
            raise ValueError(f"Message-ID domain {domain!r} is not an RFC 5322 dot-atom")
        if not event_id:
            raise ValueError("a Message-ID needs the id of the event the e-mail is about")
        if not recipient or not recipient.strip():
            raise ValueError("a Message-ID needs the recipient's address")
        material = f"{event_id}\x00{_recipient_key(recipient)}".encode("utf-8", "surrogatepass")
        recipient_hash = _base32(hashlib.sha256(material).digest(), RECIPIENT_HASH_CHARS)
        signature = self._message_id_signature(ticket, recipient_hash)
        return f"<{_MESSAGE_ID_PREFIX}.{ticket}.{recipient_hash}.{signature}@{host}>"

    def ticket_from_message_id(self, message_id: str) -> str | None:
        """The ticket a Message-ID made by :meth:`message_id` belongs to, if it verifies.

        Accepts one msg-id with or without angle brackets and surrounding white space, in
        any case. Returns the upper-case ticket id, or None for anyone else's Message-ID, a
        malformed one or a bad signature. Never raises. (Split In-Reply-To / References
        into single ids before calling this.)
        """
        if not isinstance(message_id, str):
            return None
        text = message_id.strip()
        if text.startswith("<") or text.endswith(">"):
            if len(text) < 2 or not (text.startswith("<") and text.endswith(">")):
                return None
            text = text[1:-1]
        local, at, domain = text.partition("@")
        if not at or _domain(domain) is None:
            return None
        parts = local.split(".")
        if len(parts) != 4:
            return None
        prefix, ticket_part, hash_part, signature_part = parts
        if not prefix.isascii() or prefix.lower() != _MESSAGE_ID_PREFIX:
            return None
        ticket = canonical_ticket_id(ticket_part)
        recipient_hash = canonical_base32(hash_part, _RECIPIENT_HASH)
        signature = canonical_base32(signature_part, _SIGNATURE)
        if ticket is None or recipient_hash is None or signature is None:
            return None
        if hmac.compare_digest(self._message_id_signature(ticket, recipient_hash), signature):
            return ticket
        return None
