"""Signed Message-IDs: stable per (event, recipient); a forged References never threads."""

import base64
import hashlib
import hmac
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketstream.signing import Signer

pytestmark = pytest.mark.unit

TICKET = "4K7Q2M9X"
OTHER_TICKET = "4K7Q2M9Y"
EVENT = "0197a0b2-7c1e-7d3a-9f00-1a2b3c4d5e6f"
OTHER_EVENT = "0197a0b2-7c1e-7d3a-9f00-1a2b3c4d5e70"
RECIPIENT = "alice@example.org"
DOMAIN = "ticketstream.example.com"
KEY = bytes(range(32))

ticket_ids = st.from_regex(r"[0-9A-Z]{4,32}", fullmatch=True)

ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
DOT_ATOM_TEXT = rf"{ATEXT}+(?:\.{ATEXT}+)*"
MSG_ID = re.compile(rf"<{DOT_ATOM_TEXT}@{DOT_ATOM_TEXT}>")
"""RFC 5322 §3.6.4 msg-id, restricted to dot-atom-text on both sides (no obsolete forms)."""

CHANGE_ALPHABET = string.ascii_letters + string.digits + "=-_+"


def test_the_shape_is_ts_ticket_hash_signature_at_domain(signer: Signer) -> None:
    message_id = signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN)
    match = re.fullmatch(r"<ts\.([0-9A-Z]+)\.([a-z2-7]{12})\.([a-z2-7]{10})@(.+)>", message_id)
    assert match, message_id
    assert match.group(1) == TICKET
    assert match.group(4) == DOMAIN


def test_the_scheme_is_pinned() -> None:
    recipient_hash = (
        base64.b32encode(hashlib.sha256(f"{EVENT}\x00{RECIPIENT}".encode()).digest())
        .decode()
        .lower()[:12]
    )
    message = b"msgid\x00" + TICKET.encode() + b"\x00" + recipient_hash.encode()
    digest = hmac.new(KEY, message, hashlib.sha256).digest()
    signature = base64.b32encode(digest).decode().lower()[:10]
    expected = f"<ts.{TICKET}.{recipient_hash}.{signature}@{DOMAIN}>"
    assert Signer(KEY).message_id(TICKET, EVENT, RECIPIENT, DOMAIN) == expected


def test_message_ids_are_deterministic(signer: Signer) -> None:
    assert signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN) == Signer(KEY).message_id(
        TICKET, EVENT, RECIPIENT, DOMAIN
    )


def test_the_recipient_s_case_and_display_name_do_not_matter(signer: Signer) -> None:
    expected = signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN)
    assert signer.message_id(TICKET, EVENT, RECIPIENT.upper(), DOMAIN) == expected
    assert signer.message_id(TICKET, EVENT, f" Alice <{RECIPIENT}> ", DOMAIN) == expected


def test_message_ids_differ_per_recipient_and_per_event(signer: Signer) -> None:
    ids = {
        signer.message_id(TICKET, event, recipient, DOMAIN)
        for event in (EVENT, OTHER_EVENT)
        for recipient in (RECIPIENT, "bob@example.org", "carol@agents.example.com")
    }
    assert len(ids) == 6


@given(
    events=st.lists(st.text(min_size=1), min_size=2, max_size=5, unique=True),
    recipients=st.lists(st.emails(), min_size=2, max_size=5, unique_by=str.lower),
)
def test_message_ids_are_unique_per_event_and_recipient(
    events: list[str], recipients: list[str]
) -> None:
    signer = Signer(KEY)
    ids = {signer.message_id(TICKET, e, r, DOMAIN) for e in events for r in recipients}
    assert len(ids) == len(events) * len(recipients)


@given(
    ticket=ticket_ids,
    event=st.text(min_size=1),
    recipient=st.emails(),
    domain=st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}", fullmatch=True),
)
def test_round_trip_and_rfc_5322_syntax(
    ticket: str, event: str, recipient: str, domain: str
) -> None:
    signer = Signer(KEY)
    message_id = signer.message_id(ticket, event, recipient, domain)
    assert MSG_ID.fullmatch(message_id), message_id
    assert signer.ticket_from_message_id(message_id) == ticket


@pytest.mark.parametrize("shape", ["{}", "  {}\r\n", "\t{}  "])
def test_brackets_and_white_space_are_optional(signer: Signer, shape: str) -> None:
    message_id = signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN)
    assert signer.ticket_from_message_id(shape.format(message_id)) == TICKET
    assert signer.ticket_from_message_id(shape.format(message_id[1:-1])) == TICKET


def test_case_changes_are_tolerated(signer: Signer) -> None:
    message_id = signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN)
    assert signer.ticket_from_message_id(message_id.upper()) == TICKET
    assert signer.ticket_from_message_id(message_id.lower()) == TICKET


def test_another_ticket_s_message_id_never_verifies_for_this_ticket(signer: Signer) -> None:
    other = signer.message_id(OTHER_TICKET, EVENT, RECIPIENT, DOMAIN)
    assert signer.ticket_from_message_id(other) == OTHER_TICKET
    assert signer.ticket_from_message_id(other.replace(OTHER_TICKET, TICKET)) is None


def test_a_different_key_never_verifies(signer: Signer, other_signer: Signer) -> None:
    message_id = signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN)
    assert other_signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN) != message_id
    assert other_signer.ticket_from_message_id(message_id) is None


def test_every_single_character_change_of_the_signed_part_fails(signer: Signer) -> None:
    message_id = signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN)
    end = message_id.index("@")
    changed = 0
    for index in range(1, end):
        original = message_id[index]
        for replacement in CHANGE_ALPHABET + ".":
            if replacement.lower() == original.lower():
                continue
            tampered = message_id[:index] + replacement + message_id[index + 1 :]
            assert signer.ticket_from_message_id(tampered) is None, tampered
            changed += 1
        deleted = message_id[:index] + message_id[index + 1 :]
        assert signer.ticket_from_message_id(deleted) is None, deleted
    assert changed > 2000
    for inserted in CHANGE_ALPHABET:
        tampered = message_id[:end] + inserted + message_id[end:]
        assert signer.ticket_from_message_id(tampered) is None, tampered


def test_a_forged_message_id_for_a_known_ticket_does_not_verify(signer: Signer) -> None:
    for forged in (
        f"<ts.{TICKET}@{DOMAIN}>",
        f"<ts.{TICKET}.aaaaaaaaaaaa.aaaaaaaaaa@{DOMAIN}>",
        f"<{TICKET}@{DOMAIN}>",
    ):
        assert signer.ticket_from_message_id(forged) is None


@pytest.mark.parametrize(
    "message_id",
    [
        "",
        "<>",
        "<",
        ">",
        "<<>>",
        "ts.4K7Q2M9X.aaaaaaaaaaaa.aaaaaaaaaa",
        "<ts.4K7Q2M9X.aaaaaaaaaaaa.aaaaaaaaaa@>",
        "<ts.4K7Q2M9X.aaaaaaaaaaaa.aaaaaaaaaa@exa mple.com>",
        "<ts.4K7Q2M9X.aaaaaaaaaaaa.aaaaaaaaaa@a@b>",
        "<ts.4K7Q2M9X.aaaaaaaaaaaa.aaaaaaaaaa@example.com",
        "ts.4K7Q2M9X.aaaaaaaaaaaa.aaaaaaaaaa@example.com>",
        "<a@b> <c@d>",
        None,
        3.5,
    ],
)
def test_malformed_message_ids_are_none(signer: Signer, message_id: object) -> None:
    assert signer.ticket_from_message_id(message_id) is None  # type: ignore[arg-type]


@given(message_id=st.text())
def test_arbitrary_text_never_raises(message_id: str) -> None:
    assert Signer(KEY).ticket_from_message_id(message_id) is None


@given(prefix=st.text(), suffix=st.text())
def test_text_around_a_real_message_id_never_raises(prefix: str, suffix: str) -> None:
    signer = Signer(KEY)
    message_id = signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN)
    assert signer.ticket_from_message_id(prefix + message_id + suffix) in (None, TICKET)


@pytest.mark.parametrize(
    "domain", ["", "exa mple.com", "a..b", ".example.com", "[127.0.0.1]", "é.com"]
)
def test_a_malformed_domain_raises(signer: Signer, domain: str) -> None:
    with pytest.raises(ValueError, match="domain"):
        signer.message_id(TICKET, EVENT, RECIPIENT, domain)


def test_missing_event_or_recipient_raises(signer: Signer) -> None:
    with pytest.raises(ValueError, match="event"):
        signer.message_id(TICKET, "", RECIPIENT, DOMAIN)
    with pytest.raises(ValueError, match="recipient"):
        signer.message_id(TICKET, EVENT, "  ", DOMAIN)
    with pytest.raises(ValueError, match="ticket id"):
        signer.message_id("4k7q 2m9x", EVENT, RECIPIENT, DOMAIN)


def test_the_comparison_is_constant_time(signer: Signer, monkeypatch: pytest.MonkeyPatch) -> None:
    message_id = signer.message_id(TICKET, EVENT, RECIPIENT, DOMAIN)
    calls: list[object] = []
    original = hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    assert signer.ticket_from_message_id(message_id) == TICKET
    assert signer.ticket_from_message_id(message_id.replace(TICKET, OTHER_TICKET)) is None
    assert len(calls) == 2
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    assert signer.ticket_from_message_id(message_id) is None
