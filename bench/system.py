"""System benchmark: the services as separate processes, each figure beside a raw baseline.

One fresh embedded NATS (``sync_interval: "always"``) and PostgreSQL; intake, projections
and notify run as OS processes (:class:`~ticketstream.embedded.ServiceProcess`), notify
sending to an aiosmtpd sink that timestamps arrivals (:mod:`bench.mailsink`). routing does
not run, so every new ticket stays in the unassigned queue, where agents pick up new work.

Phases, in order:

1. raw baselines on the idle servers: JetStream publish (awaited one by one, pipelined),
   asyncpg INSERT (one by one, concurrent), and publish -> consume -> upsert latency;
2. one ticket at a time: create -> visible in ``GET /api/v1/queues/unassigned`` (the
   agent's first page) and create -> acknowledgement e-mail arrived at the SMTP sink;
3. ticket creation (``POST /api/v1/tickets``) at each concurrency;
4. e-mail intake (``POST /api/v1/inbound/email``).

Phases 3 and 4 run twice: with notify and projections paused (SIGSTOP), so intake has the
machine as the raw baselines had it, and with them running, as the whole system does.

After each load phase the benchmark waits until notify and projections have caught up,
and records how long that took, so no phase pays for the previous one's backlog.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import asyncpg
import nats
import psutil
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError

from ticketstream.embedded import ServiceProcess, running_services, start_nats, start_postgres
from ticketstream.events import STREAM_NAME

from . import baselines
from .http import Connection
from .mailsink import MailSink, now
from .report import DURABILITY, latency_ms, number, per_second, percentiles, render_table

AGENT = {"authorization": "Bearer ts-dev-alex"}
QUEUE = "/api/v1/queues/unassigned"
SETTLE_TIMEOUT = 300.0
MAIL_TIMEOUT = 60.0
TARGET_CREATE_OF_PIPELINED = 0.40
TARGET_QUEUE_P99_OF_RAW = 3.0
TARGET_EMAILS_PER_S = 750.0
EMAIL_TEXT = (
    "Hello,\n\nsince this morning the printer on the third floor jams on every second page "
    "and shows error 0x51. We tried another paper tray and restarted it twice. Half of the "
    "accounting team depends on it for the month-end close, so we would be grateful if "
    "someone could look at it today.\n\n"
) * 2 + "Thank you,\nMorgan\n"


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much each phase does (``python -m bench --help`` sets them)."""

    creates: int = 1000
    """Tickets created at each concurrency."""
    concurrencies: tuple[int, ...] = (1, 8, 32, 64)
    latency_samples: int = 200
    """Tickets created one at a time for the create -> queue / e-mail latencies."""
    emails: int = 2000
    email_concurrency: int = 32
    intake_workers: int = 1
    """intake's ``TICKETSTREAM_WORKERS``."""


async def run(sizes: Sizes) -> dict[str, Any]:
    """Start the servers and services, run every phase, stop everything; the results."""
    results: dict[str, Any] = {
        "durability": DURABILITY,
        "cpus": os.cpu_count(),
        "load_average_before": round(os.getloadavg()[0], 2),
        "sizes": asdict(sizes),
        "services": ["intake", "projections", "notify"],
        "event_bytes": len(baselines.created_bytes()),
    }
    with tempfile.TemporaryDirectory(prefix="ts-bench-") as folder, ExitStack() as servers:
        root = Path(folder)
        nats_server = servers.enter_context(start_nats(root / "nats"))
        postgres = servers.enter_context(start_postgres(root / "postgres", database="ticketstream"))
        database_url = postgres.database_url("ticketstream")
        nc = await nats.connect(nats_server.url)
        pool = await asyncpg.create_pool(postgres.database_url("postgres"), min_size=1, max_size=16)
        try:
            results["baselines"] = await _baselines(nc, pool, sizes.latency_samples)
            async with MailSink() as sink:
                env = _service_env(nats_server.url, database_url, sink.port)
                logs = root / "logs"
                logs.mkdir()
                workers = {"intake": {"TICKETSTREAM_WORKERS": str(sizes.intake_workers)}}
                names = ("intake", "projections", "notify")
                with running_services(names, env, logs, extra_env=workers) as services:
                    system = _System(nc, services, sink)
                    results.update(await system.latencies(sizes.latency_samples))
                    results["http_create"] = [
                        await system.creation_rate(sizes.creates, concurrency, consumers)
                        for concurrency in sizes.concurrencies
                        for consumers in (False, True)
                    ]
                    results["email_intake"] = [
                        await system.email_rate(sizes.emails, sizes.email_concurrency, consumers)
                        for consumers in (False, True)
                    ]
                    results["emails_delivered"] = sink.received
        finally:
            await pool.close()
            await nc.close()
    results["targets"] = _targets(results)
    return results


async def _baselines(nc: NatsClient, pool: asyncpg.Pool, samples: int) -> dict[str, Any]:
    js = nc.jetstream()
    await baselines.prepare_baseline_stream(nc)
    payload = baselines.created_bytes()
    return {
        "publish_awaited_per_s": await baselines.publish_awaited(
            js, lambda i: f"bench.awaited.{i}", payload, 1000
        ),
        "publish_pipelined_per_s": await baselines.publish_pipelined(
            js, lambda i: f"bench.pipelined.{i}", payload, 10_000
        ),
        "insert_awaited_per_s": await baselines.insert_awaited(pool, 1000),
        "insert_concurrent_per_s": await baselines.insert_concurrent(pool, 4000, 16),
        "publish_consume_upsert": latency_ms(
            await baselines.publish_consume_upsert(nc, pool, samples)
        ),
    }


def _service_env(nats_url: str, database_url: str, smtp_port: int) -> dict[str, str]:
    return {
        "NATS_URL": nats_url,
        "DATABASE_URL": database_url,
        "TICKETSTREAM_SECRET_KEY": secrets.token_urlsafe(48),
        "TICKETSTREAM_MAX_WAIT_SECONDS": "60",
        "TICKETSTREAM_SMTP_HOST": "127.0.0.1",
        "TICKETSTREAM_SMTP_PORT": str(smtp_port),
        "TICKETSTREAM_SMTP_SECURITY": "none",
    }


class _System:
    def __init__(self, nc: NatsClient, services: dict[str, ServiceProcess], sink: MailSink) -> None:
        self._nc = nc
        self._services = services
        self._urls = {name: service.url for name, service in services.items()}
        self._sink = sink
        self._run = secrets.token_hex(3)
        self._next = 0

    def _requester(self) -> str:
        self._next += 1
        return f"r{self._next}.{self._run}@example.com"

    def _ticket(self, email: str) -> dict[str, str]:
        return {
            "name": "Morgan Bench",
            "email": email,
            "help_topic": "hardware",
            "subject": "Printer on the third floor jams",
            "message": EMAIL_TEXT,
        }

    async def latencies(self, samples: int, warm_up: int = 10) -> dict[str, Any]:
        """Create tickets one at a time; when each shows in the queue and its e-mail arrives.

        Each ticket is closed after its sample, and the system left to settle, so the queue
        an agent reads holds only the ticket being measured and no sample overlaps another.
        """
        created, visible, mailed = [], [], []
        async with (
            Connection(self._urls["intake"]) as intake,
            Connection(self._urls["intake"], AGENT) as agent,
            Connection(self._urls["projections"], AGENT) as projections,
        ):
            for sample in range(warm_up + samples):
                email = self._requester()
                started = now()  # the sink's clock
                opened = await intake.post_json("/api/v1/tickets", self._ticket(email), 201)
                posted = now()
                page = await projections.get_json(f"{QUEUE}?min_position={opened['position']}")
                if not any(t["ticket_id"] == opened["ticket_id"] for t in page["tickets"]):
                    raise RuntimeError(f"ticket {opened['ticket_id']} is not in the queue")
                shown = now()
                async with asyncio.timeout(MAIL_TIMEOUT):
                    arrived = await self._sink.arrival(email)
                if sample >= warm_up:
                    created.append(posted - started)
                    visible.append(shown - started)
                    mailed.append(arrived - started)
                await agent.post_json(
                    f"/api/v1/tickets/{opened['ticket_id']}/status", {"status": "closed"}, 200
                )
                async with asyncio.timeout(MAIL_TIMEOUT):
                    await self._sink.arrival(email, 2)  # the closing e-mail
                await self.settle(poll=0.005)
        return {
            "create_alone": latency_ms(created),
            "queue_visible": latency_ms(visible),
            "ack_email": latency_ms(mailed),
        }

    def _cpu_seconds(self, name: str) -> float:
        """CPU time (user + system) a service's processes, its workers included, used so far."""
        main = psutil.Process(self._services[name].process.pid)
        return sum(sum(p.cpu_times()[:2]) for p in [main, *main.children(recursive=True)])

    async def creation_rate(self, count: int, concurrency: int, consumers: bool) -> dict[str, Any]:
        """POST ``count`` tickets; ``consumers``: notify and projections run meanwhile."""
        tickets = [self._ticket(self._requester()) for _ in range(count)]

        async def create(conn: Connection, i: int) -> None:
            await conn.post_json("/api/v1/tickets", tickets[i], 201)

        return await self._load_phase(count, concurrency, create, consumers)

    async def email_rate(self, count: int, concurrency: int, consumers: bool) -> dict[str, Any]:
        """POST ``count`` distinct raw e-mails to intake's inbound endpoint."""
        messages = [_email(self._requester()) for _ in range(count)]

        async def deliver(conn: Connection, i: int) -> None:
            status, body = await conn.request(
                "POST", "/api/v1/inbound/email", messages[i], "message/rfc822"
            )
            if status != 202 or b'"created"' not in body:
                raise RuntimeError(f"inbound e-mail {i}: {status} {body[:300]!r}")

        return await self._load_phase(count, concurrency, deliver, consumers)

    async def _load_phase(
        self,
        count: int,
        concurrency: int,
        request: Callable[[Connection, int], Awaitable[None]],
        consumers: bool,
    ) -> dict[str, Any]:
        """One load phase; then how long notify and projections took to catch up."""
        with self._consumers_paused(not consumers):
            cpu = self._cpu_seconds("intake")
            seconds, latencies = await _load(self._urls["intake"], count, concurrency, request)
            cpu = self._cpu_seconds("intake") - cpu
        return {
            "concurrency": concurrency,
            "requests": count,
            "consumers": "running" if consumers else "paused",
            "per_s": per_second(count, seconds),
            "latency": latency_ms(latencies),
            "intake_cpu_ms": round(cpu / count * 1000, 3),
            "catch_up_s": await self.settle(),
        }

    @contextmanager
    def _consumers_paused(self, pause: bool) -> Iterator[None]:
        """SIGSTOP notify and projections (when ``pause``) so intake has the machine alone;
        they catch up on the backlog once resumed."""
        processes = []
        if pause:
            for name in ("notify", "projections"):
                main = psutil.Process(self._services[name].process.pid)
                processes += [main, *main.children(recursive=True)]
        for process in processes:
            process.suspend()
        try:
            yield
        finally:
            for process in processes:
                process.resume()

    async def settle(self, poll: float = 0.1) -> float:
        """Wait until notify has handled every event and projections has applied them."""
        started = time.perf_counter()
        js = self._nc.jetstream()
        deadline = started + SETTLE_TIMEOUT
        while True:
            try:
                info = await js.consumer_info(STREAM_NAME, "notify")
            except NotFoundError:  # notify creates its consumer as it starts
                info = None
            if info is not None and info.num_pending == 0 and info.num_ack_pending == 0:
                break
            if time.perf_counter() > deadline:
                raise TimeoutError(f"notify did not catch up within {SETTLE_TIMEOUT:.0f} s")
            await asyncio.sleep(poll)
        last = (await js.stream_info(STREAM_NAME)).state.last_seq
        async with Connection(self._urls["projections"], AGENT) as projections:
            while True:
                status, _ = await projections.request("GET", f"{QUEUE}?limit=1&min_position={last}")
                if status == 200:
                    break
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"projections did not reach position {last}")
        return round(time.perf_counter() - started, 2)


async def _load(
    url: str, count: int, concurrency: int, request: Callable[[Connection, int], Awaitable[None]]
) -> tuple[float, list[float]]:
    """``request(conn, i)`` for i in 0..count-1 from ``concurrency`` keep-alive connections."""
    indices = iter(range(count))
    latencies: list[float] = []

    async def worker(conn: Connection) -> None:
        for i in indices:
            started = time.perf_counter()
            await request(conn, i)
            latencies.append(time.perf_counter() - started)

    connections = [Connection(url) for _ in range(concurrency)]
    async with _all(connections):
        started = time.perf_counter()
        await asyncio.gather(*(worker(conn) for conn in connections))
        return time.perf_counter() - started, latencies


class _all:  # noqa: N801 - reads as a context manager over several connections
    def __init__(self, connections: list[Connection]) -> None:
        self._connections = connections

    async def __aenter__(self) -> None:
        await asyncio.gather(*(c.__aenter__() for c in self._connections))

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(c.__aexit__(None, None, None) for c in self._connections))


def _email(sender: str) -> bytes:
    """A plain new e-mail from ``sender`` to the help desk: it opens a ticket."""
    message = EmailMessage()
    message["From"] = f"Morgan Bench <{sender}>"
    message["To"] = "Help Desk <support@example.com>"
    message["Subject"] = "Printer on the third floor jams on every second page"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{sender.partition('@')[0]}@bench.example.net>"
    message.set_content(EMAIL_TEXT)
    return message.as_bytes()


def _best(phases: list[dict[str, Any]], consumers: str) -> dict[str, Any]:
    return max((p for p in phases if p["consumers"] == consumers), key=lambda p: p["per_s"])


def _targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    base = results["baselines"]
    targets = []
    for consumers in ("paused", "running"):
        best = _best(results["http_create"], consumers)
        ratio = best["per_s"] / base["publish_pipelined_per_s"]
        targets.append(
            {
                "name": f"HTTP create / raw pipelined publish (consumers {consumers})",
                "value": round(ratio, 3),
                "concurrency": best["concurrency"],
                "target": f">= {TARGET_CREATE_OF_PIPELINED}",
                "met": ratio >= TARGET_CREATE_OF_PIPELINED,
            }
        )
    ratio = results["queue_visible"]["p99_ms"] / base["publish_consume_upsert"]["p99_ms"]
    targets.append(
        {
            "name": "create -> queue p99 / raw publish -> consume -> upsert p99",
            "value": round(ratio, 2),
            "target": f"<= {TARGET_QUEUE_P99_OF_RAW}",
            "met": ratio <= TARGET_QUEUE_P99_OF_RAW,
        }
    )
    for consumers in ("paused", "running"):
        emails = _best(results["email_intake"], consumers)["per_s"]
        targets.append(
            {
                "name": f"e-mail intake, messages/s (consumers {consumers})",
                "value": emails,
                "target": f">= {TARGET_EMAILS_PER_S:.0f}",
                "met": emails >= TARGET_EMAILS_PER_S,
            }
        )
    return targets


def table(results: dict[str, Any]) -> str:
    """The results as tables: raw baselines, throughput, latency, then the targets."""
    base = results["baselines"]
    pipelined = base["publish_pipelined_per_s"]
    raw_upsert = base["publish_consume_upsert"]
    sizes = results["sizes"]
    baselines_rows = [
        ["JetStream publish, awaited one by one", _rate(base["publish_awaited_per_s"], "msg"), ""],
        ["JetStream publish, pipelined", _rate(pipelined, "msg"), ""],
        ["asyncpg INSERT, awaited one by one", _rate(base["insert_awaited_per_s"], "rows"), ""],
        ["asyncpg INSERT, 16 connections", _rate(base["insert_concurrent_per_s"], "rows"), ""],
        ["publish -> consume -> upsert, one at a time", "", percentiles(raw_upsert)],
    ]
    throughput_rows = [
        _phase_row("POST /api/v1/tickets", phase, f"{phase['per_s'] / pipelined:.0%} of pipelined")
        for phase in results["http_create"]
    ] + [
        _phase_row("POST /api/v1/inbound/email", phase, "osTicket ~15/s")
        for phase in results["email_intake"]
    ]
    queue = results["queue_visible"]
    latency_rows = [
        [
            "create -> in GET /api/v1/queues/unassigned",
            percentiles(queue),
            f"p99 {queue['p99_ms'] / raw_upsert['p99_ms']:.1f}x raw publish -> upsert",
        ],
        ["  of which the POST itself", percentiles(results["create_alone"]), ""],
        [
            "create -> acknowledgement e-mail at the SMTP sink",
            percentiles(results["ack_email"]),
            "",
        ],
    ]
    throughput_header = [
        "through intake",
        "c",
        "consumers",
        "rate",
        "p50 / p95 / p99 ms",
        "intake CPU ms",
        "vs baseline",
        "catch-up",
    ]
    return "\n".join(
        [
            f"NATS durability: {results['durability']} (each write on disk before its ack); "
            f"{results['cpus']} CPUs, load average {results['load_average_before']} at start",
            f"intake ({sizes['intake_workers']} worker(s)), projections and notify run as "
            "processes; routing does not run; notify mails an SMTP sink (its own process)",
            "",
            render_table(
                ["raw baselines, same servers", "rate", "p50 / p95 / p99 ms"], baselines_rows
            ),
            "",
            render_table(throughput_header, throughput_rows),
            "c: concurrent connections. consumers paused: notify and projections stopped (SIGSTOP)",
            "during the phase. catch-up: until they had handled every event afterwards. "
            f"{results['emails_delivered']:,} e-mails delivered in all.",
            "",
            render_table(
                [
                    f"one ticket at a time ({sizes['latency_samples']})",
                    "p50 / p95 / p99 ms",
                    "vs baseline",
                ],
                latency_rows,
            ),
            "",
            render_table(
                ["target", "measured", "wanted", ""],
                [
                    [t["name"], str(t["value"]), t["target"], "met" if t["met"] else "MISSED"]
                    for t in results["targets"]
                ],
            ),
        ]
    )


def _rate(value: float, unit: str) -> str:
    return f"{number(value)} {unit}/s"


def _phase_row(what: str, phase: dict[str, Any], versus: str) -> list[str]:
    return [
        what,
        str(phase["concurrency"]),
        phase["consumers"],
        _rate(phase["per_s"], "req"),
        percentiles(phase["latency"]),
        f"{phase['intake_cpu_ms']:.2f}",
        versus,
        f"{phase['catch_up_s']:.1f} s",
    ]
