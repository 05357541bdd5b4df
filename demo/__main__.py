"""``python -m demo`` (``make demo``): the seed scenario on the running system, or on one of
its own; exits 1 naming the step that did not happen as expected."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .desk import ScenarioError
from .scenario import Scenario, play_seed_scenario
from .system import running_system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Play osTicket's 'User Unable to Access Email' through the public HTTP "
        "interfaces of the system `make run` started (or of one started for the demo).",
    )
    parser.add_argument(
        "--data", type=Path, default=Path(".run"), help="the data folder of `make run` (.run)"
    )
    args = parser.parse_args(argv)
    try:
        with running_system(args.data) as desk:
            scenario = Scenario(desk)
            try:
                ticket = play_seed_scenario(scenario)
            except ScenarioError as failure:
                step = f"step {scenario.number} ({scenario.title})"
                raise ScenarioError(f"{step}: {failure}") from None
    except ScenarioError as failure:
        print(f"\nThe demo FAILED: {failure}", file=sys.stderr, flush=True)
        return 1
    print(
        f"\nDone: ticket {ticket.ticket_id} went from the portal form to closed, rated "
        f"{ticket.state['feedback']['rating']}/5 in the satisfaction report."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
