"""Run Alembic migrations from laurel itself (CLI, `serve` start-up, tests)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import migrations

SCRIPT_LOCATION = str(Path(migrations.__file__).parent)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# Several replicas that start together with LAUREL_AUTO_MIGRATE=1 (or a migrate job that
# overlaps a start) take turns: on PostgreSQL the first migrates under a transaction-level
# advisory lock (one per schema), the others wait for it, then find the database at head
# and do nothing.
_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtext('laurel migrations ' || current_schema()))")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await _one_at_a_time(conn)
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await _one_at_a_time(conn)
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), revision))


async def _one_at_a_time(conn: AsyncConnection) -> None:
    """SQLite needs nothing: BEGIN IMMEDIATE already lets one writer in at a time."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_known(revision: str) -> bool:
    """Whether this laurel's migrations include `revision` (a newer laurel's do not)."""
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown or partial id
        return False
