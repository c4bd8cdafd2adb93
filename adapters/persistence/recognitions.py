"""Recognitions and their receivers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.recognition import Recognition

from .tables import recognition_receivers as receivers
from .tables import recognitions

# Every gift runs these; built once (see ledger.py).
_BY_KEY = sa.select(recognitions).where(recognitions.c.key == sa.bindparam("wanted"))
_ADD = sa.insert(recognitions).returning(recognitions.c.id)
_ADD_RECEIVERS = sa.insert(receivers)
_RECEIVERS = (
    sa.select(receivers.c.recognition_id, receivers.c.person_id)
    .where(receivers.c.recognition_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(receivers.c.recognition_id, receivers.c.position)
)


def _add(conn: sa.Connection, r: Recognition) -> int:
    row = {
        "key": r.key,
        "giver_id": r.giver_id,
        "amount": r.amount,
        "reason": r.reason,
        "value_slugs": list(r.values),
        "source": r.source,
        "context": dict(r.context),
        "created_at": r.created_at,
        "revoked_at": r.revoked_at,
    }
    new_id = int(conn.execute(_ADD, row).scalar_one())
    conn.execute(
        _ADD_RECEIVERS,
        [
            {"recognition_id": new_id, "person_id": person_id, "position": position}
            for position, person_id in enumerate(r.receiver_ids)
        ],
    )
    return new_id


class SqlRecognitions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def by_key(self, key: str) -> Recognition | None:
        rows = (await self._conn.execute(_BY_KEY, {"wanted": key})).mappings().all()
        found = await self._with_receivers(rows)
        return found[0] if found else None

    async def add(self, recognition: Recognition) -> Recognition:
        # Both inserts in one call into the synchronous core (see SqlLedger.post).
        new_id = await self._conn.run_sync(_add, recognition)
        return replace(recognition, id=new_id)

    async def mark_revoked(self, recognition_id: int, *, at: Any) -> bool:
        stmt = (
            sa.update(recognitions)
            .where(recognitions.c.id == recognition_id)
            .where(recognitions.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return (await self._conn.execute(stmt)).rowcount == 1

    async def history(self, person_id: int, *, limit: int) -> list[Recognition]:
        # Two index range scans (given, received), each cut at `limit`, then merged.
        given = (
            sa.select(recognitions.c.id.label("id"))
            .where(recognitions.c.giver_id == person_id)
            .order_by(recognitions.c.id.desc())
            .limit(limit)
            .subquery()
        )
        received = (
            sa.select(receivers.c.recognition_id.label("id"))
            .where(receivers.c.person_id == person_id)
            .order_by(receivers.c.recognition_id.desc())
            .limit(limit)
            .subquery()
        )
        ids = sa.union(sa.select(given.c.id), sa.select(received.c.id)).subquery()
        latest = sa.select(ids.c.id).order_by(ids.c.id.desc()).limit(limit)
        return await self._load(recognitions.c.id.in_(latest))

    async def erase_reasons_by(self, giver_id: int) -> int:
        done = await self._conn.execute(
            sa.update(recognitions)
            .where(recognitions.c.giver_id == giver_id)
            .values(reason="", context={})
        )
        return int(done.rowcount)

    async def erase_reasons_before(self, cutoff: datetime) -> int:
        done = await self._conn.execute(
            sa.update(recognitions)
            .where(recognitions.c.created_at < cutoff, recognitions.c.reason != "")
            .values(reason="")
        )
        return int(done.rowcount)

    async def _load(self, where: sa.ColumnElement[bool]) -> list[Recognition]:
        query = sa.select(recognitions).where(where).order_by(recognitions.c.id.desc())
        return await self._with_receivers((await self._conn.execute(query)).mappings().all())

    async def _with_receivers(self, rows: Sequence[Any]) -> list[Recognition]:
        if not rows:
            return []
        named: dict[int, list[int]] = defaultdict(list)
        found = await self._conn.execute(_RECEIVERS, {"ids": [row["id"] for row in rows]})
        for recognition_id, person_id in found:
            named[recognition_id].append(person_id)
        return [_recognition(row, named[row["id"]]) for row in rows]


def _recognition(row: Any, receiver_ids: list[int]) -> Recognition:
    return Recognition(
        id=row["id"],
        key=row["key"],
        giver_id=row["giver_id"],
        receiver_ids=tuple(receiver_ids),
        amount=row["amount"],
        reason=row["reason"],
        values=tuple(row["value_slugs"]),
        source=row["source"],
        created_at=row["created_at"],
        context=row["context"],
        revoked_at=row["revoked_at"],
    )
