"""Opening a ticket without loading it first: a taken number is refused, nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketstream.events import Actor, Metadata, Requester, TicketCreated
from ticketstream.eventstore import InMemoryEventStore
from ticketstream.intake import opening
from ticketstream.tickets import OpenTicket, TicketRuleViolation

pytestmark = pytest.mark.unit

DANA = Requester(name="Dana Whitfield", email="dana@example.com")
ACTOR = Actor(kind="requester", id=DANA.email)
META = Metadata(source=opening.SOURCE, actor=ACTOR)


def _command(ticket_id: str) -> OpenTicket:
    return OpenTicket(
        ticket_id=ticket_id,
        actor=ACTOR,
        channel="api",
        requester=DANA,
        subject="Unable to access e-mail",
        message="My mailbox says my account is locked.",
        help_topic="email-support",
    )


def _now() -> datetime:
    return datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def test_open_new_appends_the_first_event() -> None:
    store = InMemoryEventStore()

    result = await opening.open_new(store, _command("4K7Q2M9X"), META, clock=_now)

    assert (result.ticket_id, result.version, result.position) == ("4K7Q2M9X", 1, 1)
    [recorded] = (await store.load("4K7Q2M9X")).events
    assert isinstance(recorded.envelope.data, TicketCreated)


async def test_a_taken_number_is_refused_as_the_rules_refuse_it_and_nothing_is_written() -> None:
    store = InMemoryEventStore()
    await opening.open_new(store, _command("4K7Q2M9X"), META, clock=_now)

    with pytest.raises(TicketRuleViolation) as refused:
        await opening.open_new(store, _command("4K7Q2M9X"), META, clock=_now)

    assert refused.value.rule == "ticket_exists"
    assert store.position == 1


async def test_open_ticket_draws_again_when_the_number_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = InMemoryEventStore()
    await opening.open_new(store, _command("4K7Q2M9X"), META, clock=_now)
    draws = iter(["4K7Q2M9X", "59XYNMZQ"])
    monkeypatch.setattr(opening, "new_ticket_id", lambda: next(draws))

    result = await opening.open_ticket(store, _command, META, clock=_now)

    assert result.ticket_id == "59XYNMZQ"
    assert store.position == 2
