"""Turning the bytes of a mail part or header into text, whatever charset it claims.

Mail in the wild lies about its charset, names charsets Python has never heard of
(``x-unknown``, ``unknown-8bit``) or none at all. Decoding never fails here: the declared
charset is tried strictly (after UTF-8 for Latin labels, see :func:`decode_bytes`), then
UTF-8 (the usual truth behind a wrong label), then the declared charset with replacement
characters, and finally Windows-1252, which maps almost every byte to something readable.
"""

from __future__ import annotations

import binascii
import codecs
import re

__all__ = ["clean_text", "decode_bytes", "decode_header_words", "from_8bit_header"]

_ALIASES: dict[str, str | None] = {
    # No information: fall through to UTF-8, then Windows-1252.
    "x-unknown": None,
    "unknown": None,
    "unknown-8bit": None,
    "x-user-defined": None,
    "default": None,
    "charset": None,
    # What the WHATWG encoding standard (and every browser) does: these labels are really
    # Windows-1252, and mail clients write 0x80-0x9F characters (curly quotes, the euro
    # sign) under them all the time.
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    # Supersets that Windows and Outlook actually produce under the narrower name.
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "ms_kanji": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "x-mac-roman": "mac_roman",
}

# Codecs that are not charsets a mail part can honestly be written in; decoding with them
# is at best meaningless (``unicode_escape`` interprets backslashes) and at worst raises.
_REFUSED = frozenset(
    {"idna", "punycode", "unicode_escape", "raw_unicode_escape", "undefined", "mbcs", "oem"}
)

_LATIN = frozenset({"cp1252", "iso8859-1", "iso8859-15"})

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEWLINES = re.compile(r"\r\n?")


def codec_for(charset: str | None) -> str | None:
    """The Python codec to decode ``charset`` with, or None when there is no usable one."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    if not label or len(label) > 64:
        return None
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _REFUSED:
        return None
    return info.name


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode ``data`` written in ``charset`` (any label, or None); never raises."""
    codec = codec_for(charset)
    if codec in _LATIN:
        # Windows-1252 accepts almost any byte, so it would "succeed" on UTF-8 text that
        # carries a Latin label (a common mislabel); real Latin-1 text with accents is
        # practically never valid UTF-8, so UTF-8 goes first for these labels.
        try:
            return _strip_bom(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    if codec is not None:
        try:
            return _strip_bom(data.decode(codec))
        except (UnicodeError, LookupError):
            pass
    try:
        return _strip_bom(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if codec is not None:
        try:
            return _strip_bom(data.decode(codec, "replace"))
        except (UnicodeError, LookupError):
            pass
    return data.decode("cp1252", "replace")


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def from_8bit_header(value: str) -> str:
    """A header value with its raw 8-bit bytes decoded (UTF-8, else Windows-1252).

    The standard library parses headers as ASCII and keeps any other byte as a lone
    surrogate (``surrogateescape``); such a string cannot be encoded, logged as JSON or put
    in an event. RFC 6532 makes UTF-8 the right guess; legacy mailers send Latin-1.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def clean_text(text: str) -> str:
    """Body text with unified newlines, no control characters and no trailing blanks.

    Tabs and newlines stay; other C0 controls (NUL included) and DEL are removed; trailing
    white space is cut from every line and blank lines from both ends of the text.
    """
    text = _CONTROL.sub("", _NEWLINES.sub("\n", from_8bit_header(text)))
    lines = [line.rstrip() for line in text.split("\n")]
    start, end = 0, len(lines)
    while start < end and not lines[start]:
        start += 1
    while end > start and not lines[end - 1]:
        end -= 1
    return "\n".join(lines[start:end])


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    data = payload.encode("utf-8", "surrogateescape")
    try:
        if encoding in "bB":
            data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
            return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return None


def decode_header_words(value: str) -> str:
    """Decode the RFC 2047 encoded words (``=?charset?B|Q?...?=``) in a header value.

    Done here rather than by ``policy.default`` so that every charset label is decoded the
    way bodies are (:func:`decode_bytes`: ``x-unknown``, mislabelled Windows-1252, Shift_JIS
    extensions), and so that a multi-byte character split across two adjacent encoded
    words (which some mailers produce) is joined before decoding. White space between
    adjacent encoded words is dropped, as RFC 2047 says; malformed words stay as written.
    """
    pieces: list[str] = []
    run: bytearray | None = None
    run_charset = ""
    position = 0
    after_word = False

    def flush() -> None:
        nonlocal run
        if run is not None:
            pieces.append(decode_bytes(bytes(run), run_charset))
            run = None

    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        position = match.end()
        charset = match.group(1).split("*", 1)[0]
        data = _word_bytes(match.group(2), match.group(3))
        adjacent = after_word and not between.strip()
        joins = adjacent and data is not None and charset.lower() == run_charset.lower()
        if run is not None and not joins:
            flush()
        if not adjacent or data is None:
            pieces.append(between)
        if data is None:
            pieces.append(match.group(0))
            after_word = False
            continue
        if run is None:
            run, run_charset = bytearray(), charset
        run += data
        after_word = True
    flush()
    pieces.append(value[position:])
    return "".join(pieces)
