"""``make run``: the whole system on one machine, on embedded servers.

``python -m ticketstream.embedded.supervisor --data .run`` starts NATS (JetStream) and
PostgreSQL from ``<data>`` (or uses ``NATS_URL`` / ``DATABASE_URL`` when set), then every
service as its own process with its name before each log line; a service that crashes is
restarted with backoff. Ctrl-C (or SIGTERM) stops the services, then the servers, and leaves
no process behind. Data stays in ``<data>``, so a second run continues where the first
stopped.

While it runs, ``<data>/services.json`` says where everything is, for tools such as
``make demo`` (ports may differ from the preferred ones)::

    {"intake": "http://127.0.0.1:8001", "projections": "...", "routing": "...",
     "notify": "...", "smtp": "127.0.0.1:2525", "mail_folder": "/abs/.run/mail",
     "nats": "nats://...", "database": "postgresql://...",
     "agent_tokens": {"alex": "ts-dev-alex", ...}, "pid": 1234}

``agent_tokens`` holds the development directory's tokens, and is empty when
``TICKETSTREAM_DIRECTORY`` names another directory. The file is removed on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import sys
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from ._process import child_setup, free_port
from .nats import start_nats
from .postgres import start_postgres


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    port: int
    serves: str
    module: str = ""
    """What runs: ``python -m <module>`` (default ``ticketstream.<name>``)."""
    args: tuple[str, ...] = ()
    """Command-line arguments; ``{port}`` and ``{data}`` are filled in."""

    @property
    def address(self) -> str:
        """``http://127.0.0.1:<port>`` for an HTTP service, ``127.0.0.1:<port>`` otherwise."""
        return f"127.0.0.1:{self.port}" if self.module else f"http://127.0.0.1:{self.port}"

    def argv(self, data: Path) -> list[str]:
        module = self.module or f"ticketstream.{self.name}"
        filled = [a.format(port=self.port, data=data) for a in self.args]
        return [sys.executable, "-m", module, *filled]


SERVICES = (
    Service("intake", 8001, "portal (/) and commands: /api/v1/tickets ..."),
    Service("projections", 8002, "queries: GET /api/v1/tickets/{id}"),
    Service("routing", 8003, "routing, SLA and auto-close: health and metrics only"),
    Service("notify", 8004, "e-mails on every update: health and metrics only"),
    Service(
        "mail",
        2525,
        "SMTP sink: every e-mail notify sends lands in {data}/mail as an .eml file",
        module="ticketstream.notify.sink",
        args=("--folder", "{data}/mail", "--port", "{port}"),
    ),
)
DATABASE = "ticketstream"
MAX_BACKOFF = 10.0
SERVICES_FILE = "services.json"
DEV_AGENT_TOKENS = {"alex": "ts-dev-alex", "sam": "ts-dev-sam", "jordan": "ts-dev-jordan"}
"""The public tokens of the development directory's agents (``default_directory.yaml``)."""


def _port_or_free(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


async def _pipe(name: str, stream: asyncio.StreamReader) -> None:
    width = max(len(s.name) for s in SERVICES)
    while line := await stream.readline():
        sys.stdout.write(f"{name:<{width}} | {line.decode(errors='replace')}")
        sys.stdout.flush()


async def _keep_running(
    service: Service, env: dict[str, str], data: Path, stop: asyncio.Event
) -> None:
    """Run one service until ``stop``; restart it with backoff when it exits on its own."""
    backoff = 0.5
    while not stop.is_set():
        process = await asyncio.create_subprocess_exec(
            *service.argv(data),
            env={**env, "TICKETSTREAM_PORT": str(service.port)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=child_setup(signal.SIGTERM, None),
            process_group=0,
        )
        assert process.stdout is not None
        piping = asyncio.create_task(_pipe(service.name, process.stdout))
        stopping = asyncio.create_task(stop.wait())
        exited = asyncio.create_task(process.wait())
        await asyncio.wait({stopping, exited}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 15)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            await piping
            return
        stopping.cancel()
        await piping
        print(
            f"supervisor | {service.name} exited with {process.returncode}; "
            f"restarting in {backoff:.1f}s",
            flush=True,
        )
        try:
            await asyncio.wait_for(stop.wait(), backoff)
        except TimeoutError:
            backoff = min(backoff * 2, MAX_BACKOFF)


async def _supervise(env: dict[str, str], services: tuple[Service, ...], data: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    await asyncio.gather(*(_keep_running(s, env, data, stop) for s in services))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ticketstream.embedded.supervisor",
        description="Run Ticketstream on embedded NATS and PostgreSQL until Ctrl-C.",
    )
    parser.add_argument("--data", type=Path, default=Path(".run"), help="data folder (.run)")
    args = parser.parse_args(argv)
    data = args.data.resolve()
    data.mkdir(parents=True, exist_ok=True)

    with ExitStack() as stack:
        nats_url = os.environ.get("NATS_URL")
        if not nats_url:
            nats_url = stack.enter_context(start_nats(data / "nats", port=_port_or_free(4250))).url
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            postgres = stack.enter_context(
                start_postgres(data / "postgres", port=_port_or_free(5450), database=DATABASE)
            )
            database_url = postgres.database_url(DATABASE)
        services = tuple(replace(s, port=_port_or_free(s.port)) for s in SERVICES)
        print(_banner(nats_url, database_url, services, data), flush=True)
        described = _write_services_file(data, nats_url, database_url, services)
        stack.callback(described.unlink, missing_ok=True)
        env = {
            **os.environ,
            "NATS_URL": nats_url,
            "DATABASE_URL": database_url,
            "TICKETSTREAM_SECRET_KEY": _secret_key(data),
        }
        env.setdefault("TICKETSTREAM_LOG_FORMAT", "console")
        mail = next(s for s in services if s.name == "mail")
        env.setdefault("TICKETSTREAM_SMTP_HOST", "127.0.0.1")
        env.setdefault("TICKETSTREAM_SMTP_PORT", str(mail.port))
        env.setdefault("TICKETSTREAM_SMTP_SECURITY", "none")
        intake = next(s for s in services if s.name == "intake")
        env.setdefault("TICKETSTREAM_PUBLIC_URL", f"http://127.0.0.1:{intake.port}")
        asyncio.run(_supervise(env, services, data))
        print("supervisor | services stopped; stopping NATS and PostgreSQL", flush=True)
    print("supervisor | stopped", flush=True)
    return 0


def _secret_key(data: Path) -> str:
    """TICKETSTREAM_SECRET_KEY if set, else one generated once and kept in ``<data>``."""
    if key := os.environ.get("TICKETSTREAM_SECRET_KEY"):
        return key
    path = data / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _agent_tokens() -> dict[str, str]:
    """The agents' tokens we know: the development directory's, unless another is used."""
    return {} if os.environ.get("TICKETSTREAM_DIRECTORY") else dict(DEV_AGENT_TOKENS)


def _write_services_file(
    data: Path, nats_url: str, database_url: str, services: tuple[Service, ...]
) -> Path:
    """``<data>/services.json``: where everything runs (see the module's docstring)."""
    by_name = {s.name: s for s in services}
    mail = by_name.pop("mail")
    described = {
        **{name: s.address for name, s in by_name.items()},
        "smtp": mail.address,
        "mail_folder": str(data / "mail"),
        "nats": nats_url,
        "database": database_url,
        "agent_tokens": _agent_tokens(),
        "pid": os.getpid(),
    }
    path = data / SERVICES_FILE
    written = path.with_suffix(".tmp")
    written.write_text(json.dumps(described, indent=2) + "\n")
    written.replace(path)  # a reader never sees half a file
    return path


def _banner(nats_url: str, database_url: str, services: tuple[Service, ...], data: Path) -> str:
    lines = ["", "Ticketstream is starting (Ctrl-C stops everything):"]
    for s in services:
        if s.module:  # not an HTTP service
            lines.append(f"  {s.name:<12} {s.address}  {s.serves.format(data=data)}")
        else:
            lines.append(f"  {s.name:<12} {s.address}  {s.serves}  (/docs for the API)")
    lines += [
        f"  {'NATS':<12} {nats_url}  (stream TICKETS, subjects tickets.<ticket>)",
        f"  {'PostgreSQL':<12} {database_url}",
        f"  {'data':<12} {data}  (where everything is: {data / SERVICES_FILE})",
    ]
    if tokens := _agent_tokens():
        token = tokens["alex"]
        lines.append(
            f"  {'agent token':<12} {token}  (development directory; "
            f"curl -H 'Authorization: Bearer {token}' ...)"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
