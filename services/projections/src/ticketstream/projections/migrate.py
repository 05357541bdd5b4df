"""Versioned schema migrations, applied in order at start-up.

Each file ``migrations/NNNN_name.sql`` runs once, in its own transaction, recorded in
``schema_migrations`` of the schema it builds (the live read models, or a rebuild's fresh
ones). An advisory lock keeps two replicas starting together from racing.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from .db import LIVE_SCHEMA, Connection

_LOCK_KEY = 0x7469636B  # "tick"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with the service, in version order."""
    folder = files(__package__).joinpath("migrations")
    migrations = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            migrations.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text()))
    return sorted(migrations, key=lambda m: m.version)


async def migrate(conn: Connection, schema: str = LIVE_SCHEMA) -> list[int]:
    """Apply to ``schema`` what has not been applied yet; return the versions applied now.

    Leaves ``conn`` looking at ``schema``.
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in available():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
