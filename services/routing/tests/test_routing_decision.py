"""route_command: where a new or transferred ticket goes, for every help topic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ticketstream.directory import Directory, UnknownIdError, directory_from_env
from ticketstream.events import (
    Actor,
    AnyTicketEvent,
    Priority,
    Requester,
    TicketCategorized,
    TicketClosed,
    TicketCreated,
    TicketTransferred,
)
from ticketstream.routing.routing_decision import ROUTING_ACTOR, route_command
from ticketstream.routing.sla import due_times
from ticketstream.tickets import RouteTicket, TicketState, decide, fold

pytestmark = pytest.mark.unit

T = "T4000"
OPENED = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
DIRECTORY = directory_from_env({})


def created(topic: str, priority: Priority | None = None) -> TicketCreated:
    return TicketCreated(
        ticket_id=T,
        channel="email",
        requester=Requester(name="Dana", email="dana@example.com"),
        subject="Cannot send e-mail",
        message="Outlook says no.",
        help_topic=topic,
        priority=priority,
    )


def state_of(*events: AnyTicketEvent) -> TicketState:
    state = fold(events)
    assert state is not None
    return state


def then(state: TicketState, *events: AnyTicketEvent) -> TicketState:
    after = fold(events, state)
    assert after is not None
    return after


def routed_state(state: TicketState, command: RouteTicket) -> TicketState:
    """The ticket after routing's command went through the rules."""
    after = fold(decide(state, command), state)
    assert after is not None
    return after


def transferred(to: str, from_: str | None = None) -> TicketTransferred:
    return TicketTransferred(ticket_id=T, from_department=from_, to_department=to)


@pytest.mark.parametrize("topic_id", DIRECTORY.help_topic_ids())
def test_every_help_topic_of_the_default_directory(topic_id: str) -> None:
    topic = DIRECTORY.help_topic(topic_id)
    state = state_of(created(topic_id))
    command = route_command(DIRECTORY, state, OPENED)
    assert command is not None
    plan = DIRECTORY.sla_plan_for_topic(topic_id)
    first_response_due, resolution_due = due_times(plan, topic.priority, OPENED)
    assert command == RouteTicket(
        ticket_id=T,
        actor=Actor(kind="system", id="routing"),
        department=topic.department,
        priority=topic.priority,
        sla_plan=plan.id,
        first_response_due=first_response_due,
        resolution_due=resolution_due,
        category=topic.category,
    )
    after = routed_state(state, command)
    assert after.routed_department == topic.department
    assert (after.priority, after.sla_plan, after.category) == (
        topic.priority,
        plan.id,
        topic.category,
    )
    # Redelivered TicketCreated: routed already, nothing more to decide.
    assert route_command(DIRECTORY, after, OPENED) is None


def test_the_seed_scenario() -> None:
    # osTicket's walk-through: "Email Support" goes to IT Support, medium, standard plan.
    command = route_command(DIRECTORY, state_of(created("email-support")), OPENED)
    assert command is not None
    assert (command.department, command.priority, command.sla_plan, command.category) == (
        "it-support",
        "medium",
        "standard",
        "email",
    )
    assert command.first_response_due == datetime(2024, 3, 4, 17, 0, tzinfo=UTC)  # 8h
    assert command.resolution_due == datetime(2024, 3, 7, 9, 0, tzinfo=UTC)  # 3d
    assert command.actor == ROUTING_ACTOR


def test_the_requested_priority_wins_over_the_topics_default() -> None:
    command = route_command(DIRECTORY, state_of(created("billing", priority="urgent")), OPENED)
    assert command is not None
    assert command.priority == "urgent"
    assert command.first_response_due == datetime(2024, 3, 4, 10, 0, tzinfo=UTC)  # 1h


def test_a_priority_the_desk_does_not_offer_falls_back_to_the_topics() -> None:
    data: dict[str, Any] = DIRECTORY.model_dump(mode="json")
    data["priorities"] = ["low", "medium", "high"]
    for plan in data["sla_plans"]:
        del plan["targets"]["urgent"]
    directory = Directory.model_validate(data)
    command = route_command(directory, state_of(created("network", priority="urgent")), OPENED)
    assert command is not None
    assert command.priority == "high"


def test_a_closed_ticket_is_not_routed() -> None:
    state = state_of(created("email-support"), TicketClosed(ticket_id=T, reason="agent"))
    assert route_command(DIRECTORY, state, OPENED) is None


def test_a_transferred_ticket_is_routed_by_its_new_department() -> None:
    state = state_of(created("email-support"))
    first = route_command(DIRECTORY, state, OPENED)
    assert first is not None
    state = routed_state(state, first)
    state = then(state, transferred("billing", "it-support"))
    assert state.routed_department is None
    command = route_command(DIRECTORY, state, OPENED)
    assert command is not None
    assert command.department == "billing"
    assert command.priority == "medium"  # the ticket's priority travels with it
    assert command.sla_plan == DIRECTORY.department("billing").sla_plan
    # Due times still count from when the ticket was opened.
    plan = DIRECTORY.sla_plan(DIRECTORY.department("billing").sla_plan)
    assert (command.first_response_due, command.resolution_due) == due_times(plan, "medium", OPENED)
    after = routed_state(state, command)
    assert after.department == after.routed_department == "billing"
    assert after.category == "email"  # a category the ticket has is kept
    assert route_command(DIRECTORY, after, OPENED) is None


def test_transfer_before_first_routing_routes_to_the_transfer_target() -> None:
    state = state_of(created("email-support"), transferred("general"))
    command = route_command(DIRECTORY, state, OPENED)
    assert command is not None
    assert command.department == "general"


def test_plan_follows_the_department_while_the_topic_has_its_own() -> None:
    data: dict[str, Any] = DIRECTORY.model_dump(mode="json")
    for topic in data["help_topics"]:
        if topic["id"] == "network":
            topic["sla_plan"] = "priority-support"
    directory = Directory.model_validate(data)
    state = state_of(created("network"))
    first = route_command(directory, state, OPENED)
    assert first is not None
    assert first.sla_plan == "priority-support"
    state = routed_state(state, first)
    # To billing: billing's plan. Back to IT Support: the topic's own plan again.
    state = then(state, transferred("billing", "it-support"))
    to_billing = route_command(directory, state, OPENED)
    assert to_billing is not None
    assert to_billing.sla_plan == "standard"
    state = then(routed_state(state, to_billing), transferred("it-support", "billing"))
    back = route_command(directory, state, OPENED)
    assert back is not None
    assert back.sla_plan == "priority-support"


def test_suggested_category_never_overrides_the_tickets() -> None:
    state = state_of(created("hardware"), TicketCategorized(ticket_id=T, category="network"))
    command = route_command(DIRECTORY, state, OPENED)
    assert command is not None
    assert command.category == "hardware"
    assert routed_state(state, command).category == "network"


def test_an_unknown_help_topic_is_reported() -> None:
    with pytest.raises(UnknownIdError, match="no help topic 'retired-topic'"):
        route_command(DIRECTORY, state_of(created("retired-topic")), OPENED)
