"""Subjects: one literal subject per ticket under ``tickets.``."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketstream.events import ticket_id_of, ticket_subject

pytestmark = pytest.mark.unit

tokens = st.text(min_size=1).filter(lambda t: not any(c in ".*>" or c.isspace() for c in t))
BAD_TOKENS = ["", "A.B", "*", "A*", ">", "A>", "A B", " ", "A\tB", "A\nB"]


def test_ticket_subject_of_a_ticket_id() -> None:
    assert ticket_subject("4K7Q2M9X") == "tickets.4K7Q2M9X"
    assert ticket_id_of("tickets.4K7Q2M9X") == "4K7Q2M9X"


@given(tokens)
def test_ticket_subject_and_ticket_id_of_round_trip(ticket_id: str) -> None:
    assert ticket_id_of(ticket_subject(ticket_id)) == ticket_id


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_ticket_subject_rejects_a_token_nats_cannot_carry(token: str) -> None:
    with pytest.raises(ValueError, match="subject token"):
        ticket_subject(token)


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_ticket_id_of_rejects_a_subject_that_is_not_one_ticket(token: str) -> None:
    with pytest.raises(ValueError, match="not a ticket subject"):
        ticket_id_of(f"tickets.{token}")


@pytest.mark.parametrize("subject", ["tickets", "orders.4K7Q2M9X", "4K7Q2M9X", "tickets.>"])
def test_ticket_id_of_rejects_other_subjects(subject: str) -> None:
    with pytest.raises(ValueError, match="not a ticket subject"):
        ticket_id_of(subject)
