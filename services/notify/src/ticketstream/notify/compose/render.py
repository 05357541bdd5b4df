"""Rendering an e-mail kind into its plain-text and HTML parts with Jinja2.

Each kind has two templates in ``ticketstream/notify/templates``: ``<kind>.txt.j2`` and
``<kind>.html.j2`` (the HTML ones extend ``base.html.j2``). An operator may override any of
them by putting a file of the same name in an override folder: it takes precedence over
the packaged one, and the other templates stay as packaged.

HTML templates are autoescaped, so ticket content (subjects, bodies, names) arrives inert
however it was written; use the ``paragraphs`` filter for multi-line user text. Text
templates are not escaped: their content is sent as written. Undefined variables are
errors, so a typo in an override fails loudly instead of sending a blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
)
from markupsafe import Markup, escape

__all__ = ["Templates", "format_duration_words", "format_when"]

_PACKAGE = "ticketstream.notify"
_FOLDER = "templates"


def _autoescape(name: str | None) -> bool:
    return name is not None and (name.endswith(".html.j2") or name.endswith(".html"))


class Templates:
    """The e-mail templates: packaged ones, each overridable from ``override_dir``."""

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[BaseLoader] = []
        if override_dir is not None:
            if not Path(override_dir).is_dir():
                raise ValueError(f"template override folder {override_dir} is not a directory")
            loaders.append(FileSystemLoader(str(override_dir)))
        loaders.append(PackageLoader(_PACKAGE, _FOLDER))
        self.override_dir = override_dir
        self.environment = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=_autoescape,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.environment.filters["paragraphs"] = paragraphs
        self.environment.filters["when"] = format_when
        self.environment.filters["duration"] = format_duration_words

    def render(self, kind: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """``(text, html)`` of e-mail ``kind`` (``jinja2.TemplateNotFound`` if it has none)."""
        text = self.environment.get_template(f"{kind}.txt.j2").render(context)
        html = self.environment.get_template(f"{kind}.html.j2").render(context)
        return text, html


def paragraphs(text: str | None) -> Markup:
    """User text for HTML: escaped, each line break kept as ``<br>``."""
    if not text:
        return Markup("")
    lines = str(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Markup("<br>\n").join(escape(line) for line in lines)


def format_when(moment: datetime | None) -> str:
    """``"Fri 4 Dec 2026, 17:00 UTC"``: a due time as a reader wants it (always in UTC)."""
    if moment is None:
        return ""
    utc = moment.astimezone(UTC)
    return f"{utc:%a} {utc.day} {utc:%b %Y, %H:%M} UTC"


def format_duration_words(duration: timedelta | None) -> str:
    """``"3 days"``, ``"1 hour 30 minutes"``: an SLA target in words."""
    if duration is None:
        return ""
    minutes = int(duration.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    return " ".join(parts) or "less than a minute"
