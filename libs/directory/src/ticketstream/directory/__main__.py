"""``python -m ticketstream.directory``: check a directory file, hash or make API tokens.

- ``check [FILE]``: validate FILE (default: ``$TICKETSTREAM_DIRECTORY``, else the packaged
  development default); prints ``ok: ...`` and exits 0, or prints every problem to stderr
  and exits 1.
- ``hash-token [TOKEN]``: print the ``token_sha256`` of TOKEN (read from stdin when omitted
  or ``-``, which keeps it out of the shell history).
- ``new-token``: print a new random token and its ``token_sha256``.
"""

from __future__ import annotations

import argparse
import os
import sys

from .loading import DirectoryError, directory_from_env, load_directory
from .tokens import generate_token, hash_token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ticketstream.directory",
        description="Check Ticketstream's directory file; hash or make agents' API tokens.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a directory file")
    check.add_argument(
        "file", nargs="?", help="default: $TICKETSTREAM_DIRECTORY, else the packaged default"
    )
    hash_ = commands.add_parser("hash-token", help="print the token_sha256 of a token")
    hash_.add_argument("token", nargs="?", default="-", help="the token; '-' or none: stdin")
    commands.add_parser("new-token", help="print a new random token and its token_sha256")
    args = parser.parse_args(argv)

    if args.command == "check":
        return _check(args.file)
    if args.command == "hash-token":
        token = sys.stdin.readline().strip() if args.token == "-" else args.token
        if not token:
            print("error: the token is empty", file=sys.stderr)
            return 1
        print(hash_token(token))
        return 0
    token = generate_token()
    print(f"token: {token}\ntoken_sha256: {hash_token(token)}")
    return 0


def _check(file: str | None) -> int:
    try:
        directory = load_directory(file) if file else directory_from_env(os.environ)
    except DirectoryError as invalid:
        print(invalid, file=sys.stderr)
        return 1
    print(
        f"ok: {len(directory.help_topics)} help topics, {len(directory.departments)} "
        f"departments, {len(directory.agents)} agents"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
