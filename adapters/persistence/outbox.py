"""Messages a platform could not deliver yet, kept until the person can be reached.

A row is claimed (delivered_at set) before it is sent, so two replicas that see the
person at the same moment never send it twice; a send that fails gives the claim back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from .tables import outbox


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    body: dict[str, Any]


class Outbox:
    def __init__(self, engine: AsyncEngine, platform: str) -> None:
        self._engine = engine
        self._platform = platform

    async def put(self, person_id: int, body: dict[str, Any]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                outbox.insert().values(
                    platform=self._platform,
                    person_id=person_id,
                    body=body,
                    created_at=datetime.now(UTC),
                )
            )

    async def pending(self, person_id: int) -> list[Pending]:
        """Undelivered messages for the person, oldest first."""
        query = (
            sa.select(outbox.c.id, outbox.c.body)
            .where(
                outbox.c.platform == self._platform,
                outbox.c.person_id == person_id,
                outbox.c.delivered_at.is_(None),
            )
            .order_by(outbox.c.id)
        )
        async with self._engine.connect() as conn:
            return [Pending(row.id, row.body) for row in await conn.execute(query)]

    async def claim(self, message_id: int) -> bool:
        return await self._mark(message_id, datetime.now(UTC))

    async def release(self, message_id: int) -> None:
        """The send failed: the message waits for the next contact."""
        await self._mark(message_id, None)

    async def _mark(self, message_id: int, at: datetime | None) -> bool:
        claimed = outbox.c.delivered_at.is_(None) if at else outbox.c.delivered_at.is_not(None)
        async with self._engine.begin() as conn:
            done = await conn.execute(
                outbox.update().where(outbox.c.id == message_id, claimed).values(delivered_at=at)
            )
        return done.rowcount == 1
