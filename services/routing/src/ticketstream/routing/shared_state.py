"""State the routing replicas share, kept in one JetStream key-value bucket ``routing``.

Keys (ticket ids are ``[0-9A-Z]{4,32}``, department ids directory slugs):

``rr.<department>``
    the agent round-robin assigned last in the department (:class:`RoundRobinPointers`,
    advanced by compare-and-set so two replicas never take the same turn);
``open.<ticket>``
    the agent an open, assigned ticket has (:class:`OpenAssignments`);
``timer.<ticket>``
    the next moment a ticket needs routing's attention, ISO 8601 UTC (:class:`Timers`).

:class:`OpenAssignments` and :class:`Timers` mirror their keys in memory through a KV watch,
so reads (``counts()``, ``due()``) cost no round trip; their own writes show in the mirror at
once and the watch brings the other replicas' writes a moment later.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.js import api
from nats.js.kv import KeyValue

__all__ = [
    "BUCKET",
    "OpenAssignments",
    "RoundRobinContentionError",
    "RoundRobinPointers",
    "Timers",
    "open_bucket",
]

BUCKET = "routing"
"""Name of the key-value bucket."""

log = structlog.get_logger(__name__)

_TICKET_ID = re.compile(r"[0-9A-Z]{4,32}")
_DEPARTMENT_ID = re.compile(r"[a-z0-9._-]+")
_KV_OP_DELETES = frozenset({"DEL", "PURGE"})

V = TypeVar("V")


async def open_bucket(nc: Client, *, replicas: int = 1) -> KeyValue:
    """The ``routing`` bucket (file storage, history 1): opened, or created when missing.

    Safe when several replicas start at once: a lost creation race opens the winner's bucket.
    """
    js = nc.jetstream()
    try:
        return await js.key_value(BUCKET)
    except nats.js.errors.BucketNotFoundError:
        pass
    config = api.KeyValueConfig(
        bucket=BUCKET,
        history=1,
        storage=api.StorageType.FILE,
        replicas=replicas,
        description="ticketstream routing: round-robin turns, open assignments, timers",
    )
    try:
        return await js.create_key_value(config)
    except nats.js.errors.BadRequestError:
        # Another replica created it in between with a slightly different configuration.
        return await js.key_value(BUCKET)


def _check_ticket(ticket_id: str) -> str:
    if not _TICKET_ID.fullmatch(ticket_id):
        raise ValueError(f"ticket id {ticket_id!r} does not match [0-9A-Z]{{4,32}}")
    return ticket_id


def _department_key(department: str) -> str:
    """``rr.<department>``; dots are kept unless they would make an empty key token."""
    if not _DEPARTMENT_ID.fullmatch(department):
        raise ValueError(f"department id {department!r} does not match [a-z0-9._-]+")
    if "" in department.split("."):
        # "a..b", ".a", "a.": not a valid subject; "=" never occurs in a department id.
        department = department.replace(".", "=")
    return f"rr.{department}"


class RoundRobinContentionError(RuntimeError):
    """A round-robin pointer kept changing under us for every try."""


class RoundRobinPointers:
    """Per department, the agent round-robin assigned last, advanced with compare-and-set."""

    MAX_TRIES = 50
    """Compare-and-set attempts before :class:`RoundRobinContentionError`."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def last(self, department: str) -> str | None:
        """The agent the department's last turn went to (``None``: no turn yet)."""
        value, _ = await self._read(_department_key(department))
        return value

    async def advance(
        self, department: str, choose: Callable[[str | None], str | None]
    ) -> str | None:
        """Take the department's next turn: ``choose(last)`` becomes the new pointer.

        ``choose`` gets the agent the last turn went to (``None`` when there was none) and
        returns the next one, or ``None`` to take no turn (nothing is written then). It may be
        called more than once, when another replica advanced the pointer in between, so it
        must be a pure function of its argument. Returns what it chose; two concurrent calls
        (in this process or in different replicas) never both get the same turn.
        """
        key = _department_key(department)
        for attempt in range(1, self.MAX_TRIES + 1):
            last, revision = await self._read(key)
            chosen = choose(last)
            if chosen is None:
                return None
            try:
                if revision is None:
                    await self._kv.create(key, chosen.encode())
                else:
                    await self._kv.update(key, chosen.encode(), last=revision)
            except nats.js.errors.KeyWrongLastSequenceError:
                await asyncio.sleep(random.uniform(0, 0.002 * min(attempt, 10)))
                continue
            return chosen
        raise RoundRobinContentionError(
            f"round-robin pointer {key!r} changed under us {self.MAX_TRIES} times in a row"
        )

    async def _read(self, key: str) -> tuple[str | None, int | None]:
        try:
            entry = await self._kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return None, None
        if entry.value is None:
            return None, entry.revision
        return entry.value.decode(), entry.revision


@dataclass(eq=False)
class _LocalWrite:
    """A write of this process the watch has not delivered yet.

    Entries of the key below ``revision`` are older than the write and are ignored; the
    first at or above it ends the mark. For a put ``revision`` is its stream sequence; the
    client does not report a delete's, so a delete uses one more than the highest sequence
    known when it was sent. (With history 1 the watch may never see an entry that a newer
    one of the same key replaced in the meantime, so a mark must not wait for a particular
    entry.)
    """

    revision: int


SETTLE_SECONDS = 0.05
"""Quiet time after the initial-data marker that ends the initial load."""
SETTLE_AT_MOST_SECONDS = 1.0


class _KvMirror(Generic[V]):
    """The keys under one prefix, kept in memory by a KV watch (shared by the state classes).

    Entries are decoded with ``decode`` (undecodable ones are logged and skipped). The watch
    task loads the current values, then follows updates; on any error it logs, waits and
    watches again, rebuilding the mirror from the bucket's current state.
    """

    RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0)

    def __init__(self, kv: KeyValue, prefix: str, decode: Callable[[bytes], V]) -> None:
        self._kv = kv
        self._prefix = prefix
        self._decode = decode
        self.values: dict[str, V] = {}
        """Current values by the part of the key after the prefix (read-only for users)."""
        self._local: dict[str, _LocalWrite] = {}
        self._seen = 0  # highest stream sequence the watch delivered
        self._written = 0  # highest stream sequence of this process's puts
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watcher: KeyValue.KeyWatcher | None = None

    async def start(self) -> None:
        """Start the watch; returns once the current values are loaded."""
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.create_task(self._run(), name=f"kv-watch:{self._prefix}>")
        ready = asyncio.create_task(self._ready.wait())
        try:
            await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not self._ready.is_set():
            self._task.result()  # the watch task ended early: raise what ended it
            raise RuntimeError(f"watch on {self._prefix}> ended before loading")

    async def stop(self) -> None:
        """Stop the watch; the mirror keeps its last state."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def put(self, name: str, value: V, encoded: bytes) -> None:
        """Put ``encoded`` under ``prefix + name`` and mirror ``value`` at once."""
        revision = await self._kv.put(f"{self._prefix}{name}", encoded)
        self._written = max(self._written, revision)
        if revision > self._seen:  # else the watch has delivered this write or a newer one
            self._local[name] = _LocalWrite(revision)
            self.values[name] = value

    async def delete(self, name: str) -> None:
        """Delete ``prefix + name`` and drop it from the mirror at once."""
        mark = _LocalWrite(max(self._seen, self._written) + 1)
        self._local[name] = mark  # before the delete: its tombstone may come back first
        try:
            await self._kv.delete(f"{self._prefix}{name}")
        except BaseException:
            if self._local.get(name) is mark:
                del self._local[name]
                self._resync()  # values skipped meanwhile may have been current
            raise
        if self._local.get(name) is mark:
            self.values.pop(name, None)

    def _resync(self) -> None:
        """Make the watch task start over from the bucket's current state."""
        if self._watcher is not None:
            asyncio.get_running_loop().create_task(self._stop_watcher(self._watcher))

    @staticmethod
    async def _stop_watcher(watcher: KeyValue.KeyWatcher) -> None:
        with contextlib.suppress(Exception):
            await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py lacks hints

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._follow()
                failures = 0  # the watcher was stopped for a resync: watch again at once
            except asyncio.CancelledError:
                raise
            except Exception:
                delay = self.RETRY_DELAYS[min(failures, len(self.RETRY_DELAYS) - 1)]
                failures += 1
                log.warning(
                    "kv_watch_failed",
                    bucket=BUCKET,
                    keys=f"{self._prefix}>",
                    retry_in_seconds=delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)

    async def _follow(self) -> None:
        watcher = await self._kv.watch(f"{self._prefix}>")
        self._watcher = watcher
        try:
            loaded: dict[str, V] | None = {}  # the initial values, until the end marker
            async for entry in watcher:
                if entry is None:
                    if loaded is not None:
                        await self._settle(watcher, loaded)
                        self._swap_in(loaded)
                        loaded = None
                        self._ready.set()
                    continue
                self._apply(entry, self.values if loaded is None else loaded)
        finally:
            self._watcher = None
            await self._stop_watcher(watcher)

    async def _settle(self, watcher: KeyValue.KeyWatcher, loaded: dict[str, V]) -> None:
        """Take in entries still in flight when the end-of-initial-data marker came.

        nats-py decides that marker from the consumer's pending count, which can read 0 while
        the initial entries are already on their way to the client: without this, a start
        could return before the values it promised were loaded.
        """
        deadline = asyncio.get_running_loop().time() + SETTLE_AT_MOST_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            try:
                entry = await watcher.updates(timeout=SETTLE_SECONDS)  # type: ignore[no-untyped-call]
            except nats.errors.TimeoutError:
                return
            if entry is not None:
                self._apply(entry, loaded)

    def _swap_in(self, loaded: dict[str, V]) -> None:
        # Keys with own writes the watch has not delivered yet keep their mirrored state.
        for name in self._local:
            loaded.pop(name, None)
            if name in self.values:
                loaded[name] = self.values[name]
        self.values = loaded

    def _apply(self, entry: KeyValue.Entry, target: dict[str, V]) -> None:
        revision = entry.revision or 0
        self._seen = max(self._seen, revision)
        name = entry.key[len(self._prefix) :]
        deleted = entry.operation in _KV_OP_DELETES
        mark = self._local.get(name)
        if mark is not None:
            if revision < mark.revision:
                return  # older than this process's own write of the key
            del self._local[name]
        if deleted or entry.value is None:
            target.pop(name, None)
            return
        try:
            target[name] = self._decode(entry.value)
        except ValueError:
            log.warning("kv_entry_undecodable", bucket=BUCKET, key=entry.key, exc_info=True)
            target.pop(name, None)


def _decode_text(raw: bytes) -> str:
    return raw.decode()


def _decode_instant(raw: bytes) -> datetime:
    at = datetime.fromisoformat(raw.decode())
    if at.tzinfo is None:
        raise ValueError(f"timer {raw!r} has no time zone")
    return at.astimezone(UTC)


class OpenAssignments:
    """Which agent each open, assigned ticket has (``open.<ticket>`` = agent id).

    Shared by the replicas through the bucket and mirrored in memory by a watch:
    :meth:`counts` reads the mirror only. Call :meth:`start` before reading.
    """

    PREFIX = "open."

    def __init__(self, kv: KeyValue) -> None:
        self._mirror: _KvMirror[str] = _KvMirror(kv, self.PREFIX, _decode_text)

    async def start(self) -> None:
        """Start following the bucket; returns once the current assignments are loaded."""
        await self._mirror.start()

    async def stop(self) -> None:
        """Stop following the bucket."""
        await self._mirror.stop()

    async def set(self, ticket_id: str, agent_id: str | None) -> None:
        """Record the ticket's agent, or ``None`` when it is closed or unassigned (idempotent)."""
        _check_ticket(ticket_id)
        if agent_id is None:
            await self._mirror.delete(ticket_id)
        else:
            await self._mirror.put(ticket_id, agent_id, agent_id.encode())

    def agent_of(self, ticket_id: str) -> str | None:
        """The ticket's agent in the mirror (``None``: not open and assigned)."""
        return self._mirror.values.get(ticket_id)

    def counts(self) -> dict[str, int]:
        """Open tickets per agent (agents with none are absent)."""
        return dict(Counter(self._mirror.values.values()))


class Timers:
    """The next moment each ticket needs routing's attention (``timer.<ticket>``).

    An SLA breach or an auto-close; the value is an ISO 8601 UTC instant. Shared by the
    replicas through the bucket and mirrored in memory by a watch, so a restarted replica
    finds what fell due while it was down. Call :meth:`start` before reading.
    """

    PREFIX = "timer."

    def __init__(self, kv: KeyValue) -> None:
        self._mirror: _KvMirror[datetime] = _KvMirror(kv, self.PREFIX, _decode_instant)

    async def start(self) -> None:
        """Start following the bucket; returns once the current timers are loaded."""
        await self._mirror.start()

    async def stop(self) -> None:
        """Stop following the bucket."""
        await self._mirror.stop()

    async def set(self, ticket_id: str, at: datetime | None) -> None:
        """Set the ticket's timer to ``at`` (timezone-aware), or remove it with ``None``."""
        _check_ticket(ticket_id)
        if at is None:
            await self._mirror.delete(ticket_id)
            return
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"timer for {ticket_id} must be timezone-aware, got {at!r}")
        at = at.astimezone(UTC)
        await self._mirror.put(ticket_id, at, at.isoformat().encode())

    def get(self, ticket_id: str) -> datetime | None:
        """The ticket's timer in the mirror (``None``: none set)."""
        return self._mirror.values.get(ticket_id)

    def due(self, now: datetime) -> list[str]:
        """Tickets whose timer is at or before ``now``, earliest first (ties by ticket id)."""
        items = self._mirror.values.items()
        return [ticket for at, ticket in sorted((at, t) for t, at in items if at <= now)]

    def next_at(self) -> datetime | None:
        """The earliest timer (``None``: none set)."""
        return min(self._mirror.values.values(), default=None)
