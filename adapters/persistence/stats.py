"""Pre-aggregated leaderboard buckets: a gift updates a few rows; a leaderboard reads a few."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.recognition import ALL_VALUES, Standing, StatDelta, StatRole

from .dialect import insert
from .tables import totals


class SqlStats:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, deltas: list[StatDelta]) -> None:
        if not deltas:
            return
        # One statement run over many rows (executemany): its compiled form is cached,
        # where a multi-row VALUES list would be compiled afresh for every gift.
        stmt = insert(self._conn, totals)
        stmt = stmt.on_conflict_do_update(
            index_elements=["role", "bucket", "value_slug", "person_id"],
            set_={
                "points": totals.c.points + stmt.excluded.points,
                "count": totals.c.count + stmt.excluded.count,
            },
        )
        await self._conn.execute(
            stmt,
            [
                {
                    "role": d.role.value,
                    "bucket": d.bucket,
                    "value_slug": d.value,
                    "person_id": d.person_id,
                    "points": d.points,
                    "count": d.count,
                }
                for d in deltas
            ],
        )

    async def lifetime_received(self, person_id: int) -> int:
        found = await self._conn.execute(
            sa.select(totals.c.points)
            .where(totals.c.role == StatRole.RECEIVED.value)
            .where(totals.c.bucket == "all")
            .where(totals.c.value_slug == ALL_VALUES)
            .where(totals.c.person_id == person_id)
        )
        return int(found.scalar() or 0)

    async def top(self, role: StatRole, bucket: str, value: str, *, limit: int) -> list[Standing]:
        rows = await self._conn.execute(
            sa.select(totals.c.person_id, totals.c.points, totals.c.count)
            .where(totals.c.role == role.value)
            .where(totals.c.bucket == bucket)
            .where(totals.c.value_slug == value)
            .where(totals.c.points > 0)
            .order_by(totals.c.points.desc(), totals.c.person_id)
            .limit(limit)
        )
        return [Standing(person_id=p, points=int(pts), count=int(c)) for p, pts, c in rows]
