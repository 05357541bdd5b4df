"""Raw RFC 822 bytes in, one :class:`InboundEmail` out: everything intake needs, as plain values.

Pure: no I/O, no clock, no network. Parsing uses the standard library's ``email`` package
with ``policy.default`` (as servicekit's ``MAIL_POLICY``, which parses each header once),
and is defensive wherever that package is not: mail from the internet is hostile or broken
often enough that one bad header, an unknown charset or a truncated MIME part must never
cost the whole message. The only exception that escapes :func:`parse_email` is
:class:`EmailParseError`, for input that is not an e-mail message at all (no header
section, or no sender).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import TypeVar

from ticketstream.servicekit.mail import MAIL_POLICY

from .automation import auto_submitted_reasons, bounce_reason
from .charsets import clean_text, decode_bytes, decode_header_words, from_8bit_header
from .html_text import html_to_text_parts
from .quotes import strip_quoted_reply

__all__ = ["EmailParseError", "InboundAttachment", "InboundEmail", "parse_email"]

NO_SUBJECT = "(no subject)"
MAX_DEPTH = 32
"""MIME parts nested deeper than this are ignored (no legitimate mail comes close)."""
MAX_REFERENCES = 100
"""Only the newest References are kept: enough for any real thread, bounded for hostile ones."""
MAX_FILENAME_BYTES = 200

_T = TypeVar("_T")


class EmailParseError(ValueError):
    """The input is not an e-mail message that intake can take (the message says why)."""


@dataclass(frozen=True, kw_only=True)
class InboundAttachment:
    """A file that came with an e-mail: an attachment, an inline image, a forwarded message."""

    filename: str
    """Safe to use as a file name: no directories, control or reserved characters."""
    content_type: str
    data: bytes = field(repr=False)
    content_id: str | None = None
    """The Content-ID without angle brackets (what ``cid:`` URLs in the HTML refer to)."""
    inline: bool = False
    """Shown inside the message (``Content-Disposition: inline`` or a Content-ID)."""

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, kw_only=True)
class InboundEmail:
    """One inbound e-mail, parsed. Addresses are bare ``local@domain`` strings.

    ``from_address`` is lower-cased (it identifies the requester); the recipient addresses
    keep the case they were written in (a signed reply address is checked by its signer).
    """

    message_id: str | None = None
    """``<id@host>``, angle brackets included; None when the message has none."""
    from_name: str = ""
    from_address: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    delivered_to: tuple[str, ...] = ()
    """Envelope recipients added by the receiving server (Delivered-To, X-Original-To)."""
    reply_to: tuple[str, ...] = ()
    subject: str = NO_SUBJECT
    text: str = ""
    """The message text: the text/plain alternative, or the HTML as sanitized text."""
    reply_text: str = ""
    """``text`` without the quoted history of earlier messages (``text`` if nothing is left)."""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    """Oldest first, as in the header."""
    attachments: tuple[InboundAttachment, ...] = ()
    auto_submitted: bool = False
    """Sent by a machine (auto-reply, out-of-office, list traffic): never open a ticket."""
    auto_reasons: tuple[str, ...] = ()
    """Which headers or subject made it ``auto_submitted``, for the log."""
    is_bounce: bool = False
    """A delivery-status notification (bounce)."""
    bounce_reason: str | None = None
    date: datetime | None = None
    """The Date header, timezone-aware (``-0000`` is read as UTC); None if missing or bad."""

    @property
    def automated(self) -> bool:
        """Whether a machine sent it (auto-reply or bounce): it must never open a ticket."""
        return self.auto_submitted or self.is_bounce


# -- entry point -----------------------------------------------------------------------------


def parse_email(raw: bytes) -> InboundEmail:
    """Parse one raw RFC 822 / MIME message.

    Raises :class:`EmailParseError` when ``raw`` is not an e-mail message: empty, no header
    section, or no From header with an address in it. Anything else (broken charsets,
    malformed MIME, undecodable headers) is decoded as well as it can be.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"parse_email takes the raw message as bytes, not {type(raw).__name__}")
    data = bytes(raw)
    if not data.strip():
        raise EmailParseError("the input is empty: an e-mail message starts with header fields")
    try:
        message = BytesParser(policy=MAIL_POLICY).parsebytes(data)
    except RecursionError as error:
        raise EmailParseError("the MIME structure is nested too deeply to parse") from error
    headers = _read_headers(message)
    if not headers:
        raise EmailParseError(
            "not an RFC 822 message: the input does not start with header fields "
            "(such as 'From: ...')"
        )
    if not headers.get("from"):
        raise EmailParseError("the message has no From header, so its sender is unknown")
    sender = _sender(headers["from"])
    if sender is None:
        raise EmailParseError(
            f"the From header has no e-mail address: {_one_line(headers['from'][0])[:200]!r}"
        )
    from_name, from_address = sender

    subject = _unstructured(_first(headers, "subject")) or NO_SUBJECT
    walker = _Walker()
    body = walker.visit(message, 0)
    text = body.text if body else ""
    top_type = _content_type(message)
    bounce = bounce_reason(headers, top_type, _param(message, "report-type"), from_address)
    reasons = auto_submitted_reasons(headers, subject)
    references = _message_ids(headers.get("references", []))
    return InboundEmail(
        message_id=next(iter(_message_ids(headers.get("message-id", [])[:1])), None),
        from_name=from_name,
        from_address=from_address,
        to=_address_list(headers.get("to", [])),
        cc=_address_list(headers.get("cc", [])),
        delivered_to=_address_list(
            [v for name in _ENVELOPE_RECIPIENTS for v in headers.get(name, [])]
        ),
        reply_to=_address_list(headers.get("reply-to", [])),
        subject=subject,
        text=text,
        reply_text=_reply_text(body, subject),
        in_reply_to=_message_ids(headers.get("in-reply-to", [])),
        references=references[-MAX_REFERENCES:],
        attachments=tuple(walker.attachments),
        auto_submitted=bool(reasons),
        auto_reasons=reasons,
        is_bounce=bounce is not None,
        bounce_reason=bounce,
        date=_date(_first(headers, "date")),
    )


# -- headers ---------------------------------------------------------------------------------

_ENVELOPE_RECIPIENTS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_C1 = re.compile("[\x80-\x9f]")
_NOT_PRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_BARE_ADDRESS = re.compile(r"[^\s<>\"(),;:@\x00-\x1f\x7f]+@[\w-]+(?:\.[\w-]+)+")
_FORWARD = re.compile(r"\s*(?:fwd?|fw|wg|tr|rv|enc|doorst)\s*:", re.IGNORECASE)


def _guard(read: Callable[[], _T], default: _T) -> _T:
    """Call a standard-library accessor that parses a header on demand, or fall back.

    ``email._header_value_parser`` has crashed on hostile input in past releases
    (IndexError, AttributeError, HeaderParseError...); one broken header must not cost the
    whole message, and the broad ``except`` is there for exactly that.
    """
    try:
        return read()
    except Exception:
        return default


def _read_headers(message: Message) -> dict[str, list[str]]:
    """Every header of the top level, by lower-case name: unfolded, 8-bit bytes decoded."""
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        key = from_8bit_header(str(name)).strip().lower()
        unfolded = _FOLD.sub("", from_8bit_header(str(value)))
        headers.setdefault(key, []).append(re.sub(r"[\r\n]+", " ", unfolded))
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _one_line(text: str) -> str:
    """Header text for display: no control characters, no line breaks, single spaces."""
    text = from_8bit_header(text)
    # ISO-8859-1 encoded words that really are Windows-1252 (curly quotes, the euro sign).
    text = _C1.sub(lambda m: m.group().encode("latin-1").decode("cp1252", "replace"), text)
    return " ".join(_NOT_PRINTABLE.sub(" ", text).split())


def _unstructured(raw: str) -> str:
    """An unstructured header (Subject) with its RFC 2047 encoded words decoded."""
    return _one_line(decode_header_words(raw)) if raw else ""


def _addresses(raw: str) -> list[tuple[str, str]]:
    """``(display name, addr-spec)`` pairs of one address-list header value."""
    try:
        header = MAIL_POLICY.header_factory("to", raw)
        pairs = [(address.display_name, address.addr_spec) for address in header.addresses]
    except Exception:  # see _guard: the header parser's crashers
        pairs = _guard(lambda: getaddresses([raw]), [])
    found: list[tuple[str, str]] = []
    for name, spec in pairs:
        address = _addr_spec(spec)
        if address:
            found.append((_one_line(name), address))
    return found


def _addr_spec(text: str) -> str | None:
    text = from_8bit_header(text).strip().strip("<>").strip()
    local, at, domain = text.rpartition("@")
    if not (at and local and domain) or len(text) > 320:
        return None
    if _NOT_PRINTABLE.search(text) or any(c.isspace() or c in '<>,;:@[]"()\\' for c in domain):
        return None
    return text


def _sender(values: list[str]) -> tuple[str, str] | None:
    for value in values:
        pairs = _addresses(value)
        if pairs:
            name, address = pairs[0]
            if "\ufffd" in name and "=?" in value:
                name = _display_name_as_bodies_decode(value) or name
            return name, address.lower()
    for value in values:  # last resort for a From header the address parser rejects
        match = _BARE_ADDRESS.search(value)
        bare = _addr_spec(match.group()) if match else None
        if bare:
            return "", bare.lower()
    return None


def _display_name_as_bodies_decode(value: str) -> str:
    """policy.default decodes an unknown charset to U+FFFD; decode it as bodies are."""
    pairs: list[tuple[str, str]] = _guard(lambda: getaddresses([value]), [])
    return _one_line(decode_header_words(pairs[0][0])) if pairs else ""


def _address_list(values: list[str]) -> tuple[str, ...]:
    return _dedupe(address for value in values for _, address in _addresses(value))


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    unique: list[str] = []
    for item in items:
        key = item.lower()
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return tuple(unique)


def _message_ids(values: list[str]) -> tuple[str, ...]:
    """The ``<id>`` tokens of Message-ID / In-Reply-To / References, in order, deduplicated.

    Junk around them (comments, "Dana's message of ...") is ignored; an id written without
    angle brackets is accepted when it has an ``@`` and gets them added.
    """
    ids: list[str] = []
    for value in values:
        found = _MESSAGE_ID.findall(value)
        if not found:
            found = [token.strip("<>,;") for token in value.split() if "@" in token]
        ids.extend(
            f"<{token}>"
            for token in found
            if token and len(token) <= 990 and not _NOT_PRINTABLE.search(token)
        )
    return tuple(dict.fromkeys(ids))


def _date(raw: str) -> datetime | None:
    if not raw.strip():
        return None
    try:
        parsed = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# -- MIME structure --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Body:
    kind: str
    """``plain`` or ``html``: what the text was made from."""
    text: str
    before_quote: str | None = None
    """For HTML: the text above the quoted history the markup marks (``gmail_quote``...)."""


_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/json": ".json",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel": ".xls",
    "application/pgp-signature": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "text/calendar": ".ics",
    "text/rfc822-headers": ".txt",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
}
_FORWARDED_MESSAGES = frozenset({"message/rfc822", "message/global"})
_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)
_CONTENT_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
# Attachments of the same message are serialized without refolding their headers.
_VERBATIM = policy.default.clone(refold_source="none")


def _content_type(part: Message) -> str:
    content_type = _guard(part.get_content_type, "text/plain")
    return content_type if _CONTENT_TYPE.fullmatch(content_type) else "application/octet-stream"


def _param(part: Message, name: str) -> str:
    """A Content-Type parameter as text ("" when absent or unreadable)."""
    value: object = _guard(lambda: part.get_param(name), None)
    if isinstance(value, tuple):  # RFC 2231: (charset, language, text)
        value = value[-1]
    return from_8bit_header(value).strip() if isinstance(value, str) else ""


def _children(part: Message) -> list[Message] | None:
    payload = _guard(part.get_payload, None)
    if isinstance(payload, list):
        return [child for child in payload if isinstance(child, Message)]
    return None


def _payload_bytes(part: Message) -> bytes:
    data = _guard(lambda: part.get_payload(decode=True), None)
    if isinstance(data, bytes):
        return data
    payload = _guard(part.get_payload, None)
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _serialize(message: Message) -> bytes:
    for serializer in (
        lambda: message.as_bytes(policy=_VERBATIM),
        lambda: message.as_bytes(policy=policy.compat32),
    ):
        data = _guard(serializer, None)
        if data is not None:
            return data
    return _payload_bytes(message)


def _unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of ``format=flowed`` text (RFC 3676)."""
    lines: list[str] = []
    paragraph: str | None = None
    depth = 0
    for line in text.split("\n"):
        quote = len(line) - len(line.lstrip(">"))
        content = line[quote:]
        if content.startswith(" "):
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if paragraph is not None and quote == depth:
            paragraph += content
        else:
            if paragraph is not None:
                lines.append(_quoted(depth, paragraph))
            paragraph, depth = content, quote
        if not flowed:
            lines.append(_quoted(depth, paragraph))
            paragraph = None
    if paragraph is not None:
        lines.append(_quoted(depth, paragraph))
    return "\n".join(lines)


def _quoted(depth: int, text: str) -> str:
    return f"{'>' * depth} {text}" if depth else text


def safe_filename(name: str) -> str | None:
    """``name`` made safe to store and offer for download, or None if nothing is left.

    Only the last path component is kept; control, reserved and invisible formatting
    characters (the right-to-left override of ``invoice‮fdp.exe``) are removed; Windows
    device names get a ``_`` prefix; long names are cut to 200 bytes, keeping the extension.
    """
    name = unicodedata.normalize("NFC", from_8bit_header(name))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c) != "Cf")
    name = " ".join(_UNSAFE_IN_FILENAME.sub("_", name).split()).strip(" .")
    if not any(c.isalnum() for c in name):
        return None
    if name.split(".")[0].upper() in _RESERVED_NAMES:
        name = f"_{name}"
    if len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        stem, dot, extension = name.rpartition(".")
        if not dot or len(extension) > 16:
            stem, extension = name, ""
        budget = MAX_FILENAME_BYTES - len(extension.encode("utf-8")) - (1 if extension else 0)
        stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
        name = f"{stem}.{extension}" if extension else stem
    return name


class _Walker:
    """Walks the MIME tree once: returns the body text, collects the attachments."""

    def __init__(self) -> None:
        self.attachments: list[InboundAttachment] = []

    def visit(self, part: Message, depth: int) -> _Body | None:
        if depth > MAX_DEPTH:
            return None
        content_type = _content_type(part)
        children = _children(part)
        if content_type.startswith("multipart/"):
            if children is None:  # no boundary: the parser kept the body as text
                return self._text(part, "text/plain")
            return self._multipart(part, content_type, children, depth)
        disposition = _guard(part.get_content_disposition, None)
        filename = _guard(part.get_filename, None)
        if _is_attachment(content_type, disposition, filename):
            self._attach(part, content_type, disposition, filename, children)
            return None
        return self._text(part, content_type)

    def _multipart(
        self, part: Message, content_type: str, children: list[Message], depth: int
    ) -> _Body | None:
        bodies = [self.visit(child, depth + 1) for child in children]
        found = [body for body in bodies if body is not None]
        if content_type == "multipart/alternative":
            return _preferred(found)
        if content_type == "multipart/related":
            start = _param(part, "start").strip("<> ")
            for child, body in zip(children, bodies, strict=True):
                if start and body is not None and _content_id(child) == start:
                    return body
            return found[0] if found else None
        return _joined(found)

    def _text(self, part: Message, content_type: str) -> _Body:
        charset = _guard(part.get_content_charset, None)
        text = decode_bytes(_payload_bytes(part), charset if isinstance(charset, str) else None)
        if content_type == "text/html":
            full, before_quote = html_to_text_parts(text)
            return _Body(
                "html", clean_text(full), None if before_quote is None else clean_text(before_quote)
            )
        if _param(part, "format").lower() == "flowed":
            delsp = _param(part, "delsp").lower() == "yes"
            text = _unflow(re.sub(r"\r\n?", "\n", text), delsp)
        return _Body("plain", clean_text(text))

    def _attach(
        self,
        part: Message,
        content_type: str,
        disposition: str | None,
        filename: str | None,
        children: list[Message] | None,
    ) -> None:
        index = len(self.attachments) + 1
        if content_type.startswith("message/") and children:
            if content_type in _FORWARDED_MESSAGES:
                data = _serialize(children[0])
                if not filename:
                    filename = _unstructured(str(_guard(lambda: children[0]["subject"], "")))
            else:
                data = b"".join(_serialize(child) for child in children)
        else:
            data = _payload_bytes(part)
        name = safe_filename(filename) if isinstance(filename, str) else None
        extension = _EXTENSIONS.get(content_type, "")
        if name is None:
            name = f"attachment-{index}{extension}"
        elif content_type in _FORWARDED_MESSAGES and not name.lower().endswith(".eml"):
            name = f"{name}.eml"
        content_id = _content_id(part)
        self.attachments.append(
            InboundAttachment(
                filename=name,
                content_type=content_type,
                data=data,
                content_id=content_id,
                inline=disposition == "inline" or (disposition is None and content_id is not None),
            )
        )


def _content_id(part: Message) -> str | None:
    raw = _guard(lambda: part.get_all("content-id"), None)
    if not raw:
        return None
    value = _one_line(str(raw[0])).strip("<> ")
    return value or None


def _is_attachment(content_type: str, disposition: str | None, filename: str | None) -> bool:
    """Whether a leaf part is a file rather than (an alternative of) the message text.

    text/plain and text/html are the message unless they carry a file name or are marked
    ``attachment``; every other type is a file, inline images with a Content-ID included.
    """
    if content_type.startswith("message/") or disposition == "attachment":
        return True
    if content_type in ("text/plain", "text/html"):
        return filename is not None
    return True


def _preferred(alternatives: list[_Body]) -> _Body | None:
    """multipart/alternative: the text/plain version, unless it is blank and HTML is not."""
    for kind in ("plain", "html"):
        for body in alternatives:
            if body.kind == kind and body.text.strip():
                return body
    return alternatives[0] if alternatives else None


def _joined(bodies: list[_Body]) -> _Body | None:
    """multipart/mixed and the like: every text part in order (attachments are elsewhere)."""
    texts = [body for body in bodies if body.text.strip()]
    if not texts:
        return bodies[0] if bodies else None
    if len(texts) == 1:
        return texts[0]
    before_quote: str | None = None
    for index, body in enumerate(texts):
        if body.before_quote is not None:
            before_quote = "\n\n".join([*(b.text for b in texts[:index]), body.before_quote])
            break
    return _Body(texts[0].kind, "\n\n".join(body.text for body in texts), before_quote)


def _reply_text(body: _Body | None, subject: str) -> str:
    """The new text of a reply. A forward keeps everything: the history *is* its content."""
    if body is None:
        return ""
    if _FORWARD.match(subject):
        return body.text
    if body.before_quote is not None:
        reply = strip_quoted_reply(body.before_quote)
        if reply.strip():
            return reply
    reply = strip_quoted_reply(body.text)
    return reply if reply.strip() else body.text
