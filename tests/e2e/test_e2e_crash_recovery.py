"""kill -9 in the middle of a burst: notify and projections die while 200 tickets come in and
are started again; at the end every ticket is complete, in the read model and in the mail,
and nothing is there twice."""

from __future__ import annotations

from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from demo.desk import Desk, NotYetError, kind, until

from ..conftest import System

pytestmark = pytest.mark.e2e

BURST = 200
EMAILS = Counter({"acknowledgement": 1, "new_ticket": 2, "assigned": 1})
"""What each ticket of the burst sends: the requester's acknowledgement, the new-ticket alert
to both IT Support agents, the assignment alert to the assignee."""
REDELIVERY_SECONDS = 60 + 60
"""What a killed consumer held is redelivered after its ack wait (60 s); then the backlog."""


def complete_histories(desk: Desk, ticket_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every ticket's history, once each is routed, assigned and has its e-mails recorded."""
    done: dict[str, list[dict[str, Any]]] = {}

    def check() -> dict[str, list[dict[str, Any]]]:
        waiting = {}
        for ticket_id in (t for t in ticket_ids if t not in done):
            history = desk.events(ticket_id)
            kinds = Counter(kind(e) for e in history)
            sent = Counter(e["template"] for e in _sent(history))
            if kinds["routed"] and kinds["assigned"] and sent >= EMAILS:
                done[ticket_id] = history
            else:
                waiting[ticket_id] = f"{dict(kinds)}, e-mails {dict(sent)}"
        if waiting:
            example = next(iter(waiting))
            raise NotYetError(
                f"{len(waiting)} of {len(ticket_ids)} tickets incomplete, "
                f"e.g. {example}: {waiting[example]}"
            )
        return done

    return until("every ticket routed, assigned and mailed", check, within=REDELIVERY_SECONDS)


@pytest.mark.timeout(300)
def test_kill_9_of_notify_and_projections_mid_burst_loses_and_doubles_nothing(
    system: System,
) -> None:
    desk = system.desk
    crashing = [system.services["notify"], system.services["projections"]]

    def open_ticket(n: int) -> str:
        opened = desk.open_ticket(
            {
                "name": f"Requester {n}",
                "email": f"requester-{n}@example.com",  # each under the hourly limit
                "subject": f"Cannot sign in ({n})",
                "message": "The webmail says my account is locked.",
                "help_topic": "email-support",
            }
        )
        return str(opened["ticket_id"])

    ticket_ids = []
    with ThreadPoolExecutor(4) as pool:
        for n, ticket_id in enumerate(pool.map(open_ticket, range(BURST)), start=1):
            ticket_ids.append(ticket_id)
            if n == BURST // 3:
                for service in crashing:
                    service.kill()
            if n == 2 * BURST // 3:
                for service in crashing:
                    service.restart()
    for service in crashing:
        service.wait_ready(60)
    assert len(set(ticket_ids)) == BURST

    histories = complete_histories(desk, ticket_ids)

    # The event store: every ticket's history once, in order, each decision and e-mail once.
    for ticket_id, history in histories.items():
        assert [e["ticketversion"] for e in history] == list(range(1, len(history) + 1))
        assert len({e["id"] for e in history}) == len(history)
        kinds = Counter(kind(e) for e in history)
        assert (kinds["created"], kinds["routed"], kinds["assigned"]) == (1, 1, 1), ticket_id
        sent = _sent(history)
        assert Counter(s["template"] for s in sent) == EMAILS, ticket_id
        assert len({(s["cause_event_id"], s["recipient"]) for s in sent}) == len(sent)

    # The read model (the system's own): exactly the 200 tickets, each with all its events.
    last = max(e["position"] for history in histories.values() for e in history)
    rows = desk.query("tickets", limit=500, min_position=last)
    assert rows["next_cursor"] is None
    versions = {row["ticket_id"]: row["version"] for row in rows["tickets"]}
    assert len(rows["tickets"]) == BURST
    assert versions == {t: len(history) for t, history in histories.items()}

    # The mail: every recorded e-mail arrived, each ticket's acknowledgement as exactly one
    # message (one Message-ID). A crash between the SMTP server's acceptance and the
    # EmailSent record sends an e-mail again with the same Message-ID (derived from the event
    # and the recipient), which mail clients show once; such copies are counted and printed.
    recorded = {s["message_id"] for h in histories.values() for s in _sent(h)}
    arrived: dict[str, list[str]] = defaultdict(list)
    for message in desk.mailbox.messages():
        if message["X-Ticketstream-Ticket"] in histories:
            arrived[str(message["Message-ID"])].append(str(message["X-Ticketstream-Template"]))
    assert set(arrived) == recorded
    acknowledged = Counter(t for templates in arrived.values() for t in set(templates))
    assert acknowledged["acknowledgement"] == BURST
    again = {mid: len(templates) for mid, templates in arrived.items() if len(templates) > 1}
    print(f"{len(again)} of {len(recorded)} e-mails arrived twice (same Message-ID): {again}")


def _sent(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in history if kind(e) == "email_sent"]
