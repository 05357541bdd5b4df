"""Every command on every status it can meet: given events, when a command, then events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ticketstream.events import (
    Actor,
    ActorKind,
    AgentReplied,
    AnyTicketEvent,
    AttachmentRef,
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
    ALLOWED_ACTORS,
    COMMAND_CLASSES,
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
    TicketCommand,
    TicketStatus,
    TransferTicket,
    UnassignTicket,
)
from ticketstream.tickets.testing import given

pytestmark = pytest.mark.unit

T = "T1000"
ANA = Requester(name="Ana", email="ana@example.com")
REQUESTER = Actor(kind="requester", id="ana@example.com")
REQUESTER_OTHER_CASE = Actor(kind="requester", id="ANA@Example.COM")
STRANGER = Actor(kind="requester", id="eve@example.com")
AGENT = Actor(kind="agent", id="alice")
OTHER_AGENT = Actor(kind="agent", id="bob")
SYSTEM = Actor(kind="system", id="routing")
ACTORS: dict[ActorKind, Actor] = {"requester": REQUESTER, "agent": AGENT, "system": SYSTEM}
FIRST_DUE = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
RESOLUTION_DUE = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
LOG = AttachmentRef(
    object_name="att-1", filename="log.txt", content_type="text/plain", size=12, sha256="a" * 64
)

created = TicketCreated(
    ticket_id=T,
    channel="web",
    requester=ANA,
    subject="Email issue",
    message="Unable to send emails",
    help_topic="email",
    priority="high",
)
routed = TicketRouted(
    ticket_id=T,
    department="it",
    priority="high",
    sla_plan="default",
    first_response_due=FIRST_DUE,
    resolution_due=RESOLUTION_DUE,
    category="email",
)
assigned = TicketAssigned(ticket_id=T, agent_id="alice")
auto_assigned = TicketAssigned(ticket_id=T, agent_id="bob", strategy="round_robin")
agent_replied = AgentReplied(ticket_id=T, agent_id="alice", body="Looking into it")
pending = TicketPendingOnRequester(ticket_id=T, reason="Which client do you use?")
resolved = TicketResolved(ticket_id=T, agent_id="alice", resolution="Unlocked the account")
confirmed = ResolutionConfirmed(ticket_id=T)
closed_confirmed = TicketClosed(ticket_id=T, reason="confirmed")
closed_by_agent = TicketClosed(ticket_id=T, reason="agent")
feedback = FeedbackSubmitted(ticket_id=T, rating=5, comment="Quick, thanks")

OPEN: tuple[AnyTicketEvent, ...] = (created,)
PENDING: tuple[AnyTicketEvent, ...] = (created, pending)
RESOLVED: tuple[AnyTicketEvent, ...] = (created, resolved)
CLOSED: tuple[AnyTicketEvent, ...] = (created, resolved, confirmed, closed_confirmed)
HISTORY: dict[TicketStatus, tuple[AnyTicketEvent, ...]] = {
    "open": OPEN,
    "pending": PENDING,
    "resolved": RESOLVED,
    "closed": CLOSED,
}


def statuses(*names: TicketStatus) -> pytest.MarkDecorator:
    """Parametrize a test over ticket histories that end in each status."""
    return pytest.mark.parametrize("history", [HISTORY[n] for n in names], ids=list(names))


# ------------------------------------------------------------------ who may do what
#
# For every command: how to build it for an actor, and a history on which every actor
# allowed to give it succeeds. Written out here, independently of ALLOWED_ACTORS.

Factory = Callable[[Actor], Command]

CASES: dict[type[TicketCommand], tuple[Factory, tuple[AnyTicketEvent, ...], set[ActorKind]]] = {
    OpenTicket: (
        lambda a: OpenTicket(
            ticket_id=T,
            actor=a,
            channel="web",
            requester=ANA,
            subject="Email issue",
            message="Unable to send emails",
            help_topic="email",
        ),
        (),
        {"requester", "agent", "system"},
    ),
    RouteTicket: (
        lambda a: RouteTicket(ticket_id=T, actor=a, department="it", priority="medium"),
        OPEN,
        {"agent", "system"},
    ),
    AssignTicket: (
        lambda a: AssignTicket(
            ticket_id=T,
            actor=a,
            agent_id="carol",
            strategy="round_robin" if a.kind == "system" else "manual",
        ),
        OPEN,
        {"agent", "system"},
    ),
    UnassignTicket: (
        lambda a: UnassignTicket(ticket_id=T, actor=a),
        (created, assigned),
        {"agent"},
    ),
    TransferTicket: (
        lambda a: TransferTicket(ticket_id=T, actor=a, to_department="billing"),
        (created, routed),
        {"agent"},
    ),
    ReplyAsAgent: (lambda a: ReplyAsAgent(ticket_id=T, actor=a, body="Hi"), OPEN, {"agent"}),
    AddInternalNote: (
        lambda a: AddInternalNote(ticket_id=T, actor=a, body="Note"),
        OPEN,
        {"agent"},
    ),
    ReplyAsRequester: (
        lambda a: ReplyAsRequester(ticket_id=T, actor=a, channel="web", body="More info"),
        OPEN,
        {"requester"},
    ),
    Categorize: (
        lambda a: Categorize(ticket_id=T, actor=a, category="network"),
        OPEN,
        {"agent", "system"},
    ),
    ChangeTags: (
        lambda a: ChangeTags(ticket_id=T, actor=a, add=frozenset({"vip"})),
        OPEN,
        {"agent"},
    ),
    ChangePriority: (
        lambda a: ChangePriority(ticket_id=T, actor=a, priority="low"),
        OPEN,
        {"agent"},
    ),
    MarkPending: (lambda a: MarkPending(ticket_id=T, actor=a), OPEN, {"agent"}),
    Resolve: (lambda a: Resolve(ticket_id=T, actor=a, resolution="Fixed"), OPEN, {"agent"}),
    ConfirmResolution: (
        lambda a: ConfirmResolution(ticket_id=T, actor=a),
        RESOLVED,
        {"requester"},
    ),
    Reopen: (lambda a: Reopen(ticket_id=T, actor=a), RESOLVED, {"requester", "agent"}),
    Close: (lambda a: Close(ticket_id=T, actor=a), RESOLVED, {"agent", "system"}),
    RecordSlaBreach: (
        lambda a: RecordSlaBreach(ticket_id=T, actor=a, target="resolution", due_at=FIRST_DUE),
        OPEN,
        {"system"},
    ),
    SubmitFeedback: (
        lambda a: SubmitFeedback(ticket_id=T, actor=a, rating=4),
        CLOSED,
        {"requester"},
    ),
    RecordEmailSent: (
        lambda a: RecordEmailSent(
            ticket_id=T,
            actor=a,
            cause_event_id="evt-1",
            recipient="ana@example.com",
            role="requester",
            template="auto_reply",
            message_id="<m1@ticketstream>",
            subject="[#T1000] Email issue",
        ),
        OPEN,
        {"system"},
    ),
    RecordEmailFailed: (
        lambda a: RecordEmailFailed(
            ticket_id=T,
            actor=a,
            cause_event_id="evt-1",
            recipient="ana@example.com",
            role="requester",
            template="auto_reply",
            error="550 mailbox unavailable",
            permanent=True,
        ),
        OPEN,
        {"system"},
    ),
    RecordAutoReply: (
        lambda a: RecordAutoReply(
            ticket_id=T,
            actor=a,
            kind="auto_reply",
            from_address="ana@example.com",
            subject="Out of office: [#T1000] Email issue",
            reason="Auto-Submitted: auto-replied",
            email_message_id="<ooo@mail.example>",
        ),
        OPEN,
        {"system"},
    ),
}
PERMISSIONS = [
    pytest.param(cls, kind, id=f"{cls.__name__}-{kind}")
    for cls in CASES
    for kind in ("requester", "agent", "system")
]
EXISTING_TICKET_COMMANDS = [c for c in CASES if c is not OpenTicket]
REQUESTER_COMMANDS = [c for c, (_, _, kinds) in CASES.items() if "requester" in kinds]


def test_every_command_has_a_permission_case() -> None:
    assert set(CASES) == set(COMMAND_CLASSES)


def test_allowed_actors_table_matches_the_rules() -> None:
    assert {cls: set(kinds) for cls, kinds in ALLOWED_ACTORS.items()} == {
        cls: kinds for cls, (_, _, kinds) in CASES.items()
    }


@pytest.mark.parametrize(("cls", "kind"), PERMISSIONS)
def test_actor_permission(cls: type[TicketCommand], kind: ActorKind) -> None:
    factory, history, allowed = CASES[cls]
    outcome = given(*history).when(factory(ACTORS[kind]))
    if kind in allowed:
        assert outcome.error is None, outcome.error
        assert outcome.events
    else:
        error = outcome.raises("not_allowed_for_actor")
        assert cls.__name__ in error.message
        assert kind in error.message


@pytest.mark.parametrize("cls", REQUESTER_COMMANDS, ids=lambda c: c.__name__)
def test_a_requester_acts_only_on_their_own_ticket(cls: type[TicketCommand]) -> None:
    factory, history, _ = CASES[cls]
    error = given(*history).when(factory(STRANGER)).raises("not_requester")
    assert "eve@example.com" in error.message


@pytest.mark.parametrize("cls", REQUESTER_COMMANDS, ids=lambda c: c.__name__)
def test_the_requester_email_is_compared_case_insensitively(cls: type[TicketCommand]) -> None:
    factory, history, _ = CASES[cls]
    assert given(*history).when(factory(REQUESTER_OTHER_CASE)).events


@pytest.mark.parametrize("cls", EXISTING_TICKET_COMMANDS, ids=lambda c: c.__name__)
def test_every_command_but_open_needs_an_existing_ticket(cls: type[TicketCommand]) -> None:
    factory, _, allowed = CASES[cls]
    actor = ACTORS[sorted(allowed)[0]]
    error = given().when(factory(actor)).raises("ticket_not_found")
    assert T in error.message


@pytest.mark.parametrize("cls", EXISTING_TICKET_COMMANDS, ids=lambda c: c.__name__)
def test_a_command_for_another_ticket_is_invalid(cls: type[TicketCommand]) -> None:
    factory, history, allowed = CASES[cls]
    other = created.model_copy(update={"ticket_id": "T2000"})
    actor = ACTORS[sorted(allowed)[0]]
    given(other, *[e.model_copy(update={"ticket_id": "T2000"}) for e in history[1:]]).when(
        factory(actor)
    ).raises("invalid_command")


# ------------------------------------------------------------------------- OpenTicket


def open_ticket(actor: Actor = REQUESTER, **changes: object) -> OpenTicket:
    fields: dict[str, object] = {
        "ticket_id": T,
        "actor": actor,
        "channel": "web",
        "requester": ANA,
        "subject": "Email issue",
        "message": "Unable to send emails",
        "help_topic": "email",
        "priority": "high",
    }
    return OpenTicket.model_validate(fields | changes)


def test_a_requester_opens_a_ticket() -> None:
    state = given().when(open_ticket()).then(created)
    assert state.version == 1
    assert state.status == "open"
    assert state.requester == ANA
    assert state.priority == "high"
    assert (state.department, state.routed_department, state.assignee) == (None, None, None)
    assert not state.first_responded


def test_an_agent_opens_a_ticket_taken_by_phone() -> None:
    given().when(open_ticket(AGENT, channel="phone", priority=None)).then(
        created.model_copy(update={"channel": "phone", "priority": None})
    )


def test_intake_opens_a_ticket_from_an_email_with_attachments() -> None:
    command = open_ticket(
        SYSTEM, channel="email", attachments=(LOG,), email_message_id="<abc@mail.example>"
    )
    given().when(command).then(
        created.model_copy(
            update={
                "channel": "email",
                "attachments": (LOG,),
                "email_message_id": "<abc@mail.example>",
            }
        )
    )


def test_nobody_opens_a_ticket_for_someone_else_as_a_requester() -> None:
    given().when(open_ticket(STRANGER)).raises("not_requester")


@statuses("open", "pending", "resolved", "closed")
def test_a_ticket_is_opened_once(history: tuple[AnyTicketEvent, ...]) -> None:
    given(*history).when(open_ticket()).raises("ticket_exists")


# ------------------------------------------------------------------------ RouteTicket


def route(department: str = "it", actor: Actor = SYSTEM, **changes: object) -> RouteTicket:
    fields: dict[str, object] = {
        "ticket_id": T,
        "actor": actor,
        "department": department,
        "priority": "high",
        "sla_plan": "default",
        "first_response_due": FIRST_DUE,
        "resolution_due": RESOLUTION_DUE,
        "category": "email",
    }
    return RouteTicket.model_validate(fields | changes)


def test_routing_places_the_ticket_with_priority_sla_and_category() -> None:
    state = (
        given(created)
        .when(route(priority="urgent"))
        .then(routed.model_copy(update={"priority": "urgent"}))
    )
    assert (state.department, state.routed_department) == ("it", "it")
    assert state.priority == "urgent"
    assert state.sla_plan == "default"
    assert (state.first_response_due, state.resolution_due) == (FIRST_DUE, RESOLUTION_DUE)
    assert state.category == "email"


def test_routing_never_overrides_an_existing_category() -> None:
    categorized = TicketCategorized(ticket_id=T, category="hardware")
    state = (
        given(created, categorized).when(route()).then(routed.model_copy(update={"category": None}))
    )
    assert state.category == "hardware"


def test_an_agent_routes_a_ticket_without_sla() -> None:
    state = (
        given(created)
        .when(route("billing", AGENT, sla_plan=None, first_response_due=None, resolution_due=None))
        .then(TicketRouted(ticket_id=T, department="billing", priority="high", category="email"))
    )
    assert state.first_response_due is None


@statuses("pending", "resolved")
def test_routing_applies_to_tickets_not_closed(history: tuple[AnyTicketEvent, ...]) -> None:
    given(*history).when(route()).then(routed)


def test_routing_again_to_the_same_department_is_rejected() -> None:
    error = given(created, routed).when(route()).raises("already_routed")
    assert "it" in error.message


def test_routing_to_another_department_reroutes() -> None:
    state = (
        given(created, routed)
        .when(route("network", category=None))
        .then(
            TicketRouted(
                ticket_id=T,
                department="network",
                priority="high",
                sla_plan="default",
                first_response_due=FIRST_DUE,
                resolution_due=RESOLUTION_DUE,
            )
        )
    )
    assert state.department == "network"


def test_a_transferred_ticket_can_be_routed_in_its_new_department() -> None:
    transferred = TicketTransferred(ticket_id=T, from_department="it", to_department="billing")
    given(created, routed, transferred).when(route("billing")).then(
        routed.model_copy(update={"department": "billing", "category": None})
    )


def test_a_closed_ticket_is_not_routed() -> None:
    given(*CLOSED).when(route()).raises("ticket_closed")


# ----------------------------------------------------------------------- AssignTicket


def assign(agent_id: str = "alice", actor: Actor = AGENT, strategy: str = "manual") -> AssignTicket:
    return AssignTicket.model_validate(
        {"ticket_id": T, "actor": actor, "agent_id": agent_id, "strategy": strategy}
    )


def test_an_agent_assigns_by_hand() -> None:
    state = given(created, routed).when(assign()).then(assigned)
    assert state.assignee == "alice"
    assert state.assigned_manually


def test_the_system_assigns_by_strategy() -> None:
    state = given(created, routed).when(assign("bob", SYSTEM, "round_robin")).then(auto_assigned)
    assert state.assignee == "bob"
    assert not state.assigned_manually


def test_the_system_assigns_by_least_open() -> None:
    given(created).when(assign("bob", SYSTEM, "least_open")).then(
        TicketAssigned(ticket_id=T, agent_id="bob", strategy="least_open")
    )


def test_the_system_cannot_claim_a_manual_assignment() -> None:
    given(created).when(assign("bob", SYSTEM, "manual")).raises("not_allowed_for_actor")


@pytest.mark.parametrize("strategy", ["round_robin", "least_open"])
def test_an_agent_cannot_assign_by_strategy(strategy: str) -> None:
    given(created).when(assign("bob", AGENT, strategy)).raises("not_allowed_for_actor")


def test_an_agent_reassigns_by_hand_over_any_assignment() -> None:
    state = (
        given(created, auto_assigned)
        .when(assign("carol"))
        .then(TicketAssigned(ticket_id=T, agent_id="carol"))
    )
    assert (state.assignee, state.assigned_manually) == ("carol", True)


def test_assigning_to_the_current_assignee_is_rejected() -> None:
    given(created, assigned).when(assign("alice")).raises("already_assigned")


def test_automation_assigning_the_current_assignee_is_rejected() -> None:
    given(created, auto_assigned).when(assign("bob", SYSTEM, "least_open")).raises(
        "already_assigned"
    )


@pytest.mark.parametrize("existing", [assigned, auto_assigned], ids=["manual", "automatic"])
def test_automation_never_overrides_an_existing_assignment(existing: TicketAssigned) -> None:
    error = (
        given(created, existing)
        .when(assign("carol", SYSTEM, "round_robin"))
        .raises("already_assigned")
    )
    assert existing.agent_id in error.message


@statuses("pending", "resolved")
def test_tickets_not_closed_can_be_assigned(history: tuple[AnyTicketEvent, ...]) -> None:
    given(*history).when(assign()).then(assigned)


def test_a_closed_ticket_is_not_assigned() -> None:
    given(*CLOSED).when(assign()).raises("ticket_closed")


# --------------------------------------------------------------------- UnassignTicket


def test_an_agent_unassigns_the_ticket() -> None:
    state = (
        given(created, assigned)
        .when(UnassignTicket(ticket_id=T, actor=OTHER_AGENT))
        .then(TicketUnassigned(ticket_id=T, previous_agent_id="alice"))
    )
    assert state.assignee is None
    assert not state.assigned_manually


def test_unassigning_an_unassigned_ticket_is_rejected() -> None:
    given(created).when(UnassignTicket(ticket_id=T, actor=AGENT)).raises("not_assigned")


def test_a_closed_ticket_is_not_unassigned() -> None:
    given(created, assigned, *CLOSED[1:]).when(UnassignTicket(ticket_id=T, actor=AGENT)).raises(
        "ticket_closed"
    )


# --------------------------------------------------------------------- TransferTicket


def transfer(to: str = "billing", reason: str | None = "Invoice question") -> TransferTicket:
    return TransferTicket(ticket_id=T, actor=AGENT, to_department=to, reason=reason)


def test_a_transfer_moves_the_ticket_and_releases_its_assignee() -> None:
    state = (
        given(created, routed, assigned)
        .when(transfer())
        .then(
            TicketTransferred(
                ticket_id=T,
                from_department="it",
                to_department="billing",
                reason="Invoice question",
            )
        )
    )
    assert state.department == "billing"
    assert state.routed_department is None
    assert state.assignee is None
    assert not state.assigned_manually
    assert state.priority == "high"


def test_an_unrouted_ticket_is_transferred_from_nowhere() -> None:
    given(created).when(transfer(reason=None)).then(
        TicketTransferred(ticket_id=T, from_department=None, to_department="billing")
    )


def test_a_transfer_to_the_same_department_is_rejected() -> None:
    given(created, routed).when(transfer("it")).raises("unchanged")


def test_a_closed_ticket_is_not_transferred() -> None:
    given(*CLOSED).when(transfer()).raises("ticket_closed")


# ----------------------------------------------------------------------- ReplyAsAgent


@statuses("open", "pending", "resolved")
def test_an_agent_replies_publicly(history: tuple[AnyTicketEvent, ...]) -> None:
    before = given(*history).state
    assert before is not None
    command = ReplyAsAgent(ticket_id=T, actor=AGENT, body="Looking into it", attachments=(LOG,))
    state = (
        given(*history).when(command).then(agent_replied.model_copy(update={"attachments": (LOG,)}))
    )
    assert state.first_responded
    assert state.status == before.status


def test_the_first_reply_stays_recorded_after_more_replies() -> None:
    command = ReplyAsAgent(ticket_id=T, actor=OTHER_AGENT, body="Any news?")
    state = (
        given(created, agent_replied)
        .when(command)
        .then(AgentReplied(ticket_id=T, agent_id="bob", body="Any news?"))
    )
    assert state.first_responded


def test_an_agent_does_not_reply_on_a_closed_ticket() -> None:
    given(*CLOSED).when(ReplyAsAgent(ticket_id=T, actor=AGENT, body="Hi")).raises("ticket_closed")


# -------------------------------------------------------------------- AddInternalNote


@statuses("open", "pending", "resolved", "closed")
def test_internal_notes_are_allowed_in_every_status(history: tuple[AnyTicketEvent, ...]) -> None:
    before = given(*history).state
    command = AddInternalNote(ticket_id=T, actor=AGENT, body="Account locked after 5 tries")
    state = (
        given(*history)
        .when(command)
        .then(InternalNoteAdded(ticket_id=T, agent_id="alice", body="Account locked after 5 tries"))
    )
    assert before is not None
    assert state == replace(before, version=before.version + 1)


# ------------------------------------------------------------------- ReplyAsRequester


def requester_reply(actor: Actor = REQUESTER) -> ReplyAsRequester:
    return ReplyAsRequester(
        ticket_id=T, actor=actor, channel="email", body="Still broken", email_message_id="<r@x>"
    )


requester_replied = RequesterReplied(
    ticket_id=T, channel="email", body="Still broken", email_message_id="<r@x>"
)


def test_the_requester_replies_on_an_open_ticket() -> None:
    state = given(created).when(requester_reply()).then(requester_replied)
    assert state.status == "open"


def test_a_reply_to_a_pending_ticket_opens_it() -> None:
    state = given(*PENDING).when(requester_reply()).then(requester_replied)
    assert state.status == "open"


def test_a_reply_to_a_resolved_ticket_reopens_it() -> None:
    state = (
        given(*RESOLVED)
        .when(requester_reply())
        .then(requester_replied, TicketReopened(ticket_id=T, reason="requester replied"))
    )
    assert state.status == "open"
    assert state.resolution is None
    assert state.reopen_count == 1


def test_the_same_email_is_taken_once() -> None:
    error = given(created, requester_replied).when(requester_reply()).raises("duplicate_email")
    assert "<r@x>" in error.message


def test_the_email_that_opened_the_ticket_is_not_taken_again_as_a_reply() -> None:
    by_email = created.model_copy(update={"channel": "email", "email_message_id": "<r@x>"})
    given(by_email).when(requester_reply()).raises("duplicate_email")


def test_a_closed_ticket_takes_no_requester_reply() -> None:
    error = given(*CLOSED).when(requester_reply()).raises("ticket_closed")
    assert "new ticket" in error.message


# ------------------------------------------------------------------------- Categorize


def test_categorize_an_uncategorized_ticket() -> None:
    state = (
        given(created)
        .when(Categorize(ticket_id=T, actor=AGENT, category="network"))
        .then(TicketCategorized(ticket_id=T, category="network", previous_category=None))
    )
    assert state.category == "network"


def test_recategorize_names_the_previous_category() -> None:
    given(created, routed).when(Categorize(ticket_id=T, actor=SYSTEM, category="network")).then(
        TicketCategorized(ticket_id=T, category="network", previous_category="email")
    )


def test_the_same_category_is_unchanged() -> None:
    given(created, routed).when(Categorize(ticket_id=T, actor=AGENT, category="email")).raises(
        "unchanged"
    )


def test_a_closed_ticket_is_not_categorized() -> None:
    given(*CLOSED).when(Categorize(ticket_id=T, actor=AGENT, category="x")).raises("ticket_closed")


# ------------------------------------------------------------------------- ChangeTags


def tags(add: set[str] = set(), remove: set[str] = set()) -> ChangeTags:  # noqa: B006
    return ChangeTags(ticket_id=T, actor=AGENT, add=frozenset(add), remove=frozenset(remove))


tagged = TagsChanged(ticket_id=T, added=("email", "vip"), tags=("email", "vip"))


def test_add_tags() -> None:
    state = given(created).when(tags(add={"vip", "email"})).then(tagged)
    assert state.tags == {"vip", "email"}


def test_only_actual_changes_are_recorded() -> None:
    state = (
        given(created, tagged)
        .when(tags(add={"vip", "outage"}, remove={"email", "x"}))
        .then(
            TagsChanged(ticket_id=T, added=("outage",), removed=("email",), tags=("outage", "vip"))
        )
    )
    assert state.tags == {"outage", "vip"}


@pytest.mark.parametrize(
    ("add", "remove"), [(set(), set()), ({"vip"}, set()), ({"email"}, {"absent"})]
)
def test_tags_that_change_nothing_are_rejected(add: set[str], remove: set[str]) -> None:
    given(created, tagged).when(tags(add, remove)).raises("unchanged")


def test_a_tag_both_added_and_removed_is_an_invalid_command() -> None:
    error = given(created).when(tags(add={"vip", "a"}, remove={"vip"})).raises("invalid_command")
    assert "vip" in error.message


def test_a_closed_tickets_tags_do_not_change() -> None:
    given(*CLOSED).when(tags(add={"vip"})).raises("ticket_closed")


# --------------------------------------------------------------------- ChangePriority


def test_change_priority_names_the_previous_one() -> None:
    state = (
        given(created, routed)
        .when(ChangePriority(ticket_id=T, actor=AGENT, priority="low"))
        .then(PriorityChanged(ticket_id=T, priority="low", previous_priority="high"))
    )
    assert state.priority == "low"


def test_set_a_priority_on_a_ticket_without_one() -> None:
    no_priority = created.model_copy(update={"priority": None})
    given(no_priority).when(ChangePriority(ticket_id=T, actor=AGENT, priority="urgent")).then(
        PriorityChanged(ticket_id=T, priority="urgent", previous_priority=None)
    )


def test_the_same_priority_is_unchanged() -> None:
    given(created).when(ChangePriority(ticket_id=T, actor=AGENT, priority="high")).raises(
        "unchanged"
    )


def test_a_closed_tickets_priority_does_not_change() -> None:
    given(*CLOSED).when(ChangePriority(ticket_id=T, actor=AGENT, priority="low")).raises(
        "ticket_closed"
    )


# ------------------------------------------------------------------------ MarkPending


def test_an_open_ticket_becomes_pending_on_the_requester() -> None:
    command = MarkPending(ticket_id=T, actor=AGENT, reason="Which client do you use?")
    state = given(created).when(command).then(pending)
    assert state.status == "pending"


@statuses("pending", "resolved", "closed")
def test_only_an_open_ticket_becomes_pending(history: tuple[AnyTicketEvent, ...]) -> None:
    given(*history).when(MarkPending(ticket_id=T, actor=AGENT)).raises("invalid_transition")


# ---------------------------------------------------------------------------- Resolve


@statuses("open", "pending")
def test_an_agent_resolves(history: tuple[AnyTicketEvent, ...]) -> None:
    command = Resolve(ticket_id=T, actor=AGENT, resolution="Unlocked the account")
    state = given(*history).when(command).then(resolved)
    assert state.status == "resolved"
    assert state.resolution == "Unlocked the account"


@statuses("resolved", "closed")
def test_resolve_only_from_open_or_pending(history: tuple[AnyTicketEvent, ...]) -> None:
    error = (
        given(*history)
        .when(Resolve(ticket_id=T, actor=AGENT, resolution="x"))
        .raises("invalid_transition")
    )
    assert "open or pending" in error.message


# ------------------------------------------------------------------ ConfirmResolution


def test_confirming_the_resolution_closes_the_ticket() -> None:
    state = (
        given(*RESOLVED)
        .when(ConfirmResolution(ticket_id=T, actor=REQUESTER))
        .then(confirmed, closed_confirmed)
    )
    assert state.status == "closed"
    assert state.close_reason == "confirmed"
    assert state.resolution == "Unlocked the account"


@statuses("open", "pending", "closed")
def test_only_a_resolution_is_confirmed(history: tuple[AnyTicketEvent, ...]) -> None:
    given(*history).when(ConfirmResolution(ticket_id=T, actor=REQUESTER)).raises(
        "invalid_transition"
    )


# ----------------------------------------------------------------------------- Reopen


@pytest.mark.parametrize("actor", [REQUESTER, AGENT], ids=["requester", "agent"])
def test_a_resolved_ticket_is_reopened(actor: Actor) -> None:
    state = (
        given(*RESOLVED)
        .when(Reopen(ticket_id=T, actor=actor, reason="Still broken"))
        .then(TicketReopened(ticket_id=T, reason="Still broken"))
    )
    assert state.status == "open"
    assert state.resolution is None
    assert state.reopen_count == 1


def test_an_agent_reopens_a_closed_ticket_and_its_feedback_stays() -> None:
    state = (
        given(*CLOSED, feedback)
        .when(Reopen(ticket_id=T, actor=AGENT))
        .then(TicketReopened(ticket_id=T))
    )
    assert state.status == "open"
    assert state.close_reason is None
    assert state.resolution is None
    assert state.feedback_rating == 5


def test_reopen_counts_every_reopening() -> None:
    reopened = TicketReopened(ticket_id=T)
    state = (
        given(*RESOLVED, reopened, resolved)
        .when(Reopen(ticket_id=T, actor=REQUESTER))
        .then(reopened)
    )
    assert state.reopen_count == 2


def test_a_requester_cannot_reopen_a_closed_ticket() -> None:
    error = given(*CLOSED).when(Reopen(ticket_id=T, actor=REQUESTER)).raises("invalid_transition")
    assert "requester" in error.message


@statuses("open", "pending")
@pytest.mark.parametrize("actor", [REQUESTER, AGENT], ids=["requester", "agent"])
def test_an_open_or_pending_ticket_is_not_reopened(
    history: tuple[AnyTicketEvent, ...], actor: Actor
) -> None:
    given(*history).when(Reopen(ticket_id=T, actor=actor)).raises("invalid_transition")


# ------------------------------------------------------------------------------ Close


@statuses("open", "pending", "resolved")
def test_an_agent_closes(history: tuple[AnyTicketEvent, ...]) -> None:
    state = given(*history).when(Close(ticket_id=T, actor=AGENT)).then(closed_by_agent)
    assert state.status == "closed"
    assert state.close_reason == "agent"


def test_an_agent_cannot_close_a_closed_ticket() -> None:
    given(*CLOSED).when(Close(ticket_id=T, actor=AGENT)).raises("invalid_transition")


def test_the_system_auto_closes_a_resolved_ticket() -> None:
    state = (
        given(*RESOLVED)
        .when(Close(ticket_id=T, actor=SYSTEM))
        .then(TicketClosed(ticket_id=T, reason="auto"))
    )
    assert state.close_reason == "auto"


@statuses("open", "pending", "closed")
def test_the_system_auto_closes_only_resolved_tickets(history: tuple[AnyTicketEvent, ...]) -> None:
    error = given(*history).when(Close(ticket_id=T, actor=SYSTEM)).raises("invalid_transition")
    assert "auto-close" in error.message


# -------------------------------------------------------------------- RecordSlaBreach


def breach(target: str) -> RecordSlaBreach:
    return RecordSlaBreach.model_validate(
        {"ticket_id": T, "actor": SYSTEM, "target": target, "due_at": FIRST_DUE}
    )


@statuses("open", "pending")
@pytest.mark.parametrize("target", ["first_response", "resolution"])
def test_an_unmet_target_is_breached(history: tuple[AnyTicketEvent, ...], target: str) -> None:
    state = (
        given(*history)
        .when(breach(target))
        .then(SlaBreached.model_validate({"ticket_id": T, "target": target, "due_at": FIRST_DUE}))
    )
    assert state.breached == {target}


def test_both_targets_can_be_breached() -> None:
    first = SlaBreached(ticket_id=T, target="first_response", due_at=FIRST_DUE)
    state = (
        given(created, first)
        .when(breach("resolution"))
        .then(SlaBreached(ticket_id=T, target="resolution", due_at=FIRST_DUE))
    )
    assert state.breached == {"first_response", "resolution"}


@pytest.mark.parametrize("target", ["first_response", "resolution"])
def test_a_target_is_breached_once(target: str) -> None:
    earlier = SlaBreached.model_validate({"ticket_id": T, "target": target, "due_at": FIRST_DUE})
    given(created, earlier).when(breach(target)).raises("already_breached")


def test_a_breach_already_recorded_stays_the_rule_after_the_target_is_met() -> None:
    earlier = SlaBreached(ticket_id=T, target="first_response", due_at=FIRST_DUE)
    given(created, earlier, agent_replied).when(breach("first_response")).raises("already_breached")


def test_first_response_is_met_by_an_agent_reply() -> None:
    given(created, agent_replied).when(breach("first_response")).raises("sla_met")


def test_first_response_stays_met_after_a_resolution_is_reopened() -> None:
    reopened = TicketReopened(ticket_id=T, reason="still broken")
    given(created, resolved, reopened).when(breach("first_response")).raises("sla_met")
    given(created, resolved, reopened).when(breach("resolution")).then(
        SlaBreached(ticket_id=T, target="resolution", due_at=FIRST_DUE)
    )


def test_resolution_is_not_met_by_a_reply() -> None:
    given(created, agent_replied).when(breach("resolution")).then(
        SlaBreached(ticket_id=T, target="resolution", due_at=FIRST_DUE)
    )


@statuses("resolved", "closed")
@pytest.mark.parametrize("target", ["first_response", "resolution"])
def test_a_resolved_or_closed_ticket_met_its_targets(
    history: tuple[AnyTicketEvent, ...], target: str
) -> None:
    given(*history).when(breach(target)).raises("sla_met")


# --------------------------------------------------------------------- SubmitFeedback


def test_the_requester_rates_a_closed_ticket() -> None:
    command = SubmitFeedback(ticket_id=T, actor=REQUESTER, rating=5, comment="Quick, thanks")
    state = given(*CLOSED).when(command).then(feedback)
    assert state.feedback_rating == 5


def test_feedback_without_a_comment() -> None:
    given(*CLOSED).when(SubmitFeedback(ticket_id=T, actor=REQUESTER, rating=1)).then(
        FeedbackSubmitted(ticket_id=T, rating=1)
    )


@statuses("open", "pending", "resolved")
def test_feedback_only_on_a_closed_ticket(history: tuple[AnyTicketEvent, ...]) -> None:
    given(*history).when(SubmitFeedback(ticket_id=T, actor=REQUESTER, rating=3)).raises(
        "invalid_transition"
    )


def test_feedback_is_given_once() -> None:
    given(*CLOSED, feedback).when(SubmitFeedback(ticket_id=T, actor=REQUESTER, rating=1)).raises(
        "feedback_already_given"
    )


def test_feedback_is_given_once_even_after_a_reopen_and_a_second_close() -> None:
    history = (*CLOSED, feedback, TicketReopened(ticket_id=T), closed_by_agent)
    given(*history).when(SubmitFeedback(ticket_id=T, actor=REQUESTER, rating=1)).raises(
        "feedback_already_given"
    )


# ---------------------------------------------------------- RecordEmailSent / Failed


@statuses("open", "pending", "resolved", "closed")
def test_emails_are_recorded_in_every_status(history: tuple[AnyTicketEvent, ...]) -> None:
    before = given(*history).state
    assert before is not None
    sent_factory, _, _ = CASES[RecordEmailSent]
    failed_factory, _, _ = CASES[RecordEmailFailed]
    sent = EmailSent(
        ticket_id=T,
        cause_event_id="evt-1",
        recipient="ana@example.com",
        role="requester",
        template="auto_reply",
        message_id="<m1@ticketstream>",
        subject="[#T1000] Email issue",
    )
    failed = EmailFailed(
        ticket_id=T,
        cause_event_id="evt-1",
        recipient="ana@example.com",
        role="requester",
        template="auto_reply",
        error="550 mailbox unavailable",
        permanent=True,
    )
    after_sent = given(*history).when(sent_factory(SYSTEM)).then(sent)
    after_failed = given(*history).when(failed_factory(SYSTEM)).then(failed)
    assert after_sent == after_failed == replace(before, version=before.version + 1)


# -------------------------------------------------------------------- RecordAutoReply


def auto_reply(actor: Actor = SYSTEM, **changes: object) -> RecordAutoReply:
    fields: dict[str, object] = {
        "ticket_id": T,
        "actor": actor,
        "kind": "auto_reply",
        "from_address": "ana@example.com",
        "subject": "Out of office: [#T1000] Email issue",
        "reason": "Auto-Submitted: auto-replied",
        "email_message_id": "<ooo@mail.example>",
    }
    return RecordAutoReply.model_validate(fields | changes)


auto_reply_received = AutoReplyReceived(
    ticket_id=T,
    kind="auto_reply",
    from_address="ana@example.com",
    subject="Out of office: [#T1000] Email issue",
    reason="Auto-Submitted: auto-replied",
    email_message_id="<ooo@mail.example>",
)


@statuses("open", "pending", "resolved", "closed")
def test_an_auto_reply_is_recorded_in_every_status_and_never_acted_on(
    history: tuple[AnyTicketEvent, ...],
) -> None:
    before = given(*history).state
    assert before is not None
    state = given(*history).when(auto_reply()).then(auto_reply_received)
    # Neither reopens a resolved ticket nor resumes a pending one: only its id is kept.
    assert state == replace(
        before,
        version=before.version + 1,
        email_message_ids=before.email_message_ids | {"<ooo@mail.example>"},
    )


def test_a_bounce_without_a_message_id_is_recorded() -> None:
    bounce = auto_reply(
        kind="bounce",
        from_address="mailer-daemon@example.com",
        subject="Undelivered Mail Returned to Sender",
        reason="Content-Type: multipart/report; report-type=delivery-status",
        email_message_id=None,
    )
    state = (
        given(*RESOLVED)
        .when(bounce)
        .then(
            AutoReplyReceived(
                ticket_id=T,
                kind="bounce",
                from_address="mailer-daemon@example.com",
                subject="Undelivered Mail Returned to Sender",
                reason="Content-Type: multipart/report; report-type=delivery-status",
            )
        )
    )
    assert state.status == "resolved"
    assert state.email_message_ids == frozenset()


def test_the_same_auto_reply_is_recorded_once() -> None:
    error = given(created, auto_reply_received).when(auto_reply()).raises("duplicate_email")
    assert "<ooo@mail.example>" in error.message


def test_an_auto_reply_with_the_message_id_of_a_requester_reply_is_a_duplicate() -> None:
    given(created, requester_replied).when(auto_reply(email_message_id="<r@x>")).raises(
        "duplicate_email"
    )


@pytest.mark.parametrize("actor", [REQUESTER, AGENT], ids=["requester", "agent"])
def test_only_the_system_records_an_auto_reply(actor: Actor) -> None:
    error = given(created).when(auto_reply(actor)).raises("not_allowed_for_actor")
    assert "RecordAutoReply" in error.message


def test_a_requester_reply_after_an_auto_reply_with_its_message_id_is_a_duplicate() -> None:
    recorded = auto_reply_received.model_copy(update={"email_message_id": "<r@x>"})
    given(created, recorded).when(requester_reply()).raises("duplicate_email")


# ------------------------------------------------------------------ a whole lifecycle


def test_the_osticket_walkthrough_end_to_end() -> None:
    """Intake → routing → reply → categorize and prioritize → resolve → confirm → survey."""
    history: list[AnyTicketEvent] = []

    def run(command: Command) -> None:
        events = given(*history).when(command).events
        assert events, f"{type(command).__name__} was rejected"
        history.extend(events)

    run(open_ticket(priority=None))
    run(route(priority="medium", category=None))
    run(assign("bob", SYSTEM, "round_robin"))
    run(ReplyAsAgent(ticket_id=T, actor=OTHER_AGENT, body="We received your ticket"))
    run(Categorize(ticket_id=T, actor=OTHER_AGENT, category="email-issues"))
    run(ChangePriority(ticket_id=T, actor=OTHER_AGENT, priority="high"))
    run(tags(add={"account-locked"}))
    run(AddInternalNote(ticket_id=T, actor=OTHER_AGENT, body="Locked after failed logins"))
    run(Resolve(ticket_id=T, actor=OTHER_AGENT, resolution="Unlocked the account"))
    run(ConfirmResolution(ticket_id=T, actor=REQUESTER))
    run(SubmitFeedback(ticket_id=T, actor=REQUESTER, rating=5))

    state = given(*history).state
    assert state is not None
    assert state.version == len(history) == 12
    assert (state.status, state.close_reason, state.feedback_rating) == ("closed", "confirmed", 5)
    assert (state.department, state.assignee, state.category) == ("it", "bob", "email-issues")
    assert state.priority == "high"
    assert state.tags == frozenset({"account-locked"})
    assert state.first_responded
