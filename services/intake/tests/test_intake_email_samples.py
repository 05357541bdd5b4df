"""The corpus under ``tests/emails/``: real-world-shaped messages and what parsing makes of each.

Every ``.eml`` file in the folder must appear in one of the two tables below, so a sample
cannot be added without saying what it is expected to produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ticketstream.intake.email import EmailParseError, InboundEmail, parse_email

pytestmark = pytest.mark.unit

EMAILS = Path(__file__).parent / "emails"


@dataclass(frozen=True)
class Expected:
    from_address: str
    subject: str
    from_name: str = ""
    message_id: str | None = None
    to: tuple[str, ...] | None = None
    text_has: tuple[str, ...] = ()
    """Fragments the text must contain."""
    reply_text: str | None = None
    """The exact reply text; None: the same as the text."""
    attachments: tuple[tuple[str, str], ...] = ()
    """(file name, content type), in MIME order."""
    in_reply_to: tuple[str, ...] = ()
    auto_submitted: bool = False
    is_bounce: bool = False
    date: datetime | None = None


SIGNED_1 = "<ts.4K7Q2M9X.aaaabbbbcccc.ddddeeeeff@helpdesk.example>"
SIGNED_2 = "<ts.4K7Q2M9X.bbbbccccdddd.eeeeffffgg@helpdesk.example>"
SIGNED_3 = "<ts.4K7Q2M9X.ccccddddeeee.ffffgggghh@helpdesk.example>"

SAMPLES: dict[str, Expected] = {
    "plain_text.eml": Expected(
        from_address="dana.whitfield@example.com",
        from_name="Dana Whitfield",
        subject="Printer on the 3rd floor keeps jamming",
        message_id="<CAF3p9kYq2u1-dana-0001@mail.example.com>",
        to=("support@helpdesk.example",),
        text_has=("jams on every second page", "Could someone have a look?\n\nThanks,\nDana"),
        date=datetime(2025, 3, 3, 9, 2, 5, tzinfo=UTC),
    ),
    "gmail_reply.eml": Expected(
        from_address="dana.whitfield@gmail.com",
        from_name="Dana Whitfield",
        subject="Re: [#4K7Q2M9X] Printer on the 3rd floor keeps jamming",
        message_id="<CAF3p9kZ7hQ-dana-0002@mail.gmail.com>",
        to=("support+4K7Q2M9X.abcdefghij@helpdesk.example",),
        text_has=("works again", "> we restarted the print server"),
        reply_text="Thanks, the printer works again after the restart.\n\nDana",
        in_reply_to=(SIGNED_2,),
    ),
    "outlook_reply.eml": Expected(
        from_address="m.nowak@contoso.example",
        from_name="Marek Nowak",
        subject="RE: [#4K7Q2M9X] Printer on the 3rd floor keeps jamming",
        message_id="<AM0PR05MB6641A1B2C3D4E5F6@AM0PR05MB6641.eurprd05.prod.outlook.com>",
        text_has=("\u201cPC LOAD LETTER\u201d", "3 \u20ac coins", "-----Original Message-----"),
        reply_text=(
            "Hi team,\n\nI tried again \u2013 still the same error \u201cPC LOAD LETTER\u201d. "
            "The printer shows 3 \u20ac coins icon, no idea why.\n\n"
            "Regards\nMarek Nowak\nFacilities"
        ),
        in_reply_to=(SIGNED_3,),
    ),
    "outlook_web_html_reply.eml": Expected(
        from_address="priya.raman@fabrikam.example",
        from_name="Priya Raman",
        subject="Re: [#7QX2M4KD] Badge reader at the main entrance",
        text_has=("still rejects my card", "Sent: Tuesday, March 4, 2025", "re-encoded"),
        reply_text=(
            "The badge reader at the main entrance still rejects my card.\nCard number: 0047-1121"
        ),
        in_reply_to=("<ts.7QX2M4KD.hhhhiiiijjjj.kkkkllllmm@helpdesk.example>",),
    ),
    "html_only.eml": Expected(
        from_address="orders@cafe-co.example",
        from_name="Cafe & Co",
        subject="Your order #1042",
        text_has=(
            "Café & Co \u2013 order #1042",
            "€ 42.50 (€42.50 incl. VAT)",
            "- 2\u00d7 Espresso\n- 1\u00d7 Croissant",
            "View your order (https://shop.example/orders/1042) or click here.",
            "[Café logo]",
            "5 < 7 and 7 > 5 — \"quoted\" 'single'",
        ),
    ),
    "latin1_quoted_printable.eml": Expected(
        from_address="juergen.weiss@example.de",
        from_name="Jürgen Weiß",
        subject="Outlook startet nicht mehr nach dem Update \u2013 dringend",
        text_has=("Die Datei größer als 2 GB", "Grüße aus München\nJürgen Weiß"),
    ),
    "windows1252_base64.eml": Expected(
        from_address="sean.obrien@example.ie",
        from_name="Seán O\u2019Brien",
        subject="Invoice INV-2025-0117 amount is wrong",
        message_id="<000001db8d9c$1a2b3c40$4e5f6a70$@example.ie>",
        text_has=("\u201cINV-2025-0117\u201d shows €1,250.00 \u2013 but", "It\u2019s urgent…"),
    ),
    "shift_jis.eml": Expected(
        from_address="taro.yamada@example.jp",
        from_name="山田 太郎",
        subject="プリンターが動きません",
        text_has=("3階のプリンターが動きません。", "山田 太郎"),
    ),
    "rfc2047_headers.eml": Expected(
        from_address="zoe.angstrom@example.se",
        from_name="Zoë Ångström",
        subject="VPN fungerar inte \u2013 kan inte logga in 😂",
        to=("support@helpdesk.example", "bjorn@example.se"),
        text_has=('säger "autentisering misslyckades"',),
    ),
    "attachments.eml": Expected(
        from_address="lena.fischer@example.com",
        from_name="Lena Fischer",
        subject="Screenshot of the error and the report",
        text_has=("Hi, the report fails with the error in the screenshot below.\nThe generated",),
        attachments=(
            ("attachment-1.png", "image/png"),
            ("Quarterly report.pdf", "application/pdf"),
            ("Résumé.txt", "application/octet-stream"),
            ("attachment-4.xls", "application/vnd.ms-excel"),
        ),
    ),
    "out_of_office.eml": Expected(
        from_address="m.nowak@contoso.example",
        from_name="Marek Nowak",
        subject="Automatic reply: [#4K7Q2M9X] Printer on the 3rd floor keeps jamming",
        text_has=("out of the office until March 10",),
        in_reply_to=(SIGNED_3,),
        auto_submitted=True,
    ),
    "vacation_autoreply.eml": Expected(
        from_address="jane.doe@example.org",
        from_name="Jane Doe",
        subject="Out of Office: Re: [#9PZ3KQ7T] Password reset",
        text_has=("on vacation",),
        auto_submitted=True,
    ),
    "bounce_delivery_status.eml": Expected(
        from_address="mailer-daemon@mx.helpdesk.example",
        subject="Undelivered Mail Returned to Sender",
        text_has=("could not\nbe delivered", "<nobody@nonexistent.example>"),
        attachments=(
            ("attachment-1.txt", "message/delivery-status"),
            ("[#4K7Q2M9X] Your ticket was received.eml", "message/rfc822"),
        ),
        auto_submitted=True,
        is_bounce=True,
    ),
    "mailing_list.eml": Expected(
        from_address="announce@lists.vendor.example",
        from_name="Release Announcements",
        subject="[vendor-announce] Version 4.2 released",
        text_has=("Version 4.2 is out.",),
        auto_submitted=True,
    ),
    "unknown_charset.eml": Expected(
        from_address="legacy@mainframe.example",
        subject="café machine broken",
        text_has=("The café € CAFE machine on floor 2 is broken.",),
        date=datetime(2025, 3, 12, 7, 7, 7, tzinfo=UTC),
    ),
    "no_message_id.eml": Expected(
        from_address="scanner@office.example",
        subject="(no subject)",
        text_has=("Scan job 4711 failed",),
    ),
    "german_reply_flowed.eml": Expected(
        from_address="juergen.weiss@example.de",
        from_name="Jürgen Weiß",
        subject="AW: [#5RT8WQ2N] Konto gesperrt",
        # format=flowed: the soft break after "die " is joined again.
        text_has=("weiterhin die Meldung", "> wir haben Ihr Konto entsperrt."),
        reply_text=(
            "Hallo,\n\nleider funktioniert der Zugang immer noch nicht. Ich bekomme weiterhin "
            'die Meldung "Konto gesperrt".\n\nViele Grüße\nJürgen'
        ),
        in_reply_to=("<not-signed-0001@example.de>",),
    ),
    "french_reply.eml": Expected(
        from_address="celine.martin@example.fr",
        from_name="Céline Martin",
        subject="RE: [#3HJK8MNB] Imprimante en panne",
        text_has=("a écrit :\nBonjour Céline",),
        reply_text="Bonjour,\n\nMerci, l'imprimante fonctionne à nouveau.\n\nCéline",
    ),
    "forwarded_rfc822.eml": Expected(
        from_address="lena.fischer@example.com",
        from_name="Lena Fischer",
        subject="Fwd: Overdue invoice 7781",
        # A forward keeps its "history": it is what the requester wants us to read.
        text_has=("We paid it last week.", "Invoice 7781 is 30 days overdue."),
        attachments=(("Overdue invoice 7781.eml", "message/rfc822"),),
    ),
}

NOT_EMAIL: dict[str, str] = {
    "no_from.eml": "no From header",
}


def load(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def test_every_sample_has_an_expectation() -> None:
    on_disk = {path.name for path in EMAILS.glob("*.eml")}
    assert on_disk == set(SAMPLES) | set(NOT_EMAIL)
    assert len(on_disk) >= 15


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_parses_as_expected(name: str) -> None:
    expected = SAMPLES[name]
    email = parse_email(load(name))

    assert email.from_address == expected.from_address
    assert email.from_name == expected.from_name
    assert email.subject == expected.subject
    if expected.message_id is not None:
        assert email.message_id == expected.message_id
    if expected.to is not None:
        assert email.to == expected.to
    for fragment in expected.text_has:
        assert fragment in email.text
    assert email.reply_text == (
        expected.reply_text if expected.reply_text is not None else email.text
    )
    assert [(a.filename, a.content_type) for a in email.attachments] == list(expected.attachments)
    assert email.in_reply_to == expected.in_reply_to
    assert email.auto_submitted is expected.auto_submitted
    assert bool(email.auto_reasons) is expected.auto_submitted
    assert email.is_bounce is expected.is_bounce
    if expected.date is not None:
        assert email.date == expected.date


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_values_are_clean_text(name: str) -> None:
    """Whatever the source encoding, every string is valid Unicode, ready for an event."""
    email = parse_email(load(name))
    single_line = [email.from_name, email.from_address, email.subject, *email.to, *email.cc]
    for value in single_line:
        value.encode("utf-8")
        assert "\n" not in value
        assert "\r" not in value
    for value in (email.text, email.reply_text):
        value.encode("utf-8")
        assert "\r" not in value
        assert "\x00" not in value
    assert email.date is None or email.date.tzinfo is not None
    assert email.message_id is None or (
        email.message_id.startswith("<") and email.message_id.endswith(">")
    )


@pytest.mark.parametrize(("name", "message"), sorted(NOT_EMAIL.items()))
def test_sample_that_is_not_an_email_is_rejected(name: str, message: str) -> None:
    with pytest.raises(EmailParseError, match=message):
        parse_email(load(name))


def test_no_message_id_and_no_date_are_none() -> None:
    email = parse_email(load("no_message_id.eml"))
    assert email.message_id is None
    assert email.date is None
    assert email.references == ()


def test_gmail_reply_keeps_the_reference_chain_oldest_first() -> None:
    email = parse_email(load("gmail_reply.eml"))
    assert email.references == (SIGNED_1, SIGNED_2)


def test_html_only_body_is_sanitized() -> None:
    text = parse_email(load("html_only.eml")).text
    lowered = text.lower()
    for leftover in ("<script", "onclick", "onload", "alert(", "document.cookie", "font-family"):
        assert leftover not in lowered
    assert "not text" not in text  # markup inside a script is script, not text
    assert "Your order confirmation" not in text  # <title> is not shown
    assert "a comment that must vanish" not in text
    assert "javascript:" not in text
    assert "&" not in text.replace("Café & Co", "")  # every entity decoded


def test_outlook_html_alternative_reads_like_its_plain_alternative() -> None:
    """Prefer text/plain; the HTML alternative of the same Outlook mail converts cleanly too."""
    email = parse_email(load("outlook_reply.eml"))
    assert email.text.startswith("Hi team,\n\nI tried again")


def test_attachment_bytes_and_inline_image() -> None:
    email = parse_email(load("attachments.eml"))
    image, pdf, resume, sheet = email.attachments
    assert image.inline
    assert image.content_id == "screenshot.1@example.com"
    assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert not pdf.inline
    assert pdf.data.startswith(b"%PDF-1.4")
    assert pdf.size == len(pdf.data)
    # "../../etc/Résumé<RLO>.txt": directories and the right-to-left override are gone.
    assert resume.filename == "Résumé.txt"
    assert resume.data == b"not really a passwd file"
    assert sheet.data.startswith(b"PK\x03\x04")


def test_forwarded_message_is_attached_as_eml() -> None:
    email = parse_email(load("forwarded_rfc822.eml"))
    (forwarded,) = email.attachments
    inner = parse_email(forwarded.data)
    assert inner.from_address == "ap@supplier.example"
    assert inner.message_id == "<inv-7781@supplier.example>"
    assert inner.text == "Invoice 7781 is 30 days overdue."


def test_bounce_keeps_the_returned_message() -> None:
    email = parse_email(load("bounce_delivery_status.eml"))
    assert email.automated
    status, returned = email.attachments
    assert b"Status: 5.4.4" in status.data
    original = parse_email(returned.data)
    assert original.message_id == "<ts.4K7Q2M9X.mmmmnnnnoooo.ppppqqqqrr@helpdesk.example>"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("out_of_office.eml", "Auto-Submitted: auto-replied"),
        ("out_of_office.eml", "X-Auto-Response-Suppress: All"),
        ("vacation_autoreply.eml", "X-Autoreply: yes"),
        ("vacation_autoreply.eml", "Precedence: bulk"),
        ("vacation_autoreply.eml", "subject: Out of Office: Re: [#9PZ3KQ7T] Password reset"),
        ("mailing_list.eml", "List-Id: Vendor announcements <announce.lists.vendor.example>"),
        ("mailing_list.eml", "Precedence: list"),
    ],
)
def test_auto_reasons_name_the_header(name: str, reason: str) -> None:
    assert reason in parse_email(load(name)).auto_reasons


def test_crlf_and_lf_line_endings_parse_alike() -> None:
    crlf = load("windows1252_base64.eml")
    assert b"\r\n" in crlf
    as_crlf = parse_email(crlf)
    as_lf = parse_email(crlf.replace(b"\r\n", b"\n"))
    assert as_crlf == as_lf


def test_result_is_an_immutable_value() -> None:
    email = parse_email(load("plain_text.eml"))
    assert isinstance(email, InboundEmail)
    with pytest.raises(AttributeError):
        email.subject = "changed"  # type: ignore[misc]
