"""parse_email and its text steps, one behaviour at a time (the corpus is in *_samples.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from ticketstream.intake.email import (
    EmailParseError,
    html_to_text,
    parse_email,
    safe_filename,
    strip_quoted_reply,
)
from ticketstream.intake.email.charsets import decode_bytes, decode_header_words

pytestmark = pytest.mark.unit


def message(*headers: str, body: str = "Hello.", content_type: str | None = None) -> bytes:
    lines = list(headers)
    if not any(h.lower().startswith("from:") for h in headers):
        lines.insert(0, "From: Dana <dana@example.com>")
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8")


# -- not an e-mail -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b" \r\n\t ", "empty"),
        (b"just some text without any header\n", "not an RFC 822 message"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not an RFC 822 message"),
        (b"Subject: hi\r\nTo: a@example.com\r\n\r\nbody", "no From header"),
        (b"From: Dana Whitfield\r\n\r\nbody", "no e-mail address"),
        (b"From: undisclosed-recipients:;\r\n\r\nbody", "no e-mail address"),
    ],
)
def test_input_that_is_not_an_email_raises_a_clear_error(raw: bytes, reason: str) -> None:
    with pytest.raises(EmailParseError, match=reason):
        parse_email(raw)


def test_email_parse_error_is_a_value_error() -> None:
    assert issubclass(EmailParseError, ValueError)


def test_a_string_is_a_programming_error_not_a_parse_error() -> None:
    with pytest.raises(TypeError, match="bytes"):
        parse_email("From: a@example.com\n\nhi")  # type: ignore[arg-type]


# -- headers -------------------------------------------------------------------------------------


def test_from_address_is_lower_cased_and_name_decoded() -> None:
    email = parse_email(message("From: =?utf-8?q?Ren=C3=A9e_Dupont?= <Renee.DUPONT@Example.FR>"))
    assert email.from_address == "renee.dupont@example.fr"
    assert email.from_name == "Renée Dupont"


def test_from_with_a_broken_address_syntax_still_finds_the_address() -> None:
    email = parse_email(message('From: "Dana, W. <dana@example.com>'))
    assert email.from_address == "dana@example.com"


def test_message_ids_are_normalized_with_angle_brackets() -> None:
    email = parse_email(
        message(
            "Message-ID:   abc.123@mail.example.com  ",
            "In-Reply-To: <first@example.com> (Dana's message of Mon, 3 Mar 2025)",
            "References: <a@example.com>\r\n <b@example.com>\r\n\t<a@example.com> <c@example.com>",
        )
    )
    assert email.message_id == "<abc.123@mail.example.com>"
    assert email.in_reply_to == ("<first@example.com>",)
    assert email.references == ("<a@example.com>", "<b@example.com>", "<c@example.com>")


def test_hostile_reference_lists_are_bounded_keeping_the_newest() -> None:
    ids = " ".join(f"<r{n}@example.com>" for n in range(500))
    email = parse_email(message(f"References: {ids}"))
    assert len(email.references) == 100
    assert email.references[-1] == "<r499@example.com>"


def test_recipients_and_envelope_recipients() -> None:
    email = parse_email(
        message(
            'To: "Support, IT" <support@helpdesk.example>, other@example.com',
            "Cc: Boss <Boss@Example.com>, boss@example.com",
            "Delivered-To: support+4K7Q2M9X.abcdefghij@helpdesk.example",
            "X-Original-To: support@helpdesk.example",
            "Reply-To: Dana Private <dana.private@example.org>",
        )
    )
    assert email.to == ("support@helpdesk.example", "other@example.com")
    assert email.cc == ("Boss@Example.com",)  # deduplicated case-insensitively
    assert email.delivered_to == (
        "support+4K7Q2M9X.abcdefghij@helpdesk.example",
        "support@helpdesk.example",
    )
    assert email.reply_to == ("dana.private@example.org",)


def test_subject_is_one_line_without_control_characters() -> None:
    email = parse_email(message("Subject: first line\r\n second\tline \x07bell"))
    assert email.subject == "first line second line bell"


def test_raw_utf8_subject_is_decoded() -> None:
    raw = b"From: a@example.com\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nhi"
    assert parse_email(raw).subject == "Grüße"


def test_raw_latin1_subject_is_decoded() -> None:
    raw = b"From: a@example.com\r\nSubject: Gr\xfc\xdfe\r\n\r\nhi"
    assert parse_email(raw).subject == "Grüße"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=?utf-8?q?caf=C3=A9?=", "café"),
        ("=?UTF-8?B?Y2Fmw6k=?= au lait", "café au lait"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # white space between encoded words goes
        ("a =?utf-8?q?b?= c", "a b c"),
        ("=?utf-8?b?8J+Y?= =?utf-8?b?gg==?=", "😂"),  # a character split across two words
        ("=?iso-8859-1?q?=93quoted=94?=", "\u201cquoted\u201d"),  # Windows-1252 in disguise
        ("=?x-unknown?q?caf=E9?=", "café"),
        ("=?utf-8*en?q?hello?=", "hello"),  # RFC 2231 language tag
        ("=?utf-8?x?not-a-word?=", "=?utf-8?x?not-a-word?="),
    ],
)
def test_encoded_words(raw: str, expected: str) -> None:
    assert decode_header_words(raw) == expected


def test_date_is_timezone_aware() -> None:
    email = parse_email(message("Date: Mon, 3 Mar 2025 10:02:05 +0100"))
    assert email.date == datetime(2025, 3, 3, 9, 2, 5, tzinfo=UTC)
    assert parse_email(message("Date: Mon, 3 Mar 2025 10:02:05 -0000")).date == datetime(
        2025, 3, 3, 10, 2, 5, tzinfo=UTC
    )


@pytest.mark.parametrize("value", ["yesterday", "Mon, 99 Foo 2025 99:99:99 +9999", ""])
def test_bad_date_is_none(value: str) -> None:
    assert parse_email(message(f"Date: {value}")).date is None


def test_empty_subject_becomes_no_subject() -> None:
    assert parse_email(message("Subject:   ")).subject == "(no subject)"
    assert parse_email(message()).subject == "(no subject)"


# -- automation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated; owner-email=ops@example.com",
        "Auto-Submitted: auto-notified",
        "X-Autoreply: yes",
        "X-Autorespond: Vacation",
        "X-Auto-Response-Suppress: All",
        "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply",
        "Precedence: bulk",
        "Precedence: junk",
        "Precedence: list",
        "Precedence: auto_reply",
        "List-Id: <team.lists.example.com>",
        "Subject: Out of Office: Printer",
        "Subject: Out of Office AutoReply: Printer",
        "Subject: Automatic reply: Printer",
        "Subject: Auto: Printer",
        "Subject: Autoreply: Printer",
        "Subject: Auto-Reply: Printer",
        "Subject: Automatische Antwort: Drucker",
        "Subject: Abwesenheitsnotiz: Drucker",
        "Subject: Réponse automatique : Imprimante",
        "Subject: Respuesta automática: Impresora",
    ],
)
def test_auto_submitted(header: str) -> None:
    email = parse_email(message(header))
    assert email.auto_submitted
    assert email.automated
    assert email.auto_reasons


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: no",
        "Auto-Submitted: No ; comment",
        "Precedence: first-class",
        "X-Auto-Response-Suppress: DR, RN",
        "Subject: Re: out of office hours support question",
        "Subject: Automation of our reports",
        "Subject: Autumn offsite",
    ],
)
def test_not_auto_submitted(header: str) -> None:
    email = parse_email(message(header))
    assert not email.auto_submitted
    assert email.auto_reasons == ()


@pytest.mark.parametrize(
    "headers",
    [
        ("From: MAILER-DAEMON@mx.example.com", "Return-Path: <>"),
        ("From: Mail Delivery Subsystem <postmaster@mx.example.com>", "Return-Path: < >"),
        ("X-Failed-Recipients: nobody@example.com",),
    ],
)
def test_bounce_by_sender_and_null_return_path(headers: tuple[str, ...]) -> None:
    email = parse_email(message(*headers))
    assert email.is_bounce
    assert email.bounce_reason


def test_mailer_daemon_without_null_sender_is_not_taken_for_a_bounce() -> None:
    email = parse_email(message("From: postmaster@example.com", "Return-Path: <a@example.com>"))
    assert not email.is_bounce


# -- bodies ------------------------------------------------------------------------------------


def test_multipart_alternative_prefers_plain_text() -> None:
    raw = message(
        content_type='multipart/alternative; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/html\r\n\r\n<p>From the <b>HTML</b></p>\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nFrom the plain part\r\n--b--\r\n"
        ),
    )
    assert parse_email(raw).text == "From the plain part"


def test_blank_plain_alternative_falls_back_to_html() -> None:
    raw = message(
        content_type='multipart/alternative; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\n \r\n"
            "--b\r\nContent-Type: text/html\r\n\r\n<p>Only the HTML has text</p>\r\n--b--\r\n"
        ),
    )
    assert parse_email(raw).text == "Only the HTML has text"


def test_multipart_mixed_text_parts_are_joined_in_order() -> None:
    raw = message(
        content_type='multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nFirst part.\r\n"
            "--b\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nSecond part.\r\n--b--\r\n"
        ),
    )
    email = parse_email(raw)
    assert email.text == "First part.\n\nSecond part."
    assert [a.filename for a in email.attachments] == ["attachment-1.jpg"]


def test_multipart_without_boundary_is_read_as_text() -> None:
    raw = message(content_type="multipart/mixed", body="No boundary here.")
    assert parse_email(raw).text == "No boundary here."


def test_text_attachment_is_not_the_body() -> None:
    raw = message(
        content_type='multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nSee the log.\r\n"
            "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
            'filename="server.log"\r\n\r\nERROR 1\r\n--b--\r\n'
        ),
    )
    email = parse_email(raw)
    assert email.text == "See the log."
    (log,) = email.attachments
    assert (log.filename, log.content_type, log.data) == ("server.log", "text/plain", b"ERROR 1")


def test_calendar_alternative_is_an_attachment() -> None:
    raw = message(
        content_type='multipart/alternative; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nMeeting\r\n"
            "--b\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\n"
            "--b--\r\n"
        ),
    )
    email = parse_email(raw)
    assert email.text == "Meeting"
    assert [a.filename for a in email.attachments] == ["attachment-1.ics"]


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("utf-8", "café".encode(), "café"),
        ("iso-8859-1", b"caf\xe9 \x80", "café €"),  # Latin-1 label, Windows-1252 bytes
        ("us-ascii", b"caf\xc3\xa9", "café"),  # wrong label, UTF-8 bytes
        ("x-unknown", b"caf\xe9", "café"),
        ("no-such-charset", "café".encode(), "café"),
        ("rot13", b"uryyb", "uryyb"),  # not a charset: ignored, not applied
        ("unicode_escape", b"\\u0041", "\\u0041"),
        ("shift_jis", "①番".encode("cp932"), "①番"),  # Windows extensions of Shift_JIS
        ("utf-8", b"\xff\xfe broken \xc3", "\ufffd\ufffd broken \ufffd"),
    ],
)
def test_any_charset_decodes(charset: str, body: bytes, expected: str) -> None:
    assert decode_bytes(body, charset) == expected
    raw = (
        b"From: a@example.com\r\nContent-Type: text/plain; charset="
        + charset.encode()
        + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
    )
    assert parse_email(raw).text == expected


def test_broken_base64_body_does_not_crash() -> None:
    raw = message(
        "Content-Transfer-Encoding: base64", content_type="text/plain", body="SGVsbG8gd29y!!!"
    )
    assert parse_email(raw).text.startswith("Hello wor")


def test_text_has_no_control_characters() -> None:
    email = parse_email(message(body="a\x00b\x1bc\r\nline\rtwo\x7f"))
    assert email.text == "abc\nline\ntwo"


def test_deeply_nested_multiparts_are_cut_off_not_crashed_on() -> None:
    depth = 200
    body = "".join(
        f'--b{n}\r\nContent-Type: multipart/mixed; boundary="b{n + 1}"\r\n\r\n'
        for n in range(depth)
    )
    body += f"--b{depth}\r\nContent-Type: text/plain\r\n\r\ndeep\r\n"
    raw = message(content_type='multipart/mixed; boundary="b0"', body=body)
    email = parse_email(raw)
    assert email.text == ""


# -- HTML ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<div>One</div>\n  <div>Two</div>", "One\nTwo"),
        ("One<br>Two<br><br>Three", "One\nTwo\n\nThree"),
        ('<p class="MsoNormal">One</p><p class="MsoNormal">Two</p>', "One\nTwo"),
        ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),
        ("<b>bold</b>   and\n\n  <i>italic</i>", "bold and italic"),
        (
            "&lt;b&gt; is a tag &amp; &copy; &#169; &#xA9; &unknown; &amp",
            "<b> is a tag & © © © &unknown &",
        ),
        ("<script>alert(1)</script>Hi", "Hi"),
        ("<SCRIPT type=text/javascript>alert(1)</SCRIPT>Hi", "Hi"),
        ("<style>p{color:red}</style>Hi", "Hi"),
        ("<p onclick='steal()' onmouseover=\"x()\">Hi</p>", "Hi"),
        ('<a href="https://example.com/x">the page</a>', "the page (https://example.com/x)"),
        ('<a href="https://example.com/x">https://example.com/x</a>', "https://example.com/x"),
        ('<a href="javascript:steal()">link</a>', "link"),
        ('<img src="x.png" alt="diagram">', "[diagram]"),
        ("<title>Hidden</title><body>Shown</body>", "Shown"),
        ("<title>Unclosed<body>Shown</body>", "Shown"),
        ("Hi <script>alert(1)", "Hi"),
        ("Hi <script", "Hi"),
        ('Hi <a onclick="x', "Hi"),
        ("Hi <!-- unclosed comment", "Hi"),
        ("Hi <![bogus]> there", "Hi there"),
        ("a < b and c > d", "a < b and c > d"),
        ("x\u200by\u00adz", "xyz"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
    ],
)
def test_html_to_text(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


# -- quoted history ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "New text\n\nOn Mon, 3 Mar 2025 at 10:14, Support <s@x.example> wrote:\n> old\n> older",
            "New text",
        ),
        (
            "New text\nOn Mon, Mar 3, 2025 at 10:14 AM Support <s@x.example>\nwrote:\n\n> old",
            "New text",
        ),
        ("New\n\nOn 03/03/2025 10:14, Support wrote:\nold unquoted history", "New"),
        ("New\n\nAm 03.03.2025 um 10:14 schrieb Support <s@x.example>:\n> alt", "New"),
        ("Neu\n\nAm Mo., 3. März 2025 um 10:14 Uhr schrieb Support:\nalt", "Neu"),
        ("Nouveau\n\nLe 3 mars 2025 à 10:14, Support <s@x.example> a écrit :\n> ancien", "Nouveau"),
        ("Nuevo\n\nEl lun, 3 mar 2025 a las 10:14, Support escribió:\n> viejo", "Nuevo"),
        ("Nieuw\n\nOp ma 3 mrt 2025 om 10:14 schreef Support <s@x.example>:\n> oud", "Nieuw"),
        ("New\n\n-----Original Message-----\nFrom: a\nold", "New"),
        ("Neu\n\n-----Ursprüngliche Nachricht-----\nVon: a\nalt", "Neu"),
        (
            "New\n\n________________________________\nFrom: Support <s@x.example>\n"
            "Sent: Monday, March 3, 2025 10:14 AM\nTo: Dana\nSubject: Printer\n\nold",
            "New",
        ),
        (
            "New\n\n*From:* Support <s@x.example>\n*Sent:* Monday\n*To:* Dana\n*Subject:* P\n\nold",
            "New",
        ),
        ("Neu\n\nVon: Support\nGesendet: Montag\nAn: Dana\nBetreff: Drucker\n\nalt", "Neu"),
        (
            "Nouveau\n\nDe : Support\nEnvoyé : lundi\nÀ : Dana\nObjet : Imprimante\n\nancien",
            "Nouveau",
        ),
        # inline answers between quoted blocks are kept
        (
            "Dana wrote:\n> question one\nanswer one\n> question two\nanswer two",
            "answer one\nanswer two",
        ),
        # no history: unchanged
        (
            "Just text.\nFrom: the 3rd floor, sent by me",
            "Just text.\nFrom: the 3rd floor, sent by me",
        ),
        (
            "On Monday the printer broke.\nIt wrote: garbage",
            "On Monday the printer broke.\nIt wrote: garbage",
        ),
    ],
)
def test_strip_quoted_reply(text: str, expected: str) -> None:
    assert strip_quoted_reply(text) == expected


def test_reply_made_only_of_quotes_keeps_the_full_text() -> None:
    body = "On Mon, 3 Mar 2025 at 10:14, Support <s@x.example> wrote:\n> everything quoted"
    email = parse_email(message("Subject: Re: x", body=body))
    assert email.reply_text == email.text == body


def test_bottom_posted_reply_keeps_the_new_text_below_the_quote() -> None:
    body = "On Mon, 3 Mar 2025 at 10:14, Support <s@x.example> wrote:\n> question?\n\nMy answer."
    assert parse_email(message(body=body)).reply_text == "My answer."


def test_a_forward_keeps_its_history() -> None:
    body = "FYI\n\n-----Original Message-----\nFrom: vendor\nThe important part."
    email = parse_email(message("Subject: FW: contract", body=body))
    assert email.reply_text == email.text == body


def test_gmail_html_quote_is_cut_at_the_quote_container() -> None:
    html = (
        '<div dir="ltr">Works now.</div><div class="gmail_quote"><div class="gmail_attr">'
        "Earlier someone said:</div><blockquote>old text</blockquote></div>"
    )
    email = parse_email(message(content_type="text/html; charset=utf-8", body=html))
    assert "old text" in email.text
    assert email.reply_text == "Works now."


def test_apple_mail_blockquote_cite_is_cut() -> None:
    html = '<div>Done.</div><br><blockquote type="cite"><div>old</div></blockquote>'
    email = parse_email(message(content_type="text/html", body=html))
    assert email.reply_text == "Done."


# -- file names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\dana\\report.pdf", "report.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ('a<b>c:"d"|e?f*.txt', "a_b_c__d__e_f_.txt"),
        ("  .hidden  ", "hidden"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("...", None),
        ("", None),
        ("\x00\x01", None),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
        ("é" * 150 + ".txt", "é" * 98 + ".txt"),
    ],
)
def test_safe_filename(name: str, expected: str | None) -> None:
    assert safe_filename(name) == expected


def test_unnamed_attachments_are_numbered() -> None:
    raw = message(
        content_type='multipart/mixed; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nTwo files.\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\n\r\nAAAA\r\n"
            "--b\r\nContent-Type: application/pdf\r\n"
            'Content-Disposition: attachment; filename="..."\r\n\r\n%PDF\r\n--b--\r\n'
        ),
    )
    names = [a.filename for a in parse_email(raw).attachments]
    assert names == ["attachment-1", "attachment-2.pdf"]


# -- hostile sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        lambda: html_to_text("<a href='https://x.example/'>t" * 20_000 + "</a>" * 20_000),
        lambda: html_to_text("<div>" * 50_000 + "&amp;" * 50_000 + "<" * 50_000),
        lambda: strip_quoted_reply(("On 1 2 3 " * 40 + "\n") * 20_000),
        lambda: strip_quoted_reply("From: x\nSent: y\n" * 50_000),
        lambda: parse_email(
            b"From: a@example.com\r\nReferences: " + b"<x@y> " * 100_000 + b"\r\n\r\nx"
        ),
    ],
    ids=["link-soup", "tag-soup", "attribution-lookalikes", "header-lookalikes", "references"],
)
def test_hostile_input_is_handled_in_linear_time(run: Callable[[], object]) -> None:
    """Each of these takes far longer with a backtracking regex or a quadratic join."""
    started = time.perf_counter()
    run()
    assert time.perf_counter() - started < 5
