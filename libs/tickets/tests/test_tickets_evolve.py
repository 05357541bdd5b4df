"""evolve and fold, the commands' own validation, the errors, and the scenario helper."""

from __future__ import annotations

import ast
import inspect
import pickle
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

import ticketstream.tickets
from ticketstream.events import (
    EVENT_CLASSES,
    Actor,
    AgentReplied,
    AnyTicketEvent,
    AutoReplyReceived,
    EmailFailed,
    EmailSent,
    FeedbackSubmitted,
    InternalNoteAdded,
    PriorityChanged,
    Requester,
    RequesterReplied,
    ResolutionConfirmed,
    SlaBreached,
    TagsChanged,
    TicketAssigned,
    TicketCategorized,
    TicketClosed,
    TicketCreated,
    TicketPendingOnRequester,
    TicketReopened,
    TicketResolved,
    TicketRouted,
    TicketTransferred,
    TicketUnassigned,
)
from ticketstream.tickets import (
    RULES,
    AssignTicket,
    ChangeTags,
    DomainError,
    InvalidHistoryError,
    OpenTicket,
    ReplyAsAgent,
    SubmitFeedback,
    TicketRuleViolation,
    TicketState,
    evolve,
    fold,
)
from ticketstream.tickets.testing import given

pytestmark = pytest.mark.unit

T = "T1000"
ANA = Requester(name="Ana", email="ana@example.com")
AGENT = Actor(kind="agent", id="alice")
DUE = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

created = TicketCreated(
    ticket_id=T,
    channel="email",
    requester=ANA,
    subject="Email issue",
    message="Unable to send emails",
    help_topic="email",
)

# One of every event type, in an order a ticket could live them.
LIFE: tuple[AnyTicketEvent, ...] = (
    created,
    TicketRouted(ticket_id=T, department="it", priority="medium", sla_plan="gold"),
    TicketAssigned(ticket_id=T, agent_id="alice"),
    TicketTransferred(ticket_id=T, from_department="it", to_department="billing"),
    TicketAssigned(ticket_id=T, agent_id="bob", strategy="least_open"),
    TicketUnassigned(ticket_id=T, previous_agent_id="bob"),
    AgentReplied(ticket_id=T, agent_id="alice", body="On it"),
    InternalNoteAdded(ticket_id=T, agent_id="alice", body="Hmm"),
    TicketPendingOnRequester(ticket_id=T),
    RequesterReplied(ticket_id=T, channel="web", body="Here you go"),
    TicketCategorized(ticket_id=T, category="billing"),
    TagsChanged(ticket_id=T, added=("vip",), tags=("vip",)),
    PriorityChanged(ticket_id=T, priority="urgent", previous_priority="medium"),
    SlaBreached(ticket_id=T, target="resolution", due_at=DUE),
    TicketResolved(ticket_id=T, agent_id="alice", resolution="Refunded"),
    ResolutionConfirmed(ticket_id=T),
    TicketClosed(ticket_id=T, reason="confirmed"),
    FeedbackSubmitted(ticket_id=T, rating=4),
    EmailSent(
        ticket_id=T,
        cause_event_id="e1",
        recipient="ana@example.com",
        role="requester",
        template="survey",
        message_id="<m@x>",
        subject="How did we do?",
    ),
    EmailFailed(
        ticket_id=T,
        cause_event_id="e1",
        recipient="ana@example.com",
        role="requester",
        template="survey",
        error="timeout",
        permanent=False,
    ),
    AutoReplyReceived(
        ticket_id=T,
        kind="auto_reply",
        from_address="ana@example.com",
        subject="Out of office: How did we do?",
        reason="Auto-Submitted: auto-replied",
        email_message_id="<ooo@x>",
    ),
    TicketReopened(ticket_id=T, reason="Charged again"),
)


def test_the_life_covers_every_event_type() -> None:
    assert {type(e) for e in LIFE} == set(EVENT_CLASSES)


def test_every_event_adds_one_to_the_version() -> None:
    state: TicketState | None = None
    for number, event in enumerate(LIFE, start=1):
        state = evolve(state, event)
        assert state.version == number


def test_folding_the_life_gives_the_final_state() -> None:
    state = fold(LIFE)
    assert state == TicketState(
        ticket_id=T,
        version=len(LIFE),
        status="open",
        channel="email",
        requester=ANA,
        subject="Email issue",
        help_topic="email",
        department="billing",
        routed_department=None,
        assignee=None,
        assigned_manually=False,
        priority="urgent",
        category="billing",
        tags=frozenset({"vip"}),
        sla_plan="gold",
        breached=frozenset({"resolution"}),
        first_responded=True,
        resolution=None,
        close_reason=None,
        reopen_count=1,
        feedback_rating=4,
        email_message_ids=frozenset({"<ooo@x>"}),
    )


def test_fold_continues_from_a_state() -> None:
    middle = fold(LIFE[:7])
    assert fold(LIFE[7:], middle) == fold(LIFE)


def test_an_empty_history_is_no_ticket() -> None:
    assert fold([]) is None


def test_a_ticket_without_priority_has_none_until_routed() -> None:
    state = fold(LIFE[:1])
    assert state is not None
    assert state.priority is None
    assert fold(LIFE[:2]) == TicketState(
        ticket_id=T,
        version=2,
        status="open",
        channel="email",
        requester=ANA,
        subject="Email issue",
        help_topic="email",
        department="it",
        routed_department="it",
        priority="medium",
        sla_plan="gold",
    )


def test_a_requester_reply_leaves_a_resolved_ticket_for_the_reopen_that_follows() -> None:
    resolved = TicketResolved(ticket_id=T, agent_id="alice", resolution="Done")
    replied = RequesterReplied(ticket_id=T, channel="web", body="No")
    state = fold([created, resolved, replied])
    assert state is not None
    assert state.status == "resolved"


def test_routing_keeps_an_existing_category_even_when_the_event_names_one() -> None:
    categorized = TicketCategorized(ticket_id=T, category="hardware")
    routed = TicketRouted(ticket_id=T, department="it", priority="low", category="email")
    state = fold([created, categorized, routed])
    assert state is not None
    assert state.category == "hardware"


@pytest.mark.parametrize(
    "before",
    [
        [created],
        [created, TicketPendingOnRequester(ticket_id=T)],
        [created, TicketResolved(ticket_id=T, agent_id="alice", resolution="Done")],
        [created, TicketClosed(ticket_id=T, reason="agent")],
    ],
    ids=["open", "pending", "resolved", "closed"],
)
def test_an_auto_reply_is_recorded_and_changes_nothing_but_its_message_id(
    before: list[AnyTicketEvent],
) -> None:
    state = fold(before)
    assert state is not None
    bounce = AutoReplyReceived(
        ticket_id=T,
        kind="bounce",
        from_address="mailer-daemon@example.com",
        subject="Undelivered Mail Returned to Sender",
        reason="Content-Type: multipart/report; report-type=delivery-status",
        email_message_id="<dsn@x>",
    )
    after = evolve(state, bounce)
    assert after == replace(
        state, version=state.version + 1, email_message_ids=frozenset({"<dsn@x>"})
    )
    without_id = bounce.model_copy(update={"email_message_id": None})
    assert evolve(state, without_id) == replace(state, version=state.version + 1)


def test_a_history_must_start_with_ticket_created() -> None:
    with pytest.raises(InvalidHistoryError, match="starts with"):
        evolve(None, ResolutionConfirmed(ticket_id=T))


def test_a_ticket_is_created_once() -> None:
    with pytest.raises(InvalidHistoryError, match="created twice"):
        fold([created, created])


def test_events_of_another_ticket_do_not_apply() -> None:
    with pytest.raises(InvalidHistoryError, match="T2000"):
        fold([created, ResolutionConfirmed(ticket_id="T2000")])


# ------------------------------------------------------------------ command validation


def test_an_agent_actor_needs_an_agent_id() -> None:
    with pytest.raises(ValidationError, match="not a valid agent id"):
        ReplyAsAgent(ticket_id=T, actor=Actor(kind="agent", id="Alice Smith"), body="Hi")


def test_requester_and_system_actors_are_not_held_to_agent_ids() -> None:
    SubmitFeedback(ticket_id=T, actor=Actor(kind="requester", id="Ana@Example.com"), rating=3)


@pytest.mark.parametrize("rating", [0, 6])
def test_a_rating_is_from_one_to_five(rating: int) -> None:
    with pytest.raises(ValidationError):
        SubmitFeedback(ticket_id=T, actor=Actor(kind="requester", id="a@b"), rating=rating)


def test_a_command_names_a_valid_ticket_id() -> None:
    with pytest.raises(ValidationError):
        ReplyAsAgent(ticket_id="not a ticket", actor=AGENT, body="Hi")


def test_commands_refuse_unknown_fields_and_are_frozen() -> None:
    with pytest.raises(ValidationError):
        AssignTicket.model_validate(
            {"ticket_id": T, "actor": AGENT, "agent_id": "bob", "force": True}
        )
    command = AssignTicket(ticket_id=T, actor=AGENT, agent_id="bob")
    assert command.strategy == "manual"
    with pytest.raises(ValidationError):
        command.agent_id = "carol"  # type: ignore[misc]


def test_tags_are_labels() -> None:
    with pytest.raises(ValidationError):
        ChangeTags(ticket_id=T, actor=AGENT, add=frozenset({""}))


def test_open_ticket_validates_like_the_event() -> None:
    with pytest.raises(ValidationError, match="channel"):
        OpenTicket.model_validate(
            {
                "ticket_id": T,
                "actor": AGENT,
                "channel": "fax",
                "requester": ANA,
                "subject": "x",
                "message": "y",
                "help_topic": "z",
            }
        )


# ---------------------------------------------------------------------------- errors


def test_a_rule_violation_names_its_rule_and_reason() -> None:
    error = TicketRuleViolation("ticket_closed", "ticket T1000 is closed")
    assert isinstance(error, DomainError)
    assert (error.rule, error.message) == ("ticket_closed", "ticket T1000 is closed")
    assert str(error) == "ticket T1000 is closed [ticket_closed]"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.rule, copy.message) == (error.rule, error.message)


def test_rule_codes_are_snake_case() -> None:
    assert all(rule.replace("_", "").isalpha() and rule.islower() for rule in RULES)
    assert {"ticket_closed", "not_allowed_for_actor", "not_requester", "unchanged"} <= RULES


def test_invalid_history_is_a_domain_error() -> None:
    assert issubclass(InvalidHistoryError, DomainError)


# -------------------------------------------------------------------- the rules are pure

FORBIDDEN_IMPORTS = {"nats", "asyncpg", "httpx", "logging", "structlog", "time", "faststream"}


def test_the_rules_import_no_infrastructure() -> None:
    package = Path(ticketstream.tickets.__file__).parent
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_IMPORTS, f"{source.name}: {name}"
            if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today"}:
                pytest.fail(f"{source.name} reads the clock")


def test_the_public_api_is_documented() -> None:
    for name in ticketstream.tickets.__all__:
        value = getattr(ticketstream.tickets, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__doc__, f"{name} has no docstring"


# ---------------------------------------------------------------- the scenario helper


def test_then_fails_with_both_listings_when_events_differ() -> None:
    with pytest.raises(AssertionError, match=r"(?s)expected .*TicketReopened.*but got .*Created"):
        given().when(
            OpenTicket(
                ticket_id=T,
                actor=AGENT,
                channel="phone",
                requester=ANA,
                subject="s",
                message="m",
                help_topic="h",
            )
        ).then(TicketReopened(ticket_id=T))


def test_then_fails_when_the_command_was_rejected() -> None:
    with pytest.raises(AssertionError, match=r"rejected: .*\[ticket_not_found\]"):
        given().when(ReplyAsAgent(ticket_id=T, actor=AGENT, body="Hi")).then()


def test_raises_fails_on_another_rule_or_on_success() -> None:
    with pytest.raises(AssertionError, match="expected rule 'ticket_closed'"):
        given().when(ReplyAsAgent(ticket_id=T, actor=AGENT, body="Hi")).raises("ticket_closed")
    with pytest.raises(AssertionError, match="to be rejected"):
        given(created).when(ReplyAsAgent(ticket_id=T, actor=AGENT, body="Hi")).raises(
            "ticket_closed"
        )
