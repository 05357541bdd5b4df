"""Schema evolution on decode: an upcaster turns a raw CloudEvent of an old type into the next.

A published event type is never edited. When its payload must change, a new type
(``...created.v2``) gets a new model, and an upcaster registered under the old type rewrites
stored events as they are read. Upcasters chain: v1 -> v2 -> v3.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

RawEvent = dict[str, Any]
Upcaster = Callable[[RawEvent], RawEvent]
"""Takes a raw CloudEvent dict of one type and returns one of a newer type."""

UPCASTERS: dict[str, Upcaster] = {}
"""The registry used by :func:`ticketstream.events.envelope.decode` by default."""

MAX_CHAIN = 32


def upcast(raw: RawEvent, upcasters: Mapping[str, Upcaster]) -> RawEvent:
    """Apply upcasters until the event's type has none registered."""
    for _ in range(MAX_CHAIN):
        before = raw.get("type")
        # A non-string type (say a list) is left for validation to reject, not looked up.
        upcaster = upcasters.get(before) if isinstance(before, str) else None
        if upcaster is None:
            return raw
        raw = upcaster(raw)
        if raw.get("type") == before:
            raise ValueError(f"upcaster for {before!r} did not change the event type")
    raise ValueError(f"upcaster chain longer than {MAX_CHAIN} for {raw.get('type')!r}")
