"""At-most-once handling of incoming platform events, across restarts and replicas."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from .dialect import insert
from .tables import processed_events


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
