"""Signed reply addresses: a guessed plus-address never threads onto someone else's ticket."""

import base64
import hashlib
import hmac
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketstream.signing import Signer

pytestmark = pytest.mark.unit

TICKET = "4K7Q2M9X"
OTHER_TICKET = "4K7Q2M9Y"
MAILBOX = "support@example.com"
KEY = bytes(range(32))
ticket_ids = st.from_regex(r"[0-9A-Z]{4,32}", fullmatch=True)
CHANGE_ALPHABET = string.ascii_letters + string.digits + "=-_+."


def test_the_address_is_the_mailbox_plus_ticket_and_signature(signer: Signer) -> None:
    address = signer.reply_address(TICKET, MAILBOX)
    local, _, domain = address.partition("@")
    assert domain == "example.com"
    base, _, tag = local.partition("+")
    assert base == "support"
    ticket, _, signature = tag.partition(".")
    assert ticket == TICKET
    assert len(signature) == 10
    assert set(signature) <= set("abcdefghijklmnopqrstuvwxyz234567")


def test_the_signature_is_hmac_sha256_of_the_purpose_and_ticket() -> None:
    digest = hmac.new(KEY, b"reply\x00" + TICKET.encode(), hashlib.sha256).digest()
    signature = base64.b32encode(digest).decode().lower()[:10]
    assert Signer(KEY).reply_address(TICKET, MAILBOX) == f"support+{TICKET}.{signature}@example.com"


def test_the_address_is_deterministic(signer: Signer) -> None:
    assert signer.reply_address(TICKET, MAILBOX) == Signer(KEY).reply_address(TICKET, MAILBOX)


@given(ticket=ticket_ids)
def test_round_trip(ticket: str) -> None:
    signer = Signer(KEY)
    assert signer.ticket_from_reply_address(signer.reply_address(ticket, MAILBOX)) == ticket


@pytest.mark.parametrize(
    "shape",
    [
        "{}",
        "  {}\r\n",
        "<{}>",
        "Example Support <{}>",
        '"Support, <Example>" <{}>',
        "Support < {} >",
    ],
)
def test_display_names_and_brackets_are_accepted(signer: Signer, shape: str) -> None:
    address = signer.reply_address(TICKET, MAILBOX)
    assert signer.ticket_from_reply_address(shape.format(address)) == TICKET


def test_signature_ticket_and_domain_are_case_insensitive(signer: Signer) -> None:
    address = signer.reply_address(TICKET, MAILBOX)
    assert signer.ticket_from_reply_address(address.upper()) == TICKET
    assert signer.ticket_from_reply_address(address.lower()) == TICKET


def test_a_mailbox_with_its_own_plus_tag_still_round_trips(signer: Signer) -> None:
    address = signer.reply_address(TICKET, "help+desk@mail.example.com")
    assert address.startswith(f"help+desk+{TICKET}.")
    assert signer.ticket_from_reply_address(address) == TICKET


def test_a_display_name_mailbox_gives_the_bare_address(signer: Signer) -> None:
    assert signer.reply_address(TICKET, "Support <support@example.com>") == signer.reply_address(
        TICKET, MAILBOX
    )


def test_lower_case_ticket_ids_are_normalized(signer: Signer) -> None:
    assert signer.reply_address(TICKET.lower(), MAILBOX) == signer.reply_address(TICKET, MAILBOX)


def test_another_ticket_s_signature_never_verifies_for_this_ticket(signer: Signer) -> None:
    other = signer.reply_address(OTHER_TICKET, MAILBOX)
    forged = other.replace(OTHER_TICKET, TICKET)
    assert signer.ticket_from_reply_address(forged) is None
    assert signer.ticket_from_reply_address(other) == OTHER_TICKET


def test_a_different_key_never_verifies(signer: Signer, other_signer: Signer) -> None:
    address = signer.reply_address(TICKET, MAILBOX)
    assert other_signer.reply_address(TICKET, MAILBOX) != address
    assert other_signer.ticket_from_reply_address(address) is None


def test_every_single_character_change_of_the_tag_fails(signer: Signer) -> None:
    address = signer.reply_address(TICKET, MAILBOX)
    start = address.index("+") + 1
    end = address.index("@")
    changed = 0
    for index in range(start, end):
        original = address[index]
        for replacement in CHANGE_ALPHABET:
            if replacement.lower() == original.lower():
                continue
            tampered = address[:index] + replacement + address[index + 1 :]
            assert signer.ticket_from_reply_address(tampered) is None, tampered
            changed += 1
        deleted = address[:index] + address[index + 1 :]
        assert signer.ticket_from_reply_address(deleted) is None, deleted
    assert changed > 1000
    for inserted in CHANGE_ALPHABET:
        assert signer.ticket_from_reply_address(address[:end] + inserted + address[end:]) is None


def test_a_guessed_plus_address_does_not_verify(signer: Signer) -> None:
    for guess in (
        f"support+{TICKET}@example.com",
        f"support+{TICKET}.@example.com",
        f"support+{TICKET}.aaaaaaaaaa@example.com",
        f"support+{TICKET}.{'a' * 9}@example.com",
    ):
        assert signer.ticket_from_reply_address(guess) is None


@pytest.mark.parametrize(
    "address",
    [
        "",
        "support@example.com",
        "Support <support@example.com>",
        "+4K7Q2M9X.abcdefghij@example.com",
        "support+4K7Q2M9X.abcdefghij",
        "support+4K7Q2M9X.abcdefghij@",
        "support+4K7Q2M9X.abcdefghij@exa mple.com",
        "support+4K7Q2M9X.abc.defghij@example.com",
        "support+4K7Q2M9X.abcdefghij>",
        "support+<4K7Q2M9X.abcdefghij@example.com",
        "<>",
        "<",
        ">",
        None,
        42,
    ],
)
def test_malformed_addresses_are_none(signer: Signer, address: object) -> None:
    assert signer.ticket_from_reply_address(address) is None  # type: ignore[arg-type]


@given(address=st.text())
def test_arbitrary_text_never_raises(address: str) -> None:
    assert Signer(KEY).ticket_from_reply_address(address) is None


@given(prefix=st.text(), suffix=st.text())
def test_text_around_a_real_tag_never_raises(prefix: str, suffix: str) -> None:
    signer = Signer(KEY)
    address = signer.reply_address(TICKET, MAILBOX)
    assert signer.ticket_from_reply_address(prefix + address + suffix) in (None, TICKET)


def test_the_local_part_is_at_most_64_characters(signer: Signer) -> None:
    longest_ticket = "Z" * 32
    fits = "s" * 20 + "@example.com"
    address = signer.reply_address(longest_ticket, fits)
    assert len(address.partition("@")[0]) == 64
    assert signer.ticket_from_reply_address(address) == longest_ticket
    with pytest.raises(ValueError, match="64"):
        signer.reply_address(longest_ticket, "s" * 21 + "@example.com")


@pytest.mark.parametrize(
    "mailbox",
    ["", "support", "@example.com", "support@", "sup port@example.com", "a@b@c", "a@exa mple"],
)
def test_malformed_mailboxes_raise(signer: Signer, mailbox: str) -> None:
    with pytest.raises(ValueError, match="mailbox"):
        signer.reply_address(TICKET, mailbox)


def test_a_malformed_ticket_id_raises(signer: Signer) -> None:
    with pytest.raises(ValueError, match="ticket id"):
        signer.reply_address("4K7Q.2M9X", MAILBOX)


def test_the_comparison_is_constant_time(signer: Signer, monkeypatch: pytest.MonkeyPatch) -> None:
    address = signer.reply_address(TICKET, MAILBOX)
    calls: list[object] = []
    original = hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    assert signer.ticket_from_reply_address(address) == TICKET
    assert signer.ticket_from_reply_address(address.replace(TICKET, OTHER_TICKET)) is None
    assert len(calls) == 2
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    assert signer.ticket_from_reply_address(address) is None
