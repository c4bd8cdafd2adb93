"""Admin changes waiting for their proposer's Confirm (core/admin.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.admin import PendingChange, decode

from .tables import admin_changes


class SqlAdminChanges:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, *, proposer_id: int, change: str, platform: str, at: datetime) -> int:
        row = {"proposer_id": proposer_id, "change": change, "platform": platform, "created_at": at}
        stmt = sa.insert(admin_changes).values(row).returning(admin_changes.c.id)
        return int((await self._conn.execute(stmt)).scalar_one())

    async def get(self, change_id: int) -> PendingChange | None:
        query = sa.select(admin_changes).where(admin_changes.c.id == change_id)
        row = (await self._conn.execute(query)).mappings().first()
        if row is None:
            return None
        return PendingChange(
            id=row["id"],
            proposer_id=row["proposer_id"],
            change=decode(row["change"]),
            platform=row["platform"],
        )
