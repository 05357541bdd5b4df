"""``email.policy.default`` with every distinct header parsed once: :data:`MAIL_POLICY`.

The standard library parses a structured header each time it is read or set, and builds a
new header class for every parse: reading a message part's content type, its charset and
its parameters parses Content-Type about ten times, and building an e-mail parses every
value that is set, the same Content-Type, MIME-Version and From over and over. Header
objects are immutable, so :class:`ParseOnceHeaderRegistry` keeps what it built, keyed by
(name, value). intake parses inbound mail with it and notify builds its e-mails with it:
a plain inbound e-mail is parsed in half the time.
"""

from __future__ import annotations

from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any

__all__ = ["MAIL_POLICY", "ParseOnceHeaderRegistry"]

CACHED_HEADERS = 4096
"""Distinct headers kept; the cache starts over when it is full."""
CACHED_HEADER_CHARS = 512
"""Longer values are parsed every time (they rarely repeat, and bound the memory)."""


class ParseOnceHeaderRegistry(HeaderRegistry):
    """The default header factory, remembering the header classes and headers it built."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._built: dict[tuple[str, str], BaseHeader] = {}

    def map_to_type(self, name: str, cls: type[BaseHeader]) -> None:
        super().map_to_type(name, cls)
        self._classes.clear()
        self._built.clear()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if not isinstance(value, str) or len(value) > CACHED_HEADER_CHARS:
            return self[name](name, value)
        key = (name, value)
        header = self._built.get(key)
        if header is None:
            if len(self._built) >= CACHED_HEADERS:
                self._built.clear()  # a flood of distinct headers costs the cache, not memory
            header = self._built[key] = self[name](name, value)
        return header


MAIL_POLICY: EmailPolicy[EmailMessage] = policy.default.clone(
    header_factory=ParseOnceHeaderRegistry()
)
"""``email.policy.default``, parsing each distinct header once."""
