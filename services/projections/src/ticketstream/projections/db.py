"""Database access shared by the projection modules: where the read models live.

The live read models are the tables of one Postgres schema, ``read_models``; every
connection reaches them through its ``search_path``, so the SQL names no schema. A rebuild
fills a second schema and swaps the names (see :mod:`.rebuild`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[Any] | PoolConnectionProxy[Any]
    """A connection, whether held directly or borrowed from a pool."""
else:
    Connection = asyncpg.Connection

LIVE_SCHEMA = "read_models"
REBUILD_SCHEMA = "read_models_rebuild"
PREVIOUS_SCHEMA = "read_models_previous"


def _server_settings(schema: str) -> dict[str, str]:
    return {"search_path": schema, "application_name": "ticketstream-projections"}


async def _keep_as_is(_conn: object) -> None:
    """No reset on release: for a pool whose users leave no session state behind."""


async def create_pool(
    database_url: str, schema: str = LIVE_SCHEMA, *, max_size: int = 10, writer: bool = False
) -> asyncpg.Pool:
    """A pool whose connections see the read models of ``schema``.

    Its commits do not wait for the WAL flush (``synchronous_commit = off``): the read models
    are derived from the stream, and a batch lost in a crash goes with its checkpoint (the
    transaction stays atomic), so the projector simply applies it again.

    ``writer``: a pool for a projector, whose connections only ever run whole transactions
    and so skip asyncpg's reset query on every release (one round trip a batch).
    """
    settings = {**_server_settings(schema), "synchronous_commit": "off"}
    return await asyncpg.create_pool(
        database_url,
        min_size=1,
        max_size=max_size,
        server_settings=settings,
        reset=_keep_as_is if writer else None,
    )


async def connect(database_url: str, schema: str = LIVE_SCHEMA) -> asyncpg.Connection[Any]:
    """One connection that sees the read models of ``schema``."""
    return await asyncpg.connect(database_url, server_settings=_server_settings(schema))
