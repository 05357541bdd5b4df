"""The unsigned ``[#ticket]`` subject tag."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketstream.signing import ticket_from_subject, ticket_subject_tag

pytestmark = pytest.mark.unit

ticket_ids = st.from_regex(r"[0-9A-Z]{4,32}", fullmatch=True)


def test_the_tag() -> None:
    assert ticket_subject_tag("4K7Q2M9X") == "[#4K7Q2M9X]"
    assert ticket_subject_tag("4k7q2m9x") == "[#4K7Q2M9X]"


@pytest.mark.parametrize("ticket", ["", "ABC", "4K7Q]2M9X", "A" * 33])
def test_a_malformed_ticket_id_raises(ticket: str) -> None:
    with pytest.raises(ValueError, match="ticket id"):
        ticket_subject_tag(ticket)


@given(ticket=ticket_ids, before=st.text(), after=st.text())
def test_round_trip_inside_any_subject(ticket: str, before: str, after: str) -> None:
    subject = f"Re: {ticket_subject_tag(ticket)} {after}"
    assert ticket_from_subject(subject) == ticket
    found = ticket_from_subject(before + ticket_subject_tag(ticket) + after)
    assert found is not None


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("[#4K7Q2M9X] Printer on fire", "4K7Q2M9X"),
        ("Re: Printer on fire [#4k7q2m9x]", "4K7Q2M9X"),
        ("RE: AW: [# 4K7Q2M9X ] Printer", "4K7Q2M9X"),
        ("Re:[#\t4K7Q2M9X]", "4K7Q2M9X"),
        ("[#AAAA1111] and [#BBBB2222]", "AAAA1111"),
        ("Printer on fire", None),
        ("#4K7Q2M9X", None),
        ("[4K7Q2M9X]", None),
        ("[#ABC]", None),
        ("[#" + "A" * 33 + "]", None),
        ("[#4K7Q-2M9X]", None),
        ("[#ÄBCD1234]", None),
        ("[#\u212aBCD1234]", None),
        ("", None),
    ],
)
def test_finding_the_tag(subject: str, expected: str | None) -> None:
    assert ticket_from_subject(subject) == expected


@given(subject=st.text())
def test_arbitrary_text_never_raises(subject: str) -> None:
    found = ticket_from_subject(subject)
    assert found is None or re.fullmatch(r"[0-9A-Z]{4,32}", found)


def test_non_text_is_none() -> None:
    assert ticket_from_subject(None) is None  # type: ignore[arg-type]
