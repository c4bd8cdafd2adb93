"""Points given per person and local day, for the daily giving limit."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .dialect import insert
from .tables import daily_giving


class SqlDailyGiving:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def consume(self, person_id: int, day: str, amount: int, *, limit: int) -> bool:
        stmt = insert(self._conn, daily_giving).values(person_id=person_id, day=day, points=amount)
        stmt = stmt.on_conflict_do_update(
            index_elements=["person_id", "day"],
            set_={"points": daily_giving.c.points + stmt.excluded.points},
            where=daily_giving.c.points + stmt.excluded.points <= limit,  # guard in the statement
        ).returning(daily_giving.c.points)
        return (await self._conn.execute(stmt)).first() is not None

    async def given_on(self, person_id: int, day: str) -> int:
        found = await self._conn.execute(
            sa.select(daily_giving.c.points)
            .where(daily_giving.c.person_id == person_id)
            .where(daily_giving.c.day == day)
        )
        return int(found.scalar() or 0)

    async def release(self, person_id: int, day: str, amount: int) -> None:
        await self._conn.execute(
            sa.update(daily_giving)
            .where(daily_giving.c.person_id == person_id)
            .where(daily_giving.c.day == day)
            .values(
                points=sa.case(
                    (daily_giving.c.points > amount, daily_giving.c.points - amount), else_=0
                )
            )
        )
