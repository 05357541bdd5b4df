"""Requester secrets: derived per ticket, unguessable without the key, checked in constant time."""

import base64
import hashlib
import hmac
import string
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketstream.signing import Signer

pytestmark = pytest.mark.unit

TICKET = "4K7Q2M9X"
OTHER_TICKET = "4K7Q2M9Y"
KEY = bytes(range(32))
ticket_ids = st.from_regex(r"[0-9A-Z]{4,32}", fullmatch=True)


def single_character_changes(value: str, alphabet: str) -> Iterator[str]:
    """Every substitution, deletion and insertion of one character (case changes excluded)."""
    for index, original in enumerate(value):
        yield value[:index] + value[index + 1 :]
        for replacement in alphabet:
            if replacement.lower() != original.lower():
                yield value[:index] + replacement + value[index + 1 :]
    for index in range(len(value) + 1):
        for inserted in alphabet:
            yield value[:index] + inserted + value[index:]


CHANGE_ALPHABET = string.ascii_lowercase + string.digits + "=-_+/."


def test_the_secret_is_32_lower_case_base32_characters(signer: Signer) -> None:
    secret = signer.requester_secret(TICKET)
    assert len(secret) == 32
    assert set(secret) <= set("abcdefghijklmnopqrstuvwxyz234567")


def test_the_scheme_is_hmac_sha256_of_the_purpose_and_ticket_first_20_bytes() -> None:
    digest = hmac.new(KEY, b"requester\x00" + TICKET.encode(), hashlib.sha256).digest()
    expected = base64.b32encode(digest[:20]).decode().lower()
    assert Signer(KEY).requester_secret(TICKET) == expected


def test_the_secret_is_deterministic(signer: Signer) -> None:
    assert signer.requester_secret(TICKET) == Signer(KEY).requester_secret(TICKET)


@given(ticket=ticket_ids)
def test_a_ticket_s_own_secret_verifies(ticket: str) -> None:
    signer = Signer(KEY)
    assert signer.verify_requester_secret(ticket, signer.requester_secret(ticket))


def test_ticket_ids_are_normalized_to_upper_case(signer: Signer) -> None:
    assert signer.requester_secret(TICKET.lower()) == signer.requester_secret(TICKET)
    assert signer.verify_requester_secret(TICKET.lower(), signer.requester_secret(TICKET))


def test_case_and_surrounding_white_space_are_tolerated(signer: Signer) -> None:
    secret = signer.requester_secret(TICKET)
    assert signer.verify_requester_secret(TICKET, secret.upper())
    assert signer.verify_requester_secret(TICKET, f"  {secret}\n")
    assert signer.verify_requester_secret(f" {TICKET} ", secret)


def test_another_ticket_s_secret_never_verifies(signer: Signer) -> None:
    assert not signer.verify_requester_secret(OTHER_TICKET, signer.requester_secret(TICKET))
    assert not signer.verify_requester_secret(TICKET, signer.requester_secret(OTHER_TICKET))


@given(ticket=ticket_ids, other=ticket_ids)
def test_secrets_of_distinct_tickets_never_cross_verify(ticket: str, other: str) -> None:
    signer = Signer(KEY)
    if ticket != other:
        assert not signer.verify_requester_secret(other, signer.requester_secret(ticket))


def test_a_different_key_never_verifies(signer: Signer, other_signer: Signer) -> None:
    assert signer.requester_secret(TICKET) != other_signer.requester_secret(TICKET)
    assert not other_signer.verify_requester_secret(TICKET, signer.requester_secret(TICKET))


def test_every_single_character_change_fails(signer: Signer) -> None:
    secret = signer.requester_secret(TICKET)
    changed = list(single_character_changes(secret, CHANGE_ALPHABET))
    assert len(changed) > 2000
    for tampered in changed:
        assert not signer.verify_requester_secret(TICKET, tampered), tampered


@pytest.mark.parametrize(
    "secret",
    ["", " ", "a" * 32, "=" * 32, "ä" * 32, "\u212a" * 32, None, 12345, b"abc"],
)
def test_malformed_secrets_are_false(signer: Signer, secret: object) -> None:
    assert signer.verify_requester_secret(TICKET, secret) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("ticket", ["", "ABC", "A" * 33, "4K7Q-2M9X", "ÄBCD", None, 7])
def test_malformed_ticket_ids_are_false(signer: Signer, ticket: object) -> None:
    secret = signer.requester_secret(TICKET)
    assert signer.verify_requester_secret(ticket, secret) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("ticket", ["", "ABC", "A" * 33, "4K7Q-2M9X", "STRASSE\u00df"])
def test_signing_a_malformed_ticket_id_raises(signer: Signer, ticket: str) -> None:
    with pytest.raises(ValueError, match="ticket id"):
        signer.requester_secret(ticket)


@given(ticket=st.text(), secret=st.text())
def test_arbitrary_text_never_raises_and_never_verifies(ticket: str, secret: str) -> None:
    assert Signer(KEY).verify_requester_secret(ticket, secret) is False


@given(secret=st.text())
def test_arbitrary_secrets_for_a_real_ticket_never_verify(secret: str) -> None:
    signer = Signer(KEY)
    expected = signer.requester_secret(TICKET)
    if secret.strip().lower() != expected:
        assert signer.verify_requester_secret(TICKET, secret) is False


def counting_compare_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> list[tuple[object, object]]:
    calls: list[tuple[object, object]] = []
    original: Callable[..., bool] = hmac.compare_digest

    def counting(a: object, b: object) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    return calls


def test_the_comparison_is_constant_time(signer: Signer, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = signer.requester_secret(TICKET)
    calls = counting_compare_digest(monkeypatch)
    assert signer.verify_requester_secret(TICKET, secret)
    assert not signer.verify_requester_secret(OTHER_TICKET, secret)
    assert len(calls) == 2


def test_the_verdict_comes_from_compare_digest(
    signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = signer.requester_secret(TICKET)
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    assert not signer.verify_requester_secret(TICKET, secret)
