"""``python -m bench``: run the benchmarks, print a table each, write JSON under bench-results/.

Every benchmark starts its own embedded servers (NATS with ``sync_interval: "always"``)
and measures its raw baselines in the same run; see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from .report import DURABILITY

BENCHMARKS = ("eventstore", "system", "projections")


def _names(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown benchmark {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(BENCHMARKS)}"
        )
    return names


def _counts(value: str) -> list[int]:
    try:
        counts = [int(n) for n in value.split(",") if n.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {value!r}"
        ) from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {value!r}")
    return counts


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return number


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Ticketstream benchmarks, each beside raw baselines measured in the same "
        "run. See docs/benchmarks.md for how to read the tables.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = p.add_argument
    add("--only", type=_names, default=",".join(BENCHMARKS), help="benchmarks to run")
    add("--out", type=Path, default=Path("bench-results"), help="folder for the JSON files")

    add = p.add_argument_group("eventstore").add_argument
    add("--other-events", type=int, default=200_000, help="other tickets' events before a load")
    add("--ticket-events", type=_positive, default=20, help="events of the ticket loaded")

    add = p.add_argument_group("system: the services as processes").add_argument
    add("--creates", type=_positive, default=1000, help="tickets created at each concurrency")
    add("--concurrency", type=_counts, default="1,8,32,64", help="HTTP concurrencies of creation")
    add("--latency-samples", type=_positive, default=200, help="tickets created one at a time")
    add("--emails", type=_positive, default=2000, help="e-mails posted to the inbound endpoint")
    add("--email-concurrency", type=_positive, default=32, help="HTTP concurrency of e-mail")
    add("--intake-workers", type=_positive, default=1, help="intake's TICKETSTREAM_WORKERS")

    add = p.add_argument_group("projections").add_argument
    add("--replay-tickets", type=_positive, default=100_000, help="tickets replayed")
    add("--queue-sizes", type=_counts, default="100000,1000000", help="tickets in the read model")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.out.mkdir(exist_ok=True)
    print(f"Ticketstream benchmarks; NATS durability: {DURABILITY} (the shipped setting)\n")
    for name in BENCHMARKS:
        if name not in args.only:
            continue
        run, table = _benchmark(name, args)
        started = time.monotonic()
        results = asyncio.run(run())
        took = time.monotonic() - started
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"== {name} ({took:.0f} s) ==\n{table(results)}\nJSON: {path}\n", flush=True)
    return 0


Runner = Callable[[], Coroutine[Any, Any, dict[str, Any]]]
Table = Callable[[dict[str, Any]], str]


def _benchmark(name: str, args: argparse.Namespace) -> tuple[Runner, Table]:
    """The coroutine function and table of one benchmark; each module is imported only when
    it runs, so one benchmark's imports never slow or break another's."""
    if name == "eventstore":
        from . import eventstore

        return lambda: eventstore.run(args.other_events, args.ticket_events), eventstore.table
    if name == "system":
        from . import system

        sizes = system.Sizes(
            creates=args.creates,
            concurrencies=tuple(args.concurrency),
            latency_samples=args.latency_samples,
            emails=args.emails,
            email_concurrency=args.email_concurrency,
            intake_workers=args.intake_workers,
        )
        return lambda: system.run(sizes), system.table
    from . import projections

    return lambda: projections.run(args.replay_tickets, args.queue_sizes), projections.table


if __name__ == "__main__":
    raise SystemExit(main())
