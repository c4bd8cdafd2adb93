"""What scheduled jobs have done: one row per (job, key), claimed in the job's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from .dialect import insert
from .tables import job_runs


class SqlJobRuns:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(self, job: str, key: str, *, at: datetime) -> bool:
        stmt = (
            insert(self._conn, job_runs)
            .values(job=job, key=key, ran_at=at)
            .on_conflict_do_nothing(index_elements=["job", "key"])
            .returning(job_runs.c.job)
        )
        return (await self._conn.execute(stmt)).first() is not None
