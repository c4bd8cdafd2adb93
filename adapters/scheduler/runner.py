"""Runs the jobs with APScheduler (3.x, AsyncIOScheduler) inside laurel's event loop.

Exactly-once comes from the database (each effect is claimed with it); on PostgreSQL an
advisory lock per job also keeps several schedulers from doing the same work at the same
moment. SQLite has no such lock: run one scheduler there (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from .jobs import Job

log = logging.getLogger("laurel.scheduler")

OK, FAILED, SKIPPED = "ok", "failed", "skipped"  # how a run ended: what `on_run` is told
RunHook = Callable[[str, str], None]  # (job name, outcome)


def _nobody(job: str, outcome: str) -> None:
    """The default: nobody counts the runs."""


class Scheduler:
    def __init__(self, jobs: list[Job], engine: AsyncEngine, on_run: RunHook = _nobody) -> None:
        self.jobs = jobs
        self._engine = engine
        self._on_run = on_run  # told after every run (the bot's metrics)
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[object]] = set()

    def start(self) -> None:
        """Every job now (the catch-up), then at its interval; a late run is merged, not
        repeated."""
        for job in self.jobs:
            self._scheduler.add_job(
                self.run,
                "interval",
                args=[job],
                id=job.name,
                seconds=job.every.total_seconds(),
                next_run_time=datetime.now(UTC),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        self._scheduler.start()
        log.info("scheduler started: %s", ", ".join(j.name for j in self.jobs))

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def stop(self, grace: float = 30.0) -> None:
        """No new runs; the ones under way finish (within `grace` seconds) before the
        database goes away: APScheduler's own shutdown would cancel them halfway."""
        if self._scheduler.running:
            self._scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=grace)
        self.shutdown()

    async def run(self, job: Job) -> bool:
        """One run of one job; False when another scheduler holds it. A failure is logged
        and the next run tries again."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        outcome = FAILED
        try:
            outcome = await self._run(job)
        except Exception:  # the lock itself could not be had: the database is away
            log.exception("%s failed", job.name)
        self._on_run(job.name, outcome)
        return outcome == OK

    async def _run(self, job: Job) -> str:
        async with self._exclusive(job.name) as mine:
            if not mine:
                log.info("%s: another scheduler is running it", job.name)
                return SKIPPED
            started = time.perf_counter()
            try:
                result = await job.run()
            except Exception:
                log.exception("%s failed", job.name)
                return FAILED
            log.info("%s: %s in %.2fs", job.name, result, time.perf_counter() - started)
            return OK

    @asynccontextmanager
    async def _exclusive(self, name: str) -> AsyncIterator[bool]:
        if self._engine.dialect.name != "postgresql":
            yield True
            return
        key = zlib.crc32(f"laurel:{name}".encode())
        async with self._engine.connect() as conn:
            taken = (
                await conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            ).scalar()
            try:
                yield bool(taken)
            finally:
                if taken:
                    await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
