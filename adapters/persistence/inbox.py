"""Incoming platform requests, across restarts and replicas: at most once for events a
platform may send again (`claim`), at least once for commands acknowledged before they are
handled (`keep`, `forget`, `kept`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from .dialect import insert
from .tables import pending_commands, processed_events


@dataclass(frozen=True, slots=True)
class Kept:
    key: str
    payload: dict[str, Any]
    received_at: datetime


class Inbox:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

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
        """Before the ack: the command is on disk, whatever happens to this process next."""
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(conn, pending_commands)
                .values(source=source, key=key, payload=payload, received_at=datetime.now(UTC))
                .on_conflict_do_nothing(index_elements=["source", "key"])
            )

    async def forget(self, source: str, key: str) -> None:
        """The command was answered (done, refused, or apologised for)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.delete(pending_commands).where(
                    pending_commands.c.source == source, pending_commands.c.key == key
                )
            )

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
