"""Alembic: an empty database goes to head and back to base on both engines, and the
migrations describe exactly the tables the code uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from adapters.persistence import migrate
from adapters.persistence.tables import metadata

from .conftest import migrated_engine


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
async def test_upgrade_to_head_and_down_to_base(kind: str, tmp_path: Path) -> None:
    async with migrated_engine(kind, tmp_path) as engine:
        assert await migrate.current_revision(engine) == migrate.head_revision()
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), metadata)
            )
            seeded = (await conn.execute(sa.text("SELECT count(*) FROM tiers"))).scalar_one()
        assert set(metadata.tables) <= tables
        assert diff == [], f"tables.py and the migrations disagree: {diff}"
        assert seeded == 4  # Bronze, Silver, Gold, Platinum

        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            left = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert left <= {"alembic_version"}
        assert await migrate.current_revision(engine) is None

        await migrate.upgrade(engine)  # and up again: downgrade left nothing behind
        assert await migrate.current_revision(engine) == migrate.head_revision()


async def test_a_config_change_in_one_process_reaches_another(tmp_path: Path) -> None:
    """Each process caches the configuration by version; a write anywhere bumps it."""
    from adapters.persistence.uow import SqlUnitOfWorkFactory
    from core.policy import GivingPolicy

    async with migrated_engine("sqlite", tmp_path) as engine:
        one, two = SqlUnitOfWorkFactory(engine), SqlUnitOfWorkFactory(engine)
        async with two(readonly=True) as uow:
            assert (await uow.config.load()).policy.allowance == 100
        async with one() as uow:
            await uow.config.save_policy(GivingPolicy(allowance=150))
            await uow.rollback()  # an abandoned change is never cached
        async with two(readonly=True) as uow:
            assert (await uow.config.load()).policy.allowance == 100
        async with one() as uow:
            await uow.config.save_policy(GivingPolicy(allowance=200))
            await uow.commit()
        async with two(readonly=True) as uow:
            assert (await uow.config.load()).policy.allowance == 200
