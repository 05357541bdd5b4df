"""``python -m ticketstream.signing new-key``: print a fresh ``TICKETSTREAM_SECRET_KEY``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .keys import new_secret_key
from .signer import SECRET_KEY_ENV


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ticketstream.signing",
        description="Ticketstream signing key tools.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "new-key",
        help=f"print a fresh random value for {SECRET_KEY_ENV}",
        description=(
            f"Print a fresh random value for {SECRET_KEY_ENV}. Give the same value to every "
            "service; changing it invalidates every requester link and reply address sent."
        ),
    )
    args = parser.parse_args(argv)
    if args.command == "new-key":
        print(new_secret_key())
        return 0
    parser.error(f"unknown command {args.command!r}")  # exits with status 2
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
