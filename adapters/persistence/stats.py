"""Pre-aggregated leaderboard buckets: a gift updates a few rows; a leaderboard reads a few."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.recognition import ALL_VALUES, Standing, StatDelta, StatRole, StatRow

from .dialect import insert_for
from .tables import totals


@cache
def _bump(dialect: str) -> Any:
    """One upsert run over many rows (executemany), built once: a multi-row VALUES list
    would be compiled afresh for every gift."""
    stmt = insert_for(dialect, totals)
    return stmt.on_conflict_do_update(
        index_elements=["role", "bucket", "value_slug", "person_id"],
        set_={
            "points": totals.c.points + stmt.excluded.points,
            "count": totals.c.count + stmt.excluded.count,
        },
    )


_LIFETIME = (
    sa.select(totals.c.points)
    .where(totals.c.role == StatRole.RECEIVED.value)
    .where(totals.c.bucket == "all")
    .where(totals.c.value_slug == ALL_VALUES)
    .where(totals.c.person_id == sa.bindparam("p"))
)


class SqlStats:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, deltas: list[StatDelta]) -> None:
        if not deltas:
            return
        await self._conn.execute(
            _bump(self._conn.dialect.name),
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
        found = await self._conn.execute(_LIFETIME, {"p": person_id})
        return int(found.scalar() or 0)

    async def lifetimes(self) -> dict[int, int]:
        rows = await self._conn.execute(
            sa.select(totals.c.person_id, totals.c.points)
            .where(totals.c.role == StatRole.RECEIVED.value)
            .where(totals.c.bucket == "all")
            .where(totals.c.value_slug == ALL_VALUES)
        )
        return {int(p): int(pts) for p, pts in rows}

    async def bucket(self, role: StatRole, bucket: str) -> list[StatRow]:
        rows = await self._conn.execute(
            sa.select(totals.c.value_slug, totals.c.person_id, totals.c.points, totals.c.count)
            .where(totals.c.role == role.value)
            .where(totals.c.bucket == bucket)
        )
        return [StatRow(v, int(p), int(pts), int(c)) for v, p, pts, c in rows]

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
