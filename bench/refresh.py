"""Allowance refresh: the scheduler's `RefreshAllowances` for 100,000 people in five time
zones, each with last month's 100 points left (so every person lapses and gets a grant),
through the bus. **Baseline**: the least any refresh must do, one set-based `UPDATE` of the
same 100,000 allowance accounts. laurel also reads people and rules, works out each
person's period in their own time zone, and writes the lapse and the grant as ledger
transfers with their entries. The people are written set-based (executemany of generated
rows), not through the bus.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlalchemy as sa
from rich.progress import Progress
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import accounts, people
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.bus import MessageBus, default_handlers
from core.commands import RefreshAllowances
from core.ledger import PERSONAL_ACCOUNTS

from .common import Options, Section, Target, engines, fresh_engine

TARGET = 5.0
BATCH = 10_000
ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "Pacific/Auckland", "UTC")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


async def _staff(engine: AsyncEngine, people_count: int, progress: Progress, kind: str) -> None:
    task = progress.add_task(f"{people_count:,} people on {kind}", total=people_count)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for start in range(1, people_count + 1, BATCH):
        ids = range(start, min(start + BATCH, people_count + 1))
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(people),
                [
                    {
                        "id": i,
                        "email": f"p{i}@example.com",
                        "handle": f"p{i}",
                        "display_name": f"Person {i}",
                        "tz": ZONES[i % len(ZONES)],
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                sa.insert(accounts),
                [
                    {"kind": k.value, "owner": i, "balance": 0}
                    for i in ids
                    for k in PERSONAL_ACCOUNTS
                ],
            )
        progress.advance(task, len(ids))


async def _baseline(engine: AsyncEngine) -> float:
    begin = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(accounts)
            .where(accounts.c.kind == "allowance")
            .values(balance=100, period_key="2026-10-01", period_granted=100)
        )
    return time.perf_counter() - begin


async def run_engine(kind: str, people_count: int, progress: Progress) -> dict[str, str]:
    async with fresh_engine(kind) as engine:
        await _staff(engine, people_count, progress, kind)
        baseline = await _baseline(engine)
        clock = Clock(datetime(2026, 11, 20, 12, tzinfo=UTC))
        bus = MessageBus(uow_factory=SqlUnitOfWorkFactory(engine), handlers=default_handlers(clock))
        begin = time.perf_counter()
        opened = await bus.handle(RefreshAllowances())
        laurel = time.perf_counter() - begin
        begin = time.perf_counter()
        again = await bus.handle(RefreshAllowances())
        idle = time.perf_counter() - begin
    assert opened == people_count and again == 0, (opened, again)
    return {
        "engine": kind,
        "people": f"{people_count:,}",
        "bare UPDATE (baseline)": f"{baseline:.2f} s",
        "RefreshAllowances": f"{laurel:.2f} s",
        "ratio": f"{laurel / baseline:.1f}×",
        "second run (nothing due)": f"{idle:.2f} s",
    }


async def run(progress: Progress, options: Options) -> list[Section]:
    people_count = options.size(100_000, 10_000)
    rows = [await run_engine(kind, people_count, progress) for kind in engines()]
    targets = [
        Target(
            f"{row['engine']}: ≤ {TARGET:.0f}× the bare UPDATE",
            row["ratio"],
            float(row["ratio"].rstrip("×")) <= TARGET,
        )
        for row in rows
    ]
    return [
        Section(
            title="Allowance refresh of 100k people vs one set-based UPDATE",
            about=__doc__ or "",
            rows=rows,
            targets=targets,
        )
    ]
