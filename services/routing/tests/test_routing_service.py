"""routing on a real NATS server: route, assign, breach once, auto-close, replicas, restarts."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient

from ticketstream.directory import Directory, directory_from_env, validate_directory
from ticketstream.events import (
    Actor,
    AnyTicketEvent,
    Metadata,
    Requester,
    TicketAssigned,
    TicketRouted,
)
from ticketstream.eventstore import (
    AppendResult,
    Batch,
    CatchUpSubscription,
    ConsumerSettings,
    JetStreamEventStore,
    StreamSettings,
    ensure_stream,
)
from ticketstream.routing.service import WATCHED, Routing
from ticketstream.routing.shared_state import (
    OpenAssignments,
    RoundRobinPointers,
    Timers,
    open_bucket,
)
from ticketstream.ticketing import execute
from ticketstream.tickets import (
    AssignTicket,
    Command,
    MarkPending,
    OpenTicket,
    Resolve,
    TransferTicket,
)

pytestmark = pytest.mark.integration

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ALEX = Actor(kind="agent", id="alex")


@dataclass
class MovableClock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@dataclass
class Desk:
    """One routing replica and what it needs, on the session's NATS server."""

    nc: NatsClient
    store: JetStreamEventStore
    routing: Routing
    clock: MovableClock
    stops: list[Any]

    async def act(self, command: Command, actor: Actor | None = None) -> AppendResult:
        who = actor or command.actor
        meta = Metadata(source="tests", actor=who)
        return await execute(self.store, command, meta, clock=self.clock)

    async def open(self, help_topic: str = "email-support", **changes: Any) -> str:
        ticket_id = "R" + "".join(secrets.choice(ALPHABET) for _ in range(11))
        requester = Requester(name="Dana", email="dana@example.com")
        command = OpenTicket(
            ticket_id=ticket_id,
            actor=Actor(kind="requester", id=requester.email),
            channel="web",
            requester=requester,
            subject="Unable to access e-mail",
            message="Locked out.",
            help_topic=help_topic,
            **changes,
        )
        await self.deliver(await self.act(command))
        return ticket_id

    async def deliver(self, result: AppendResult) -> None:
        """What the subscription would hand routing for these events."""
        await self.routing.handle(Batch(list(result.events), result.position))

    async def events(self, ticket_id: str) -> list[AnyTicketEvent]:
        return [e.envelope.data for e in (await self.store.load(ticket_id)).events]

    async def kinds(self, ticket_id: str) -> list[str]:
        return [type(e).__name__ for e in await self.events(ticket_id)]

    async def assignee(self, ticket_id: str) -> str:
        assigned = [e for e in await self.events(ticket_id) if isinstance(e, TicketAssigned)]
        return assigned[-1].agent_id


async def make_desk(nats_url: str, directory: Directory, clock: MovableClock) -> Desk:
    nc = await nats.connect(nats_url)
    await ensure_stream(nc, StreamSettings())
    store = JetStreamEventStore(nc)
    bucket = await open_bucket(nc)
    open_assignments, timers = OpenAssignments(bucket), Timers(bucket)
    await open_assignments.start()
    await timers.start()
    routing = Routing(
        store,
        directory,
        pointers=RoundRobinPointers(bucket),
        open_assignments=open_assignments,
        timers=timers,
        clock=clock,
    )
    return Desk(nc, store, routing, clock, [open_assignments, timers])


async def close_desk(desk: Desk) -> None:
    for part in desk.stops:
        await part.stop()
    await desk.nc.drain()


@pytest.fixture
async def desk(nats_url: str) -> AsyncIterator[Desk]:
    desk = await make_desk(nats_url, directory_from_env({}), MovableClock())
    yield desk
    await close_desk(desk)


def directory_with(**department_changes: Any) -> Directory:
    """The development directory with a 'pool' department of four agents."""
    data = directory_from_env({}).model_dump(mode="json")
    agents = ["ana", "ben", "cleo", "dev"]
    for agent in agents:
        data["agents"].append(
            {
                "id": agent,
                "name": agent.title(),
                "email": f"{agent}@example.com",
                "departments": ["pool"],
                "token_sha256": secrets.token_hex(32),
            }
        )
    data["departments"].append(
        {
            "id": "pool",
            "name": "Pool",
            "assignment": "round_robin",
            "members": agents,
            "sla_plan": "standard",
            **department_changes,
        }
    )
    data["help_topics"].append(
        {"id": "pool-topic", "name": "Pool", "department": "pool", "priority": "low"}
    )
    return validate_directory(data)


async def test_every_help_topic_is_routed_and_assigned_by_its_department(desk: Desk) -> None:
    directory = directory_from_env({})
    for topic in directory.help_topics:
        ticket_id = await desk.open(topic.id)
        state_events = await desk.events(ticket_id)
        routed = next(e for e in state_events if type(e).__name__ == "TicketRouted")
        department = directory.department(topic.department)
        plan = directory.sla_plan_for_topic(topic.id)
        assert routed.department == department.id  # type: ignore[union-attr]
        assert routed.priority == topic.priority  # type: ignore[union-attr]
        assert routed.sla_plan == plan.id  # type: ignore[union-attr]
        assert routed.category == topic.category  # type: ignore[union-attr]
        opened = (await desk.store.load(ticket_id)).events[0].envelope.time
        assert routed.first_response_due == opened + plan.target(topic.priority).first_response  # type: ignore[union-attr]
        assigned = [e for e in state_events if type(e).__name__ == "TicketAssigned"]
        if department.assignment == "none":
            assert assigned == []
        else:
            [assignment] = assigned
            assert assignment.agent_id in department.members  # type: ignore[union-attr]
            assert assignment.strategy == department.assignment  # type: ignore[union-attr]


async def test_a_redelivered_event_decides_nothing_new(desk: Desk) -> None:
    ticket_id = await desk.open()
    before = await desk.kinds(ticket_id)
    first = (await desk.store.load(ticket_id)).events[:1]
    for _ in range(3):
        await desk.routing.handle(Batch(list(first), first[0].position))
    assert (
        await desk.kinds(ticket_id)
        == before
        == [
            "TicketCreated",
            "TicketRouted",
            "TicketAssigned",
        ]
    )


async def test_round_robin_is_fair_over_a_thousand_tickets(nats_url: str) -> None:
    desk = await make_desk(nats_url, directory_with(), MovableClock())
    try:
        shares: Counter[str] = Counter()
        for _ in range(1000):
            ticket_id = await desk.open("pool-topic")
            shares[await desk.assignee(ticket_id)] += 1
    finally:
        await close_desk(desk)
    assert sorted(shares) == ["ana", "ben", "cleo", "dev"]
    assert max(shares.values()) - min(shares.values()) <= 1, shares


async def test_least_open_prefers_the_agent_with_fewest_open_tickets(nats_url: str) -> None:
    desk = await make_desk(nats_url, directory_with(assignment="least_open"), MovableClock())
    try:
        loaded = [await desk.open("general-inquiry") for _ in range(3)]  # nobody assigned
        for ticket_id in loaded:  # ana gets three open tickets by hand
            command = AssignTicket(ticket_id=ticket_id, actor=ALEX, agent_id="ana")
            await desk.deliver(await desk.act(command))
        ben_busy = await desk.open("general-inquiry")
        await desk.deliver(
            await desk.act(AssignTicket(ticket_id=ben_busy, actor=ALEX, agent_id="ben"))
        )
        chosen = []
        for _ in range(4):
            ticket_id = await desk.open("pool-topic")
            chosen.append(await desk.assignee(ticket_id))
    finally:
        await close_desk(desk)
    # Counts before: ana 3, ben 1, cleo 0, dev 0 (plus whatever earlier tests left open).
    assert "ana" not in chosen[:3]
    assert set(chosen[:2]) == {"cleo", "dev"}


async def test_a_manual_assignment_is_never_overridden(desk: Desk) -> None:
    ticket_id = await desk.open()
    await desk.deliver(
        await desk.act(AssignTicket(ticket_id=ticket_id, actor=ALEX, agent_id="sam"))
    )
    first = (await desk.store.load(ticket_id)).events[:1]
    await desk.routing.handle(Batch(list(first), first[0].position))
    assigned = [e for e in await desk.events(ticket_id) if type(e).__name__ == "TicketAssigned"]
    assert assigned[-1].agent_id == "sam"  # type: ignore[union-attr]
    assert assigned[-1].strategy == "manual"  # type: ignore[union-attr]


async def test_a_first_response_breach_is_raised_once(nats_url: str, desk: Desk) -> None:
    ticket_id = await desk.open("network")  # high: first response within 4h
    desk.clock.advance(timedelta(hours=3, minutes=59))
    await desk.routing.tick()
    assert "SlaBreached" not in await desk.kinds(ticket_id)
    desk.clock.advance(timedelta(minutes=2))
    await desk.routing.tick()
    await desk.routing.tick()
    other = await make_desk(nats_url, directory_from_env({}), desk.clock)  # a second replica
    try:
        await other.routing.tick()
    finally:
        await close_desk(other)
    breaches = [e for e in await desk.events(ticket_id) if type(e).__name__ == "SlaBreached"]
    assert [b.target for b in breaches] == ["first_response"]  # type: ignore[union-attr]


async def test_no_breach_while_pending_on_the_requester(desk: Desk) -> None:
    ticket_id = await desk.open("network")
    desk.clock.advance(timedelta(hours=1))
    pending = MarkPending(ticket_id=ticket_id, actor=ALEX, reason="Which device?")
    await desk.deliver(await desk.act(pending))
    desk.clock.advance(timedelta(hours=10))
    await desk.routing.tick()
    assert "SlaBreached" not in await desk.kinds(ticket_id)


async def test_auto_close_after_the_quiet_period_and_not_before(desk: Desk) -> None:
    ticket_id = await desk.open()
    resolve = Resolve(ticket_id=ticket_id, actor=ALEX, resolution="Unlocked the account.")
    await desk.deliver(await desk.act(resolve))
    desk.clock.advance(timedelta(hours=71))
    await desk.routing.tick()
    assert (await desk.kinds(ticket_id))[-1] == "TicketResolved"
    desk.clock.advance(timedelta(hours=2))
    await desk.routing.tick()
    last = (await desk.events(ticket_id))[-1]
    assert (type(last).__name__, getattr(last, "reason", None)) == ("TicketClosed", "auto")


async def test_two_replicas_on_one_stream_route_each_ticket_once(nats_url: str) -> None:
    clock = MovableClock()
    replicas = [await make_desk(nats_url, directory_from_env({}), clock) for _ in range(2)]
    durable = f"routing-test-{secrets.token_hex(4)}"
    writer = replicas[0]
    # The consumer starts at the stream's end: only this test's tickets count.
    start = (await writer.nc.jetstream().stream_info("TICKETS")).state.last_seq + 1
    subscriptions = [
        CatchUpSubscription(
            desk.nc,
            ConsumerSettings(
                durable=durable, batch_size=10, fetch_timeout=0.2, start_position=start
            ),
            desk.routing.handle,
            event_types=WATCHED,
        )
        for desk in replicas
    ]
    tasks = [asyncio.create_task(s.run()) for s in subscriptions]
    try:
        ticket_ids = [await open_unrouted(writer) for _ in range(40)]
        async with asyncio.timeout(30):
            while True:
                kinds = [await writer.kinds(t) for t in ticket_ids]
                if all("TicketAssigned" in k for k in kinds):
                    break
                await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # let any duplicate decision show up
        for k in [await writer.kinds(t) for t in ticket_ids]:
            assert k.count("TicketRouted") == 1
            assert k.count("TicketAssigned") == 1
    finally:
        for s in subscriptions:
            s.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for desk in replicas:
            await close_desk(desk)


async def test_a_restart_in_the_middle_of_a_burst_routes_each_ticket_once(nats_url: str) -> None:
    clock = MovableClock()
    writer = await make_desk(nats_url, directory_from_env({}), clock)
    durable = f"routing-restart-{secrets.token_hex(4)}"
    start = (await writer.nc.jetstream().stream_info("TICKETS")).state.last_seq + 1
    settings = ConsumerSettings(
        durable=durable, batch_size=5, fetch_timeout=0.2, start_position=start
    )
    ticket_ids = [await open_unrouted(writer) for _ in range(30)]
    try:
        for _ in range(2):  # run a while, stop (a restart), run again
            replica = await make_desk(nats_url, directory_from_env({}), clock)
            subscription = CatchUpSubscription(
                replica.nc, settings, replica.routing.handle, event_types=WATCHED
            )
            task = asyncio.create_task(subscription.run())
            await asyncio.sleep(0.5)
            subscription.stop()
            await task
            await close_desk(replica)
        replica = await make_desk(nats_url, directory_from_env({}), clock)
        subscription = CatchUpSubscription(
            replica.nc, settings, replica.routing.handle, event_types=WATCHED
        )
        task = asyncio.create_task(subscription.run())
        async with asyncio.timeout(30):
            while not all(
                "TicketAssigned" in k for k in [await writer.kinds(t) for t in ticket_ids]
            ):
                await asyncio.sleep(0.2)
        subscription.stop()
        await task
        await close_desk(replica)
        for ticket_id in ticket_ids:
            kinds = await writer.kinds(ticket_id)
            assert (kinds.count("TicketRouted"), kinds.count("TicketAssigned")) == (1, 1)
    finally:
        await close_desk(writer)


async def open_unrouted(desk: Desk) -> str:
    """A ticket opened without routing looking (the subscription will find it)."""
    requester = Requester(name="Dana", email="dana@example.com")
    ticket_id = "S" + "".join(secrets.choice(ALPHABET) for _ in range(11))
    command = OpenTicket(
        ticket_id=ticket_id,
        actor=Actor(kind="requester", id=requester.email),
        channel="web",
        requester=requester,
        subject="Burst",
        message="Burst",
        help_topic="email-support",
    )
    await desk.act(command)
    return ticket_id


def test_an_invalid_directory_stops_start_up_naming_the_key(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    broken = tmp_path / "directory.yaml"
    text = directory_from_env({}).model_dump_json()
    broken.write_text(text.replace('"department":"it-support"', '"department":"plumbing"', 1))
    result = subprocess.run(
        [sys.executable, "-m", "ticketstream.routing"],
        env={**os.environ, "TICKETSTREAM_DIRECTORY": str(broken), "NATS_URL": "nats://127.0.0.1:1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "help_topics[0].department" in result.stderr
    assert "plumbing" in result.stderr


async def test_a_transfer_reroutes_to_the_new_department(desk: Desk) -> None:
    ticket_id = await desk.open()
    transfer = TransferTicket(ticket_id=ticket_id, actor=ALEX, to_department="billing")
    await desk.deliver(await desk.act(transfer))
    events = await desk.events(ticket_id)
    routed = [e for e in events if isinstance(e, TicketRouted)]
    assert [r.department for r in routed] == ["it-support", "billing"]
    assert routed[-1].sla_plan == "standard"
    assert await desk.assignee(ticket_id) == "jordan"  # billing's only member, least open


def test_the_example_directory_under_deploy_is_the_development_default() -> None:
    from pathlib import Path

    from ticketstream.directory import load_directory

    example = Path(__file__).parents[3] / "deploy" / "directory.example.yaml"
    assert load_directory(example) == directory_from_env({})
