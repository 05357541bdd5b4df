"""``python -m ticketstream.embedded --data .run``: run both servers until SIGINT/SIGTERM.

Prints ``NATS_URL=...`` and ``DATABASE_URL=...`` (also written to ``<data>/servers.env``),
then waits; on SIGINT, SIGTERM or SIGHUP it stops PostgreSQL and NATS and exits 0. Exits 1
if a server dies on its own.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from .nats import start_nats
from .postgres import start_postgres

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stop(BaseException):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ticketstream.embedded",
        description="Run embedded NATS (JetStream) and PostgreSQL until interrupted.",
    )
    parser.add_argument("--data", type=Path, default=Path(".run"), help="data folder (.run)")
    parser.add_argument("--nats-port", type=int, default=None, help="default: a free port")
    parser.add_argument("--postgres-port", type=int, default=None, help="default: a free port")
    parser.add_argument("--database", default=None, help="create it and put it in DATABASE_URL")
    args = parser.parse_args(argv)

    for signum in _STOP_SIGNALS:
        signal.signal(signum, _raise_stop)
    env_file = args.data / "servers.env"
    try:
        with ExitStack() as stack:
            nats = stack.enter_context(start_nats(args.data / "nats", port=args.nats_port))
            postgres = stack.enter_context(
                start_postgres(
                    args.data / "postgres", port=args.postgres_port, database=args.database
                )
            )
            database_url = postgres.database_url(args.database or "postgres")
            lines = f"NATS_URL={nats.url}\nDATABASE_URL={database_url}\n"
            env_file.write_text(lines)
            stack.callback(env_file.unlink, missing_ok=True)
            # Stop in reverse order; a second Ctrl-C must not interrupt the shutdown.
            stack.callback(_ignore_stop_signals)
            print(lines, end="", flush=True)
            while nats.running and postgres.running:
                time.sleep(0.5)
            dead = "nats-server" if not nats.running else "postgres"
            print(f"{dead} exited unexpectedly; stopping", file=sys.stderr, flush=True)
            return 1
    except _Stop:
        return 0


def _ignore_stop_signals() -> None:
    for signum in _STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
