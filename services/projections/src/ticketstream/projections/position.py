"""Read-your-writes: wait, bounded, until the read model has applied a stream position."""

from __future__ import annotations

import asyncio


class PositionWatch:
    """The stream position the read models have applied, and a way to wait for one."""

    def __init__(self, position: int = 0) -> None:
        self._position = position
        self._changed = asyncio.Condition()

    @property
    def position(self) -> int:
        return self._position

    async def advance(self, position: int) -> None:
        """Record that everything up to ``position`` is applied (committed)."""
        async with self._changed:
            if position > self._position:
                self._position = position
                self._changed.notify_all()

    async def wait_for(self, position: int, within: float) -> bool:
        """Wait until ``position`` is applied; False when ``within`` seconds pass first."""
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._position >= position), within
                )
            except TimeoutError:
                return False
            return True
