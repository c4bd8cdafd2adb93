"""A commit that lands as the connection dies: laurel cannot know whether it did.

Found by tests/test_faults_database.py (backends terminated while gifts flow): the giver
was told "nothing was changed" about a gift that was recorded. The unit of work now says
the connection was lost (`StoreDisconnected`); the bus runs a command that carries its
idempotency key again, which replays what landed, and lets any other command fail, since
running it again could do it twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.persistence.tables import recognitions
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.errors import StoreDisconnected

from .fakes import FakeUnitOfWork
from .harness import Harness


@contextmanager
def commits_lost(monkeypatch: pytest.MonkeyPatch, cls: Any, lost: Exception) -> Iterator[list[int]]:
    """The next commit of `cls` lands, then its answer is lost with `lost`."""
    landed: list[int] = []
    real = cls.commit

    async def commit(self: Any) -> None:
        await real(self)
        if not landed:
            landed.append(1)
            raise lost

    monkeypatch.setattr(cls, "commit", commit)
    yield landed
    monkeypatch.setattr(cls, "commit", real)


def dropped() -> sa.exc.OperationalError:
    return sa.exc.OperationalError(
        "COMMIT", {}, ConnectionResetError("connection lost"), connection_invalidated=True
    )


async def test_a_keyed_gift_whose_commit_was_lost_is_replayed(
    fake: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, ben = await fake.person("ana"), await fake.person("ben")
    with commits_lost(monkeypatch, FakeUnitOfWork, StoreDisconnected("lost")) as landed:
        result = await fake.give(ana, ben, amount=5, key="k1")
    assert landed and result.replayed  # the second run found the first one's gift
    assert (await fake.balance(ben)).earned == 5


async def test_an_unkeyed_gift_whose_commit_was_lost_fails(
    fake: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, ben = await fake.person("ana"), await fake.person("ben")
    lost = StoreDisconnected("lost")
    with commits_lost(monkeypatch, FakeUnitOfWork, lost), pytest.raises(StoreDisconnected):
        await fake.give(ana, ben, amount=5)
    assert (await fake.balance(ben)).earned == 5  # it did land: never run a second time


async def test_sql_a_dropped_connection_at_commit_replays_the_keyed_gift(
    sql_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = Harness(SqlUnitOfWorkFactory(sql_engine))
    ana, ben = await world.person("ana"), await world.person("ben")
    with commits_lost(monkeypatch, AsyncConnection, dropped()) as landed:
        result = await world.give(ana, ben, amount=5, key="k1")
    assert landed and result.replayed
    async with sql_engine.connect() as conn:
        found = await conn.execute(sa.select(sa.func.count()).select_from(recognitions))
        assert found.scalar_one() == 1
    assert (await world.balance(ben)).earned == 5
