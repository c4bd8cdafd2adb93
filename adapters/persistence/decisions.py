"""Decisions: a pending row per set of buttons, claimed by one guarded update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.decisions import Decision, Outcome

from .dialect import insert
from .tables import decisions


class SqlDecisions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, decision: Decision) -> None:
        row = {
            "key": decision.key,
            "kind": decision.kind,
            "subject": decision.subject,
            "options": ",".join(decision.options),
        }
        stmt = insert(self._conn, decisions).values(row)
        await self._conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))

    async def get(self, key: str) -> Decision | None:
        row = (
            (await self._conn.execute(sa.select(decisions).where(decisions.c.key == key)))
            .mappings()
            .first()
        )
        return _decision(row) if row is not None else None

    async def claim(
        self, key: str, outcome: Outcome, person_id: int | None, at: datetime, note: str
    ) -> bool:
        stmt = (
            sa.update(decisions)
            .where(decisions.c.key == key)
            .where(decisions.c.outcome.is_(None))
            .values(outcome=outcome.value, decided_by=person_id, decided_at=at, note=note)
        )
        return (await self._conn.execute(stmt)).rowcount == 1

    async def erase_notes_by(self, person_id: int) -> list[Decision]:
        written = (decisions.c.decided_by == person_id) & (decisions.c.note != "")
        rows = (await self._conn.execute(sa.select(decisions).where(written))).mappings()
        found = [_decision(row) for row in rows]
        await self._conn.execute(sa.update(decisions).where(written).values(note=""))
        return found


def _decision(row: Any) -> Decision:
    return Decision(
        key=row["key"],
        kind=row["kind"],
        subject=row["subject"],
        options=tuple(Outcome(o) for o in row["options"].split(",")),
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        note=row["note"],
    )
