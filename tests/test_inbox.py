"""The inbox's group commit: concurrent keeps (and forgets) share transactions, and each
caller's await returns only once its own row is committed. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.inbox import Inbox
from adapters.persistence.tables import pending_commands


@pytest.fixture
async def inbox(sql_engine: AsyncEngine) -> AsyncIterator[Inbox]:
    kept = Inbox(sql_engine)
    yield kept
    await kept.close()


def writes(engine: AsyncEngine) -> list[str]:
    """The statements that write pending_commands on `engine` (an executemany is one
    statement, one round trip and one commit), as they are sent."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(("INSERT INTO pending_commands", "DELETE FROM pending")):
            sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    return sent


async def stored(engine: AsyncEngine) -> dict[tuple[str, str], Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(pending_commands.c.source, pending_commands.c.key, pending_commands.c.payload)
        )
        return {(r.source, r.key): r.payload for r in rows}


async def test_concurrent_keeps_share_a_commit_and_each_returns_once_its_row_is_committed(
    inbox: Inbox, sql_engine: AsyncEngine
) -> None:
    counted = writes(sql_engine)
    seen_after_return: list[bool] = []

    async def keep(n: int) -> None:
        await inbox.keep("slack", f"k{n}", {"n": n})
        # Read on another connection: committed, not merely written.
        seen_after_return.append(("slack", f"k{n}") in await stored(sql_engine))

    await asyncio.gather(*(keep(n) for n in range(60)))
    assert all(seen_after_return) and len(seen_after_return) == 60
    assert (await stored(sql_engine))[("slack", "k7")] == {"n": 7}
    assert 1 <= len(counted) <= 3, f"60 keeps took {len(counted)} writes"


async def test_concurrent_forgets_share_a_commit(inbox: Inbox, sql_engine: AsyncEngine) -> None:
    await asyncio.gather(*(inbox.keep("slack", f"k{n}", {}) for n in range(40)))
    await inbox.keep("slack-event", "k1", {})  # same key, another source: stays
    counted = writes(sql_engine)
    await asyncio.gather(*(inbox.forget("slack", f"k{n}") for n in range(40)))
    assert await stored(sql_engine) == {("slack-event", "k1"): {}}
    assert 1 <= len(counted) <= 3


async def test_a_key_kept_twice_in_one_batch_is_one_row(
    inbox: Inbox, sql_engine: AsyncEngine
) -> None:
    """Slack's retry of an event can arrive while its original is being kept."""
    await asyncio.gather(inbox.keep("slack", "k", {"first": 1}), inbox.keep("slack", "k", {}))
    await inbox.keep("slack", "k", {"later": 1})
    assert list(await stored(sql_engine)) == [("slack", "k")]


async def test_a_row_that_cannot_be_written_fails_only_its_own_keep(
    inbox: Inbox, sql_engine: AsyncEngine
) -> None:
    bad = {"not json": {1, 2}}  # a set: the JSON column refuses it, and the whole batch
    outcomes = await asyncio.gather(
        *(inbox.keep("slack", f"k{n}", bad if n == 3 else {"n": n}) for n in range(6)),
        return_exceptions=True,
    )
    assert [isinstance(o, Exception) for o in outcomes] == [False, False, False, True, False, False]
    assert sorted(k for _, k in await stored(sql_engine)) == ["k0", "k1", "k2", "k4", "k5"]
    await inbox.keep("slack", "k6", {})  # and the inbox goes on
    assert ("slack", "k6") in await stored(sql_engine)


async def test_a_cancelled_keep_is_written_all_the_same(
    inbox: Inbox, sql_engine: AsyncEngine
) -> None:
    """The ack's wait may be abandoned (the 2 s guard); the row must not be."""
    task = asyncio.ensure_future(inbox.keep("slack", "k", {}))
    await asyncio.sleep(0)
    task.cancel()
    await inbox.keep("slack", "after", {})  # written in the same batch or the next one
    assert set(await stored(sql_engine)) == {("slack", "k"), ("slack", "after")}


async def test_kept_lists_one_source_oldest_first(inbox: Inbox) -> None:
    for key in ("a", "b", "c"):
        await inbox.keep("slack", key, {"key": key})
    await inbox.keep("slack-event", "Ev1", {})
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert [k.key for k in await inbox.kept("slack", later)] == ["a", "b", "c"]
    assert [k.key for k in await inbox.kept("slack-event", later)] == ["Ev1"]
    assert await inbox.kept("slack", datetime.now(UTC) - timedelta(hours=1)) == []
