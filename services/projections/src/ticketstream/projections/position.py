"""Read-your-writes: wait, bounded, until the read model has applied a stream position.

Every projections process follows the committed position, whether it runs the projector or
only serves queries: the live projector announces each batch with a Postgres NOTIFY, and a
slow poll of the checkpoint covers a notification missed while the listener reconnects.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

import structlog

from .db import connect

_log = structlog.get_logger(__name__)


class PositionWatch:
    """The stream position the read models have applied, and a way to wait for one."""

    def __init__(self, position: int = 0) -> None:
        self._position = position
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def position(self) -> int:
        return self._position

    def advance(self, position: int) -> None:
        """Record that everything up to ``position`` is applied (committed)."""
        if position <= self._position:
            return
        self._position = position
        waiting = []
        for wanted, future in self._waiters:
            if wanted <= position:
                if not future.done():
                    future.set_result(None)
            else:
                waiting.append((wanted, future))
        self._waiters = waiting

    async def wait_for(self, position: int, within: float) -> bool:
        """Wait until ``position`` is applied; False when ``within`` seconds pass first."""
        if position <= self._position:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((position, future))
        try:
            await asyncio.wait_for(future, within)
        except TimeoutError:
            return False
        finally:
            self._waiters = [(p, f) for p, f in self._waiters if f is not future]
        return True


async def follow(
    database_url: str, watch: PositionWatch, channel: str, checkpoint_sql: str, *args: Any
) -> None:
    """Advance ``watch`` from NOTIFYs on ``channel`` and a poll of ``checkpoint_sql``, until
    cancelled; reconnects after a lost connection."""

    def notified(_conn: object, _pid: int, _channel: str, payload: object) -> None:
        with suppress(ValueError):
            watch.advance(int(str(payload)))

    while True:
        try:
            conn = await connect(database_url)
            try:
                await conn.add_listener(channel, notified)
                while True:
                    watch.advance(int(await conn.fetchval(checkpoint_sql, *args) or 0))
                    await asyncio.sleep(1.0)
            finally:
                with suppress(Exception):
                    await conn.close(timeout=2)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            _log.warning("position follower lost its connection", error=str(error)[:300])
            await asyncio.sleep(1.0)
