"""Incoming platform requests, across restarts and replicas: at most once for events a
platform may send again (`claim`), at least once for commands acknowledged before they are
handled (`keep`, `forget`, `kept`).

`keep` and `forget` are group-committed: whatever arrives while one write is in flight
goes into the next one, one statement (an executemany) and one commit for all its keeps,
then one for its forgets, on a connection of the inbox's own. Under load a hundred acks
wait for one commit instead of a hundred, and never for a pool that gift work has taken
(`close` gives that connection back). Each caller's await returns once its own row is
committed, or raises if it was not.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .dialect import insert, insert_for
from .tables import pending_commands, processed_events


@dataclass(frozen=True, slots=True)
class Kept:
    key: str
    payload: dict[str, Any]
    received_at: datetime


@dataclass(slots=True)
class _Waiting:
    """A keep (with its payload) or a forget (without), and the caller waiting for it."""

    source: str
    key: str
    payload: dict[str, Any] | None
    done: asyncio.Future[None]
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def row(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "key": self.key,
            "payload": self.payload,
            "received_at": self.received_at,
        }


# A second keep of a key (Slack's retry of an event) changes nothing.
_KEEP = {
    dialect: insert_for(dialect, pending_commands).on_conflict_do_nothing(
        index_elements=["source", "key"]
    )
    for dialect in ("postgresql", "sqlite")
}
_FORGET = sa.delete(pending_commands).where(
    pending_commands.c.source == sa.bindparam("s"), pending_commands.c.key == sa.bindparam("k")
)


class Inbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._queue: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None

    async def claim(self, source: str, event_id: str) -> bool:
        """True for the first claim of (source, event_id), False for every retry after it."""
        async with self._engine.begin() as conn:
            stmt = (
                insert(conn, processed_events)
                .values(source=source, event_id=event_id, received_at=datetime.now(UTC))
                .on_conflict_do_nothing(index_elements=["source", "event_id"])
                .returning(processed_events.c.event_id)
            )
            return (await conn.execute(stmt)).first() is not None

    async def keep(self, source: str, key: str, payload: dict[str, Any]) -> None:
        """Before the ack: returns once the command is committed, whatever happens to this
        process next (a second keep of the same key changes nothing)."""
        await self._submit(source, key, payload)

    async def forget(self, source: str, key: str) -> None:
        """The command was answered (done, refused, or apologised for)."""
        await self._submit(source, key, None)

    async def kept(self, source: str, before: datetime) -> list[Kept]:
        """Commands received before `before` and never answered, oldest first."""
        query = (
            sa.select(
                pending_commands.c.key, pending_commands.c.payload, pending_commands.c.received_at
            )
            .where(pending_commands.c.source == source, pending_commands.c.received_at < before)
            .order_by(pending_commands.c.received_at)
        )
        async with self._engine.connect() as conn:
            return [Kept(r.key, r.payload, r.received_at) for r in await conn.execute(query)]

    async def close(self) -> None:
        """Finish the writes asked for, then give the inbox's connection back."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        await self._release()

    # -- the group commit ------------------------------------------------------------------

    async def _submit(self, source: str, key: str, payload: dict[str, Any] | None) -> None:
        waiting = _Waiting(source, key, payload, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        await waiting.done  # a cancelled caller's row is written all the same

    async def _write_all(self) -> None:
        """One write after another while there is something to write: each takes
        everything that arrived during the one before. Keeps go first and their callers
        (acks waiting) are released before the forgets are written."""
        while self._queue:
            batch, self._queue = self._queue, []
            await self._write_or_split([w for w in batch if w.payload is not None])
            await self._write_or_split([w for w in batch if w.payload is None])

    async def _write_or_split(self, batch: list[_Waiting]) -> None:
        """A failed batch is tried again row by row (quickly, when the database is down):
        one bad row must not cost the others their keep, and each caller gets its own
        outcome."""
        if not batch:
            return
        try:
            await self._write(batch)
        except Exception as error:
            await self._release(invalid=True)
            if len(batch) == 1:
                _settle(batch, error)
                return
            for waiting in batch:
                await self._write_or_split([waiting])
        else:
            _settle(batch)

    async def _write(self, batch: list[_Waiting]) -> None:
        """All keeps, or all forgets, as one executemany: a single statement prepared once
        (whatever the batch's size), sent in one round trip, committed once."""
        conn = await self._connection()
        async with conn.begin():
            if batch[0].payload is not None:
                await conn.execute(_KEEP[conn.dialect.name], [w.row() for w in batch])
            else:
                await conn.execute(_FORGET, [{"s": w.source, "k": w.key} for w in batch])

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            if conn.dialect.name == "postgresql":
                # One statement per write, atomic by itself (asyncpg's executemany): no
                # BEGIN and COMMIT round trips around it.
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        return self._conn

    async def _release(self, *, invalid: bool = False) -> None:
        """After a failure the connection may be dead: the next write takes a new one."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            if invalid:
                await conn.invalidate()
            await conn.close()


def _settle(batch: list[_Waiting], error: Exception | None = None) -> None:
    for waiting in batch:
        if waiting.done.done():  # its caller was cancelled
            continue
        if error is None:
            waiting.done.set_result(None)
        else:
            waiting.done.set_exception(error)
