"""Properties over random command sequences: what decide emits folds consistently, and no
sequence of commands, plausible or not, reaches a ticket that cannot exist."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as label_example
from hypothesis import given as for_all
from hypothesis import strategies as st
from pydantic import TypeAdapter

from ticketstream.events import (
    PRIORITIES,
    Actor,
    AgentReplied,
    AnyTicketEvent,
    AutoReplyReceived,
    FeedbackSubmitted,
    Requester,
    TagsChanged,
    TicketReopened,
    TicketResolved,
)
from ticketstream.tickets import (
    COMMAND_CLASSES,
    RULES,
    AddInternalNote,
    AssignTicket,
    Categorize,
    ChangePriority,
    ChangeTags,
    Close,
    Command,
    ConfirmResolution,
    MarkPending,
    OpenTicket,
    RecordAutoReply,
    RecordEmailFailed,
    RecordEmailSent,
    RecordSlaBreach,
    Reopen,
    ReplyAsAgent,
    ReplyAsRequester,
    Resolve,
    RouteTicket,
    SubmitFeedback,
    TicketRuleViolation,
    TicketState,
    TransferTicket,
    UnassignTicket,
    decide,
    evolve,
    fold,
)

pytestmark = pytest.mark.unit

T = "T1000"
ANA = Requester(name="Ana", email="ana@example.com")
REQUESTERS = [
    Actor(kind="requester", id="ana@example.com"),
    Actor(kind="requester", id="Ana@Example.com"),
]
STRANGERS = [Actor(kind="requester", id="eve@example.com")]
AGENTS = [Actor(kind="agent", id="alice"), Actor(kind="agent", id="bob")]
SYSTEMS = [Actor(kind="system", id="routing")]
KINDS = {"requester": REQUESTERS, "agent": AGENTS, "system": SYSTEMS}
ANYONE = st.sampled_from(REQUESTERS + STRANGERS + AGENTS + SYSTEMS)

ticket_ids = st.sampled_from([T] * 19 + ["T2000"])  # now and then a command for another ticket
agent_ids = st.sampled_from(["alice", "bob", "carol"])
departments = st.sampled_from(["it", "billing", "network"])
priorities = st.sampled_from(PRIORITIES)
labels = st.sampled_from(["email", "vip", "outage", "network"])
label_sets = st.frozensets(labels, max_size=3)
texts = st.sampled_from(["hi", "Still broken", "Unlocked the account"])
maybe_texts = st.none() | texts
channels = st.sampled_from(["web", "email", "api", "phone"])
due_times = st.sampled_from(
    [datetime(2026, 12, 4, 18, 0, tzinfo=UTC), datetime(2026, 12, 6, 9, 30, tzinfo=UTC)]
)
strategies_ = st.sampled_from(["manual", "round_robin", "least_open"])


def actors(*plausible: str) -> st.SearchStrategy[Actor]:
    """Mostly an actor allowed to give the command; one time in four, anyone at all."""
    allowed = [actor for kind in plausible for actor in KINDS[kind]]
    return st.one_of(*[st.sampled_from(allowed)] * 3, ANYONE)


def build(
    cls: type[Command], *plausible: str, **fields: st.SearchStrategy[object]
) -> st.SearchStrategy[Command]:
    return st.builds(cls, ticket_id=ticket_ids, actor=actors(*plausible), **fields)


open_tickets = build(
    OpenTicket,
    "requester",
    "agent",
    "system",
    channel=channels,
    requester=st.just(ANA),
    subject=st.just("Email issue"),
    message=texts,
    help_topic=labels,
    priority=st.none() | priorities,
)

COMMANDS: dict[type[Command], st.SearchStrategy[Command]] = {
    OpenTicket: open_tickets,
    RouteTicket: build(
        RouteTicket,
        "system",
        department=departments,
        priority=priorities,
        sla_plan=st.none() | labels,
        first_response_due=st.none() | due_times,
        resolution_due=st.none() | due_times,
        category=st.none() | labels,
    ),
    AssignTicket: build(AssignTicket, "agent", "system", agent_id=agent_ids, strategy=strategies_),
    UnassignTicket: build(UnassignTicket, "agent"),
    TransferTicket: build(TransferTicket, "agent", to_department=departments, reason=maybe_texts),
    ReplyAsAgent: build(ReplyAsAgent, "agent", body=texts),
    AddInternalNote: build(AddInternalNote, "agent", body=texts),
    ReplyAsRequester: build(ReplyAsRequester, "requester", channel=channels, body=texts),
    Categorize: build(Categorize, "agent", "system", category=labels),
    ChangeTags: build(ChangeTags, "agent", add=label_sets, remove=label_sets),
    ChangePriority: build(ChangePriority, "agent", priority=priorities),
    MarkPending: build(MarkPending, "agent", reason=maybe_texts),
    Resolve: build(Resolve, "agent", resolution=texts),
    ConfirmResolution: build(ConfirmResolution, "requester"),
    Reopen: build(Reopen, "requester", "agent", reason=maybe_texts),
    Close: build(Close, "agent", "system"),
    RecordSlaBreach: build(
        RecordSlaBreach,
        "system",
        target=st.sampled_from(["first_response", "resolution"]),
        due_at=due_times,
    ),
    SubmitFeedback: build(
        SubmitFeedback,
        "requester",
        rating=st.integers(1, 5),
        comment=st.none() | texts,
    ),
    RecordEmailSent: build(
        RecordEmailSent,
        "system",
        cause_event_id=st.just("evt-1"),
        recipient=st.just("ana@example.com"),
        role=st.sampled_from(["requester", "agent"]),
        template=labels,
        message_id=st.just("<m@x>"),
        subject=texts,
    ),
    RecordEmailFailed: build(
        RecordEmailFailed,
        "system",
        cause_event_id=st.just("evt-1"),
        recipient=st.just("ana@example.com"),
        role=st.sampled_from(["requester", "agent"]),
        template=labels,
        error=texts,
        permanent=st.booleans(),
    ),
    RecordAutoReply: build(
        RecordAutoReply,
        "system",
        kind=st.sampled_from(["auto_reply", "bounce"]),
        from_address=st.sampled_from(["ana@example.com", "mailer-daemon@example.com"]),
        subject=texts,
        reason=st.just("Auto-Submitted: auto-replied"),
        email_message_id=st.none() | st.sampled_from(["<ooo-1@x>", "<ooo-2@x>"]),
    ),
}
any_command = st.one_of(*COMMANDS.values())
# The commands that move a ticket through its statuses come up more often, so that
# sessions regularly reach resolved, closed, feedback and reopen, not just open.
LIFECYCLE = (ReplyAsRequester, MarkPending, Resolve, ConfirmResolution, Reopen, Close)
session_command = st.one_of(
    *COMMANDS.values(), *(COMMANDS[c] for c in LIFECYCLE), COMMANDS[SubmitFeedback]
)
# A session starts by trying to open the ticket, then anything may happen.
sessions = st.tuples(open_tickets, st.lists(session_command, min_size=10, max_size=50)).map(
    lambda s: [s[0], *s[1]]
)
EVENTS = TypeAdapter(list[AnyTicketEvent])
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_command_has_a_strategy() -> None:
    assert set(COMMANDS) == set(COMMAND_CLASSES)


def run(commands: list[Command]) -> tuple[TicketState | None, list[AnyTicketEvent], Counter[str]]:
    """Decide each command in turn on the ticket so far, checking each step."""
    state: TicketState | None = None
    history: list[AnyTicketEvent] = []
    outcomes: Counter[str] = Counter()
    visited: list[TicketState] = []
    for command in commands:
        before = copy.deepcopy(state)
        rejection: TicketRuleViolation | None = None
        try:
            events = decide(state, command)
        except TicketRuleViolation as error:
            rejection = error
        if rejection is not None:
            assert rejection.rule in RULES
            assert rejection.message
            assert state == before, "a rejected command changed the ticket"
            outcomes[rejection.rule] += 1
            continue
        assert 1 <= len(events) <= 2
        assert all(event.ticket_id == command.ticket_id for event in events)
        after = state
        for event in events:
            after = evolve(after, event)
        assert after is not None
        assert after.version == (0 if state is None else state.version) + len(events)
        state = after
        visited.append(state)
        history.extend(events)
        outcomes[type(command).__name__] += 1
    for status in sorted({s.status for s in visited}):
        label_example(f"reached {status}")
    if state is not None and state.feedback_rating is not None:
        label_example("feedback given")
    if state is not None and state.reopen_count:
        label_example("reopened")
    return state, history, outcomes


@SETTINGS
@for_all(sessions)
def test_what_decide_emits_folds_to_the_same_ticket(commands: list[Command]) -> None:
    state, history, _ = run(commands)
    assert fold(history) == state
    # The events survive the wire: JSON out and back folds to the same ticket.
    assert fold(EVENTS.validate_json(EVENTS.dump_json(history))) == state


@SETTINGS
@for_all(sessions)
def test_no_sequence_reaches_an_impossible_ticket(commands: list[Command]) -> None:
    state, history, _ = run(commands)
    if state is None:
        assert history == []
        return
    feedback_given = 0
    current: TicketState | None = None
    for event in history:
        if isinstance(event, FeedbackSubmitted):
            assert current is not None
            assert current.status == "closed", "feedback on a ticket that was not closed"
            feedback_given += 1
        status_before = None if current is None else current.status
        current = evolve(current, event)
        if isinstance(event, AutoReplyReceived):
            assert current.status == status_before, "an auto-reply changed the ticket's status"
        check_invariants(current)
    assert feedback_given <= 1
    assert state.version == len(history)
    assert state.first_responded == any(
        isinstance(e, AgentReplied | TicketResolved) for e in history
    )
    assert state.reopen_count == sum(isinstance(e, TicketReopened) for e in history)
    tag_changes = [e for e in history if isinstance(e, TagsChanged)]
    assert state.tags == (frozenset(tag_changes[-1].tags) if tag_changes else frozenset())


def check_invariants(state: TicketState) -> None:
    assert (state.status == "closed") == (state.close_reason is not None)
    if state.status == "resolved":
        assert state.resolution is not None
    if state.status in ("open", "pending"):
        assert state.resolution is None
    if state.assigned_manually:
        assert state.assignee is not None
    if state.routed_department is not None:
        assert state.department == state.routed_department
    if state.feedback_rating is not None:
        assert 1 <= state.feedback_rating <= 5
    assert state.reopen_count >= 0


@settings(max_examples=200, deadline=None)
@for_all(st.lists(any_command, max_size=5))
def test_nothing_but_open_ticket_acts_on_a_missing_ticket(commands: list[Command]) -> None:
    for command in commands:
        if isinstance(command, OpenTicket):
            continue
        with pytest.raises(TicketRuleViolation) as rejected:
            decide(None, command)
        assert rejected.value.rule == "ticket_not_found"
