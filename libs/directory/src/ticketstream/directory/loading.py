"""Reading the directory file, with errors that say where and which rule.

Each problem is one line ``<file>: <key.path[index]>: <message> [rule: <rule>]``; a YAML
syntax error names the line and column instead of a key path.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml
from pydantic import ValidationError

from .directory import Directory
from .models import Organization
from .strict_yaml import DuplicateKeyError, read_yaml

__all__ = [
    "ENV_VAR",
    "DirectoryError",
    "default_directory_path",
    "directory_from_env",
    "format_location",
    "load_directory",
    "parse_directory",
    "validate_directory",
]

ENV_VAR = "TICKETSTREAM_DIRECTORY"
PUBLIC_URL_VAR = "TICKETSTREAM_PUBLIC_URL"
"""The environment variable holding the path of the directory file."""

_DEFAULT_NAME = "default_directory.yaml"


class DirectoryError(Exception):
    """The directory file is missing, unreadable, not YAML, or breaks a rule.

    ``problems`` holds one line per problem, each starting with the file's name;
    ``str(error)`` is a heading followed by those lines.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(problems)
        heading = f"invalid directory configuration {source} ({count} problem{'s' * (count > 1)}):"
        super().__init__("\n".join([heading, *(f"  {line}" for line in problems)]))


def format_location(loc: tuple[str | int, ...]) -> str:
    """A pydantic location as a key path: ``("help_topics", 0, "department")`` →
    ``help_topics[0].department``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def validate_directory(data: object, source: str = "<data>") -> Directory:
    """Validate already-parsed data (e.g. a dict) as a directory; ``source`` names it in
    errors. Raises :class:`DirectoryError` listing every problem."""
    if data is None:
        raise DirectoryError(source, [f"{source}: (top level): the file is empty [rule: empty]"])
    if not isinstance(data, Mapping):
        raise DirectoryError(
            source,
            [
                f"{source}: (top level): expected a mapping of keys (organization, "
                f"departments, ...), got {type(data).__name__} [rule: not_a_mapping]"
            ],
        )
    try:
        return Directory.model_validate(data)
    except ValidationError as invalid:
        raise DirectoryError(
            source,
            [
                f"{source}: {format_location(e['loc'])}: {e['msg']} [rule: {e['type']}]"
                for e in invalid.errors(include_url=False)
            ],
        ) from None


def parse_directory(text: str, source: str = "<string>") -> Directory:
    """Parse and validate a directory written in YAML; ``source`` names it in errors."""
    try:
        data = read_yaml(text)
    except yaml.YAMLError as broken:
        raise DirectoryError(source, [_yaml_problem(source, broken)]) from None
    return validate_directory(data, source)


def load_directory(path: str | os.PathLike[str] | Traversable) -> Directory:
    """Read, parse and validate the directory file at ``path``.

    Raises :class:`DirectoryError`, whose message lists each problem as
    ``<file>: <key.path[index]>: <message> [rule: <rule>]``.
    """
    source = str(path)
    file = Path(path) if isinstance(path, str | os.PathLike) else path
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DirectoryError(
            source,
            [
                f"{source}: no such file; set {ENV_VAR} to the path of the directory "
                "configuration (when unset, the packaged development default is used) "
                "[rule: file_not_found]"
            ],
        ) from None
    except (OSError, UnicodeDecodeError) as unreadable:
        raise DirectoryError(
            source, [f"{source}: cannot read it: {unreadable} [rule: unreadable]"]
        ) from None
    return parse_directory(text, source)


def default_directory_path() -> Traversable:
    """The packaged development directory (the seed scenario; development tokens)."""
    return files(__package__ or "ticketstream.directory").joinpath(_DEFAULT_NAME)


def directory_from_env(environ: Mapping[str, str] | None = None) -> Directory:
    """The directory named by ``TICKETSTREAM_DIRECTORY``, else the packaged default, with
    ``TICKETSTREAM_PUBLIC_URL`` (when set) as the portal's address in place of the file's
    ``organization.public_url``.

    An empty value counts as unset. Raises :class:`DirectoryError`.
    """
    env = os.environ if environ is None else environ
    path = env.get(ENV_VAR, "").strip()
    directory = load_directory(Path(path) if path else default_directory_path())
    public_url = env.get(PUBLIC_URL_VAR, "").strip()
    if not public_url:
        return directory
    fields = {**directory.organization.model_dump(), "public_url": public_url}
    try:
        organization = Organization.model_validate(fields)
    except ValidationError:
        problem = f"{PUBLIC_URL_VAR}: {public_url!r} is not an http(s) URL"
        raise DirectoryError(PUBLIC_URL_VAR, [problem]) from None
    return directory.model_copy(update={"organization": organization})


def directory_for_service(service: str) -> Directory:
    """:func:`directory_from_env` for a service starting up: on a broken directory it says
    what is wrong on stderr and exits with status 2 (like a bad setting)."""
    try:
        return directory_from_env()
    except DirectoryError as error:
        print(f"{service} cannot start: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


def _yaml_problem(source: str, broken: yaml.YAMLError) -> str:
    rule = "yaml_duplicate_key" if isinstance(broken, DuplicateKeyError) else "yaml_syntax"
    if isinstance(broken, yaml.MarkedYAMLError) and broken.problem_mark is not None:
        mark = broken.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        what = broken.problem or "invalid YAML"
        if broken.context:
            what += f" ({broken.context}"
            if broken.context_mark is not None:
                what += f" started at line {broken.context_mark.line + 1}"
            what += ")"
        return f"{source}: {where}: {what} [rule: {rule}]"
    return f"{source}: {broken} [rule: {rule}]"
