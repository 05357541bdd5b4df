"""The seed's example scenario, "User Unable to Access Email", step by step.

Each step does what a person does (a requester on the portal, by e-mail or with their
ticket's secret; an agent with their token), then waits, bounded, until the ticket's audit
trail shows the events the step causes and the e-mails notify recorded for them
(``EmailSent``). It reads the ticket from projections at those events' position
(``min_position``: read-your-writes), checks it, finds each e-mail in the mail folder by its
Message-ID, and prints all of it. What does not happen as expected raises
:class:`ScenarioError`; :attr:`Scenario.number` and :attr:`Scenario.title` name the step it
happened in. The end-to-end tests play the same steps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

import httpx

from .desk import Desk, NotYetError, ScenarioError, checked, kind, kind_of, until

DANA = {"name": "Dana Whitfield", "email": "dana@example.com"}
PRIYA = {"name": "Priya Natarajan", "email": "priya@example.com"}
SUBJECT = "Unable to Access Email"
MESSAGE = "I cannot sign in to my e-mail since this morning: the webmail says my account is locked."
ERROR_FILE = (
    "webmail-error.txt",
    b"Your account has been locked. Contact support.\n",
    "text/plain",
)
ACKNOWLEDGEMENT = "We have received your ticket and are looking into the issue."
NOTE = "Investigated: the account is locked after multiple failed login attempts."
UPDATE = "Identified the issue. Unlocking the account."
RESOLUTION = (
    "Unlocked your e-mail account and reset the failed-login counter; you can sign in again."
)
FEEDBACK = {"rating": 5, "comment": "Solved within the hour, thank you!"}


@dataclass(frozen=True, slots=True)
class Check:
    """An expectation on a field that is not one exact value."""

    description: str
    test: Callable[[Any], bool]

    def __repr__(self) -> str:
        return self.description


IS_SET = Check("set", lambda value: value not in (None, "", [], {}))


def contains(item: Any) -> Check:
    return Check(f"containing {item!r}", lambda value: item in value)


@dataclass
class Ticket:
    """A ticket the scenario follows: its number, the requester's secret, what was observed."""

    ticket_id: str
    secret: str | None = None
    seen: set[str] = field(default_factory=set)
    """Ids of the events a step has already claimed."""
    state: dict[str, Any] = field(default_factory=dict)
    """The ticket as projections showed it last."""
    position: int = 0
    """The stream position of the last event a step observed."""
    emails: list[dict[str, Any]] = field(default_factory=list)
    """The e-mails the steps saw sent (``EmailSent`` data), in order."""

    @property
    def assignee(self) -> str:
        agent = self.state.get("assignee")
        if not agent:
            raise ScenarioError(f"ticket {self.ticket_id} has no assignee to act as")
        return str(agent)


@dataclass(frozen=True, slots=True)
class Observed:
    """What one step caused: its events, the e-mails sent for them (``EmailSent`` data)."""

    events: list[dict[str, Any]]
    emails: list[dict[str, Any]]


class Scenario:
    """Steps on tickets through the public interfaces, printed to ``out`` as they happen."""

    def __init__(self, desk: Desk, out: Callable[[str], None] = print) -> None:
        self.desk = desk
        self.out = out
        self.number = 0
        self.title = ""
        self.started = datetime.now(UTC)

    # Steps of the seed scenario ------------------------------------------------------------

    def open_from_portal(self, requester: Mapping[str, str] = DANA) -> Ticket:
        self.begin(f"{requester['name']} opens a ticket on the portal's 'Open a New Ticket' form")
        form = {**requester, "help_topic": "email-support", "subject": SUBJECT, "message": MESSAGE}
        opened = self.desk.open_from_portal(form, ERROR_FILE)
        self.out(f"    portal   ticket {opened.ticket_id}, requester's link {opened.link}")
        ticket = Ticket(opened.ticket_id, opened.secret)
        self.observe(
            ticket,
            events=["created"],
            emails=["acknowledgement"],
            expect={"status": "open", "channel": "web", "subject": SUBJECT},
        )
        return ticket

    def open_by_email(self, requester: Mapping[str, str] = PRIYA) -> Ticket:
        self.begin(f"{requester['name']} opens a ticket by e-mail")
        message = EmailMessage()
        message["From"] = formataddr((requester["name"], requester["email"]))
        message["To"] = "support@example.com"
        message["Subject"] = "Cannot send e-mails"
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(domain="mail.example.net")
        message.set_content("Since this morning every e-mail I send stays in my outbox.\n")
        received = self.desk.send_email(message.as_bytes())
        self.out(f"    e-mail   {received['outcome']}: ticket {received['ticket_id']}")
        if received["outcome"] != "created":
            raise ScenarioError(f"intake answered {received}, expected a new ticket")
        ticket = Ticket(received["ticket_id"])
        self.observe(
            ticket,
            events=["created"],
            emails=["acknowledgement"],
            expect={"status": "open", "channel": "email", "requester.email": requester["email"]},
        )
        return ticket

    def route(self, ticket: Ticket) -> None:
        self.begin("Routing sends it to IT Support and assigns an agent")
        self.observe(
            ticket,
            events=["routed", "assigned"],
            emails=["new_ticket", "new_ticket", "assigned"],
            expect={"department": "it-support", "assignee": IS_SET},
        )

    def acknowledge(self, ticket: Ticket) -> None:
        self.begin("The agent sends the initial response")
        events = self.agent(ticket, "replies", {"body": ACKNOWLEDGEMENT})
        self.observe(
            ticket,
            events=events,
            emails=["agent_reply"],
            expect={"status": "open", "first_responded_at": IS_SET},
        )

    def categorize(self, ticket: Ticket) -> None:
        self.begin("The agent files it under E-mail issues and tags it")
        events = self.agent(ticket, "category", {"category": "email"}, already=("unchanged",))
        events += self.agent(ticket, "tags", {"add": ["account-locked"]})
        self.observe(
            ticket, events=events, expect={"category": "email", "tags": contains("account-locked")}
        )

    def prioritize(self, ticket: Ticket) -> None:
        self.begin("The agent sets the priority to high: the user cannot work")
        events = self.agent(ticket, "priority", {"priority": "high"})
        self.observe(ticket, events=events, expect={"priority": "high"})

    def add_note(self, ticket: Ticket) -> None:
        self.begin("The agent adds an internal note about the locked account")
        events = self.agent(ticket, "notes", {"body": NOTE})
        last = Check("an internal note last", lambda thread: thread[-1]["public"] is False)
        self.observe(ticket, events=events, expect={"thread": last})

    def update(self, ticket: Ticket) -> None:
        self.begin("The agent updates the requester")
        events = self.agent(ticket, "replies", {"body": UPDATE})
        self.observe(ticket, events=events, emails=["agent_reply"], expect={"status": "open"})

    def resolve(self, ticket: Ticket) -> None:
        self.begin("The agent unlocks the account and resolves the ticket")
        body = {"status": "resolved", "resolution": RESOLUTION}
        events = self.agent(ticket, "status", body)
        expect = {"status": "resolved", "resolution": RESOLUTION}
        self.observe(ticket, events=events, emails=["resolved"], expect=expect)

    def reopen(self, ticket: Ticket) -> None:
        self.begin("The requester says it is not solved and reopens the ticket")
        body = {"reason": "I still cannot sign in on my phone."}
        events = self.requester(ticket, "reopen", body)
        expect = {"status": "open", "reopen_count": ticket.state.get("reopen_count", 0) + 1}
        self.observe(ticket, events=events, emails=["reopened"], expect=expect)

    def confirm(self, ticket: Ticket) -> None:
        self.begin("The requester confirms the resolution with their secret link; it closes")
        events = self.requester(ticket, "confirm")
        expect = {"status": "closed", "close_reason": "confirmed"}
        self.observe(ticket, events=events, emails=["closed"], expect=expect)

    def answer_survey(self, ticket: Ticket) -> None:
        self.begin("The requester answers the satisfaction survey")
        events = self.requester(ticket, "feedback", FEEDBACK)
        self.observe(ticket, events=events, expect={"feedback": FEEDBACK})

    def satisfaction_report(self, ticket: Ticket) -> dict[str, Any]:
        self.begin("The satisfaction report shows the rating")
        since = self.started.isoformat(timespec="seconds")
        answer = self.desk.query("reports/satisfaction", since=since, min_position=ticket.position)
        report: dict[str, Any] = answer["report"]
        self.out(
            f"    report   since {since}: {report['count']} answer(s), average "
            f"{report['average']}, distribution {report['distribution']}"
        )
        ours = [c for c in report["comments"] if c["ticket_id"] == ticket.ticket_id]
        for comment in ours:
            self.out(
                f"             {comment['rating']}/5 on {ticket.ticket_id}: {comment['comment']}"
            )
        wanted = (FEEDBACK["rating"], FEEDBACK["comment"])
        if [(c["rating"], c["comment"]) for c in ours] != [wanted]:
            raise ScenarioError(f"the report does not show {FEEDBACK} for {ticket.ticket_id}")
        return report

    # The mechanics of a step ---------------------------------------------------------------

    def begin(self, title: str) -> None:
        self.number += 1
        self.title = title
        self.out(f"\n{self.number:>2}. {title}")

    def agent(
        self,
        ticket: Ticket,
        path: str,
        body: Mapping[str, Any],
        *,
        already: Iterable[str] = (),
    ) -> list[str]:
        """A command of the ticket's assignee; the kinds of events it appended. A 409 whose
        rule is in ``already`` means it was done before, and appends nothing."""
        answer = self.desk.command(ticket.ticket_id, path, body, agent=ticket.assignee)
        if answer.status_code == 409 and (error := answer.json()["error"])["code"] in already:
            self.out(f"    {path:<8} 409 {error['code']}: {error['message']}")
            return []
        return self.appended(answer)

    def requester(
        self, ticket: Ticket, path: str, body: Mapping[str, Any] | None = None
    ) -> list[str]:
        """A command of the requester, with their ticket's secret; the kinds appended."""
        return self.appended(self.desk.command(ticket.ticket_id, path, body, secret=ticket.secret))

    def appended(self, answer: httpx.Response) -> list[str]:
        """The kinds of the events a command's answer says it appended."""
        return [kind_of(t) for t in checked(answer, 200).json()["events"]]

    def observe(
        self,
        ticket: Ticket,
        *,
        events: Iterable[str],
        emails: Iterable[str] = (),
        expect: Mapping[str, Any] | None = None,
    ) -> Observed:
        """Wait for ``events`` (kinds) on the ticket and the ``emails`` (templates) recorded for
        them; read the ticket at their position; check ``expect`` (dotted field names); print."""
        wanted, templates = list(events), list(emails)
        observed = until(
            "the step's events and e-mails", lambda: self._claim(ticket, wanted, templates)
        )
        ticket.seen.update(e["id"] for e in observed.events)
        ticket.emails += observed.emails
        ticket.position = max((e["position"] for e in observed.events), default=ticket.position)
        self.out(f"    events   {' · '.join(_event_line(e) for e in observed.events)}")
        read = self.desk.query(f"tickets/{ticket.ticket_id}", min_position=ticket.position)
        ticket.state = read["ticket"]
        self.out(f"    ticket   {_ticket_line(ticket.state)} · read model at {read['position']}")
        for name, want in (expect or {}).items():
            got = _field(ticket.state, name)
            if not (want.test(got) if isinstance(want, Check) else got == want):
                raise ScenarioError(f"{name} is {got!r}, expected {want!r}")
        for sent in observed.emails:
            self.out(f"    e-mail   {self._email_line(sent)}")
        return observed

    def _claim(self, ticket: Ticket, wanted: list[str], templates: list[str]) -> Observed:
        """The first unclaimed event of each wanted kind, and the e-mails sent for them with
        the EmailSent events; :class:`NotYetError` until all are there."""
        fresh = [e for e in self.desk.events(ticket.ticket_id) if e["id"] not in ticket.seen]
        picked: list[dict[str, Any]] = []
        for wanted_kind in wanted:
            match = next((e for e in fresh if kind(e) == wanted_kind and e not in picked), None)
            if match is None:
                raise NotYetError(f"no {wanted_kind} event; new ones: {[kind(e) for e in fresh]}")
            picked.append(match)
        causes = {e["id"] for e in picked}
        mail = [e for e in fresh if e["data"].get("cause_event_id") in causes]
        if failed := [e["data"] for e in mail if kind(e) == "email_failed"]:
            raise ScenarioError(f"notify could not send: {failed}")
        sent = [e for e in mail if kind(e) == "email_sent"]
        if missing := Counter(templates) - Counter(e["data"]["template"] for e in sent):
            raise NotYetError(f"no e-mail {sorted(missing.elements())} recorded")
        return Observed(picked + sent, [e["data"] for e in sent])

    def _email_line(self, sent: Mapping[str, Any]) -> str:
        mailbox = self.desk.mailbox

        def landed() -> list[Path]:
            if files := mailbox.files(sent["message_id"]):
                return files
            raise NotYetError(f"no file with Message-ID {sent['message_id']} in {mailbox.folder}")

        files = until("the e-mail in the mail folder", landed)
        copies = f" (+{len(files) - 1} copies)" if len(files) > 1 else ""
        return (
            f'{sent["template"]} → {sent["recipient"]}  "{sent["subject"]}"  '
            f"{files[0].name}{copies}"
        )


def play_seed_scenario(scenario: Scenario) -> Ticket:
    """osTicket's "User Unable to Access Email", from the portal form to the satisfaction
    report, with a second requester opening a ticket by e-mail; the followed ticket."""
    ticket = scenario.open_from_portal()
    scenario.open_by_email()
    scenario.route(ticket)
    scenario.acknowledge(ticket)
    scenario.categorize(ticket)
    scenario.prioritize(ticket)
    scenario.add_note(ticket)
    scenario.update(ticket)
    scenario.resolve(ticket)
    scenario.confirm(ticket)
    scenario.answer_survey(ticket)
    scenario.satisfaction_report(ticket)
    return ticket


def _field(state: Mapping[str, Any], dotted: str) -> Any:
    value: Any = state
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _event_line(event: Mapping[str, Any]) -> str:
    return f"{kind(event)}@{event['position']}"


def _ticket_line(t: Mapping[str, Any]) -> str:
    notes = sum(1 for entry in t["thread"] if not entry["public"])
    feedback = f" · feedback {t['feedback']['rating']}/5" if t.get("feedback") else ""
    return (
        f"{t['ticket_id']} {t['status']} · {t['channel']} · department {t['department'] or '-'}"
        f" · assignee {t['assignee'] or '-'} · priority {t['priority'] or '-'}"
        f" · category {t['category'] or '-'} · tags {','.join(t['tags']) or '-'}"
        f" · thread {len(t['thread'])} ({notes} internal){feedback} · version {t['version']}"
    )
