"""``python -m bench``: run every benchmark, print a table, write JSON under bench-results/."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from . import eventstore


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--other-events",
        type=int,
        default=200_000,
        help="events of other tickets in the stream before loading one",
    )
    parser.add_argument("--ticket-events", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    results = asyncio.run(eventstore.run(args.other_events, args.ticket_events))
    args.out.mkdir(exist_ok=True)
    (args.out / "eventstore.json").write_text(json.dumps(results, indent=2) + "\n")
    print(eventstore.table(results))
    print(f"\nJSON: {args.out / 'eventstore.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
