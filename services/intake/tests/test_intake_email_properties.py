"""Properties of e-mail parsing over input nobody wrote by hand (hypothesis).

The intake endpoint takes raw bytes from the internet: whatever arrives, parse_email either
returns a clean InboundEmail or raises EmailParseError. HTML is never passed through as
markup.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ticketstream.intake.email import (
    EmailParseError,
    InboundEmail,
    html_to_text,
    parse_email,
    strip_quoted_reply,
)

pytestmark = pytest.mark.unit

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_clean(email: InboundEmail) -> None:
    """Every string encodes (no lone surrogates) and one-line fields are one line."""
    for value in (email.from_name, email.from_address, email.subject, email.message_id or ""):
        value.encode("utf-8")
        assert not re.search(r"[\x00-\x1f\x7f]", value)
    for value in (*email.to, *email.cc, *email.delivered_to, *email.references):
        value.encode("utf-8")
        assert "\n" not in value
    for value in (email.text, email.reply_text):
        value.encode("utf-8")
        assert "\x00" not in value
        assert "\r" not in value
    assert email.subject
    assert email.from_address == email.from_address.lower()
    assert "@" in email.from_address
    assert email.date is None or email.date.tzinfo is not None
    for attachment in email.attachments:
        assert attachment.filename
        assert "/" not in attachment.filename
        assert "\\" not in attachment.filename
        assert isinstance(attachment.data, bytes)


def parse_or_reject(raw: bytes) -> InboundEmail | None:
    try:
        email = parse_email(raw)
    except EmailParseError as error:
        reason = str(error)
    else:
        assert_clean(email)
        return email
    assert reason  # a rejection always says why
    return None


# -- arbitrary bytes ------------------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_parse_or_raise_email_parse_error(raw: bytes) -> None:
    parse_or_reject(raw)


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_after_a_valid_from_always_parse(tail: bytes) -> None:
    """With a sender, nothing after it (headers, body, garbage) makes the message unusable."""
    email = parse_or_reject(b"From: Dana <dana@example.com>\r\n" + tail)
    assert email is not None
    assert email.from_address == "dana@example.com"


# -- arbitrary header values ---------------------------------------------------------------

HEADER_NAMES = [
    "Subject",
    "To",
    "Cc",
    "Delivered-To",
    "Reply-To",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Date",
    "Auto-Submitted",
    "Precedence",
    "X-Auto-Response-Suppress",
    "List-Id",
    "Return-Path",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "MIME-Version",
]
TRICKY = [
    "=?",
    "?=",
    "=?utf-8?q?",
    "=?utf-8?b?",
    "=?x-unknown?q?=E9?=",
    "=?utf-8*en?q?x?=",
    "<",
    ">",
    "@",
    '"',
    "\\",
    "(",
    ")",
    ",",
    ";",
    ":",
    "[",
    "]",
    "multipart/mixed; boundary=",
    "text/html; charset=",
    "; filename*=utf-8''%FF",
    "; filename*0*=",
    "undisclosed-recipients:;",
    "\r\n ",
    "\t",
    "\u00e9",
    "\u202e",
    "\ud7ff",
    "\U0001f600",
]
header_text = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(TRICKY)), max_size=12).map(
    "".join
)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_text), max_size=10), st.text())
def test_random_header_values_never_break_parsing(
    headers: list[tuple[str, str]], body: str
) -> None:
    lines = ["From: Dana <dana@example.com>"] + [f"{name}: {value}" for name, value in headers]
    raw = ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8", "surrogatepass")
    email = parse_or_reject(raw)
    assert email is not None
    assert email.from_address == "dana@example.com"


@SETTINGS
@given(header_text)
def test_random_from_values_parse_or_raise_email_parse_error(value: str) -> None:
    parse_or_reject(f"From: {value}\r\nSubject: x\r\n\r\nbody".encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.sampled_from([*HEADER_NAMES, "From"]), st.binary(max_size=200))
def test_random_8bit_header_bytes_never_break_parsing(name: str, value: bytes) -> None:
    first = b"From: dana@example.com\r\n"
    parse_or_reject(first + name.encode() + b": " + value + b"\r\n\r\nbody")


# -- arbitrary MIME trees ------------------------------------------------------------------

CHARSETS = ["utf-8", "iso-8859-1", "windows-1252", "shift_jis", "x-unknown", "utf-16", "rot13", ""]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus"]
LEAF_TYPES = [
    "text/plain",
    "text/html",
    "text/calendar",
    "image/png",
    "application/pdf",
    "message/rfc822",
    "message/delivery-status",
    "application/octet-stream",
]


@st.composite
def mime_part(draw: st.DrawFn, depth: int = 0) -> bytes:
    if depth < 3 and draw(st.booleans()):
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "report", "signed"]))
        boundary = f"b{depth}x{draw(st.integers(0, 99))}"
        children = draw(st.lists(mime_part(depth + 1), max_size=3))
        head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + child + b"\r\n" for child in children)
        closing = b"--" + boundary.encode() + b"--\r\n" if draw(st.booleans()) else b""
        return head + b"preamble\r\n" + body + closing
    content_type = draw(st.sampled_from(LEAF_TYPES))
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    disposition = draw(
        st.sampled_from(["", "inline", "attachment", 'attachment; filename="../x.pdf"'])
    )
    headers = f"Content-Type: {content_type}; charset={charset}\r\n"
    headers += f"Content-Transfer-Encoding: {encoding}\r\n"
    if disposition:
        headers += f"Content-Disposition: {disposition}\r\n"
    if draw(st.booleans()):
        headers += f"Content-ID: <{draw(st.text(max_size=8))}>\r\n"
    payload = draw(
        st.one_of(
            st.binary(max_size=300),
            st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.just(b"From: inner@example.com\r\nSubject: inner\r\n\r\ninner body"),
            st.just(b"<p onclick='x()'>hi<script>alert(1)</script>"),
        )
    )
    return headers.encode("utf-8", "surrogatepass") + b"\r\n" + payload


@SETTINGS
@given(mime_part())
def test_random_mime_structures_never_break_parsing(part: bytes) -> None:
    email = parse_or_reject(b"From: dana@example.com\r\nMIME-Version: 1.0\r\n" + part)
    assert email is not None


# -- HTML -----------------------------------------------------------------------------------

SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_characters="<>&", blacklist_categories=["Cs"]), max_size=20
)
ATTRIBUTE = st.sampled_from(
    [
        ' onclick="steal(document.cookie)"',
        " onclick='x()'",
        " ONCLICK=x()",
        ' onmouseover="x()"',
        ' href="https://example.com/p"',
        ' href="javascript:alert(1)"',
        ' style="display:none"',
        ' class="gmail_quote"',
        ' title="a > b"',
        ' alt="pic"',
        "",
    ]
)
TAG = st.sampled_from(
    ["p", "div", "a", "b", "span", "li", "ul", "td", "tr", "table", "br", "img", "blockquote", "h1"]
)


@st.composite
def html_fragment(draw: st.DrawFn, broken: bool = True) -> str:
    kind = draw(st.integers(0, 7 if broken else 5))
    if kind == 0:
        return draw(SAFE_TEXT)
    if kind == 1:
        return f"<{draw(TAG)}{draw(ATTRIBUTE)}{draw(ATTRIBUTE)}>"
    if kind == 2:
        return f"</{draw(TAG)}>"
    if kind == 3:
        script = draw(st.text(alphabet=st.characters(blacklist_characters="<"), max_size=30))
        return f"<script{draw(ATTRIBUTE)}>SECRET{script}</script>"
    if kind == 4:
        return f"<style>SECRET{{color:red}}{draw(SAFE_TEXT)}</style>"
    if kind == 5:
        return draw(
            st.sampled_from(["&amp;", "&lt;", "&gt;", "&nbsp;", "&#8364;", "&eacute;", "&"])
        )
    if kind == 6:
        return draw(
            st.sampled_from(["<!-- SECRET -->", "<![if !mso]>", "<![bogus", "<!DOCTYPE html>"])
        )
    return draw(st.sampled_from(["<script>SECRET", "<SCRIPT>SECRET", "<scr", "<a onclick='x", "<"]))


def assert_no_markup(text: str) -> None:
    lowered = text.lower()
    assert "<script" not in lowered
    assert "onclick" not in lowered
    assert "onmouseover" not in lowered
    assert "javascript:" not in lowered
    assert "\x00" not in text


@SETTINGS
@given(st.lists(html_fragment(broken=False), max_size=30).map("".join), st.integers(0, 10_000))
def test_html_text_has_no_markup_no_handlers_no_script(markup: str, cut: int) -> None:
    """A document, also cut off anywhere: no <script, no onclick, no script or style content."""
    for document in (markup, markup[: cut % (len(markup) + 1)]):
        text = html_to_text(document)
        assert_no_markup(text)
        assert "SECRET" not in text


@SETTINGS
@given(st.lists(html_fragment(broken=True), max_size=30).map("".join), st.integers(0, 10_000))
def test_broken_html_text_has_no_markup_and_no_handlers(markup: str, cut: int) -> None:
    """With bogus declarations and unfinished tags mixed in, still no markup gets through.

    (Script *content* may show as text here, exactly when a browser would show it too:
    ``<scr<script>x`` is a tag named ``scr<script``, and ``x`` is text.)
    """
    for document in (markup, markup[: cut % (len(markup) + 1)]):
        assert_no_markup(html_to_text(document))


@SETTINGS
@given(st.text(max_size=2000))
def test_html_to_text_never_raises(markup: str) -> None:
    html_to_text(markup)


@SETTINGS
@given(
    st.lists(
        st.one_of(SAFE_TEXT, st.sampled_from(["\n", "> ", ">", " wrote:", "On 3 Mar"])), max_size=40
    ).map("".join)
)
def test_strip_quoted_reply_only_removes_lines(text: str) -> None:
    """The reply text is made of the original's lines, in order, and has no quoted lines."""
    assume("\r" not in text)
    stripped = strip_quoted_reply(text)
    remaining = [line.rstrip() for line in text.split("\n")]
    for line in stripped.split("\n"):
        if line:
            assert not line.lstrip().startswith(">")
            assert line in remaining
            remaining = remaining[remaining.index(line) + 1 :]
