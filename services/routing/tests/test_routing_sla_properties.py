"""The SLA clock against the ticket rules, over histories nobody wrote by hand (hypothesis).

Random agent and requester commands go through the real decider, with routing's own steps
(route, re-route after a transfer, raise what is due) in between at random moments. Every
breach the clock reports must be one the rules accept (else routing would retry a rejected
command forever), each target breaches at most once, and ``next_deadline`` agrees with
``due_breaches``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ticketstream.directory import Directory, directory_from_env
from ticketstream.events import (
    Actor,
    AnyTicketEvent,
    Requester,
    SlaBreached,
)
from ticketstream.routing.routing_decision import ROUTING_ACTOR, route_command
from ticketstream.routing.sla import SlaClock, due_breaches, fold_clock, next_deadline
from ticketstream.tickets import (
    ChangePriority,
    Close,
    Command,
    ConfirmResolution,
    MarkPending,
    OpenTicket,
    RecordSlaBreach,
    Reopen,
    ReplyAsAgent,
    ReplyAsRequester,
    Resolve,
    TicketRuleViolation,
    TicketState,
    TransferTicket,
    decide,
    fold,
)

pytestmark = pytest.mark.unit

T = "T2000"
EMAIL = "dana@example.com"
AGENT = Actor(kind="agent", id="alex")
REQUESTER = Actor(kind="requester", id=EMAIL)
START = datetime(2024, 3, 29, 15, 0, tzinfo=UTC)  # a Friday before the DST change in Europe


def office_directory() -> Directory:
    """The default directory with office hours on one plan and no pause on the other."""
    data: dict[str, Any] = directory_from_env({}).model_dump(mode="json")
    data["sla_plans"][0]["business_hours"] = {"timezone": "Europe/Berlin"}
    data["sla_plans"][1]["pause_while_pending"] = False
    data["help_topics"][2]["sla_plan"] = data["sla_plans"][1]["id"]
    return Directory.model_validate(data)


DIRECTORIES = [directory_from_env({}), office_directory()]

ACTIONS = st.one_of(
    st.sampled_from(
        [
            "agent_reply",
            "requester_reply",
            "pending",
            "resolve",
            "reopen_agent",
            "reopen_requester",
            "close",
            "confirm",
            "auto_close",
            "check",
            "check",
            "check",
        ]
    ),
    st.sampled_from(["low", "medium", "high", "urgent"]).map(lambda p: f"priority:{p}"),
    st.sampled_from(["it-support", "billing", "general"]).map(lambda d: f"transfer:{d}"),
)
GAPS = st.integers(min_value=0, max_value=3 * 24 * 60)  # minutes between steps


class Ticket:
    """One ticket's history with times, moved on by commands through the real rules."""

    def __init__(self, directory: Directory, opened_at: datetime, topic: str) -> None:
        self.directory = directory
        self.history: list[tuple[AnyTicketEvent, datetime]] = []
        self.state: TicketState | None = None
        self.opened_at = opened_at
        opened = OpenTicket(
            ticket_id=T,
            actor=REQUESTER,
            channel="web",
            requester=Requester(name="Dana", email=EMAIL),
            subject="Cannot send e-mail",
            message="Outlook says no.",
            help_topic=topic,
        )
        self.apply(opened, opened_at)

    def apply(self, command: Command, now: datetime) -> bool:
        try:
            events = decide(self.state, command)
        except TicketRuleViolation:
            return False
        self.history.extend((event, now) for event in events)
        self.state = fold(events, self.state)
        return True

    @property
    def current(self) -> TicketState:
        assert self.state is not None
        return self.state

    def clock(self) -> SlaClock:
        clock = fold_clock(self.history, self.directory.sla_plan)
        assert clock is not None
        return clock

    def route(self, now: datetime) -> None:
        command = route_command(self.directory, self.current, self.opened_at)
        if command is not None:
            assert self.apply(command, now), "routing's own command was rejected"

    def raise_due_breaches(self, now: datetime) -> None:
        clock = self.clock()
        due = due_breaches(clock, now)
        deadline = next_deadline(clock)
        assert bool(due) == (deadline is not None and deadline <= now)
        for target, due_at in due:
            command = RecordSlaBreach(
                ticket_id=T, actor=ROUTING_ACTOR, target=target, due_at=due_at
            )
            try:
                decide(self.current, command)
            except TicketRuleViolation as error:
                raise AssertionError(
                    f"the clock said {target} is due at {due_at}, the rules said: {error}"
                ) from error
            assert self.apply(command, now)
        assert due_breaches(self.clock(), now) == []

    def act(self, action: str, now: datetime) -> None:
        kind, _, argument = action.partition(":")
        commands: dict[str, Command] = {
            "agent_reply": ReplyAsAgent(ticket_id=T, actor=AGENT, body="On it"),
            "requester_reply": ReplyAsRequester(
                ticket_id=T, actor=REQUESTER, channel="web", body="Still broken"
            ),
            "pending": MarkPending(ticket_id=T, actor=AGENT),
            "resolve": Resolve(ticket_id=T, actor=AGENT, resolution="Reset it"),
            "reopen_agent": Reopen(ticket_id=T, actor=AGENT),
            "reopen_requester": Reopen(ticket_id=T, actor=REQUESTER),
            "close": Close(ticket_id=T, actor=AGENT),
            "confirm": ConfirmResolution(ticket_id=T, actor=REQUESTER),
            "auto_close": Close(ticket_id=T, actor=ROUTING_ACTOR),
        }
        if kind == "check":
            self.raise_due_breaches(now)
        elif kind == "priority":
            self.apply(ChangePriority(ticket_id=T, actor=AGENT, priority=argument), now)
        elif kind == "transfer":
            if self.apply(TransferTicket(ticket_id=T, actor=AGENT, to_department=argument), now):
                self.route(now)
        else:
            self.apply(commands[kind], now)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    directory=st.sampled_from(DIRECTORIES),
    topic=st.sampled_from(DIRECTORIES[0].help_topic_ids()),
    start_offset=st.integers(min_value=0, max_value=7 * 24 * 60),
    steps=st.lists(st.tuples(ACTIONS, GAPS), max_size=25),
    final_gap=GAPS,
)
def test_clock_agrees_with_the_ticket_rules(
    directory: Directory,
    topic: str,
    start_offset: int,
    steps: list[tuple[str, int]],
    final_gap: int,
) -> None:
    now = START + timedelta(minutes=start_offset)
    ticket = Ticket(directory, now, topic)
    ticket.route(now)
    for action, gap in steps:
        now += timedelta(minutes=gap)
        ticket.act(action, now)
    ticket.raise_due_breaches(now + timedelta(minutes=final_gap))
    breaches = [e.target for e, _ in ticket.history if isinstance(e, SlaBreached)]
    assert len(breaches) == len(set(breaches)), "a target breached twice"
    event(f"breaches recorded: {len(breaches)}")
    event(f"final status: {ticket.current.status}")
