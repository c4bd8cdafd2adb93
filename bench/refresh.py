"""The scheduler's allowance refresh for a whole organisation, against one bare UPDATE.

The baseline is the least any refresh must do: one set-based UPDATE of every allowance
account. laurel also reads people and rules, works out each person's period in their own
time zone, lapses the rest and writes a transfer with its entries per person.
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

from .common import engines, fresh_engine

PEOPLE = 100_000
BATCH = 10_000
ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "Pacific/Auckland", "UTC")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


async def _staff(engine: AsyncEngine, progress: Progress, kind: str) -> None:
    task = progress.add_task(f"{PEOPLE:,} people on {kind}", total=PEOPLE)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for start in range(1, PEOPLE + 1, BATCH):
        ids = range(start, min(start + BATCH, PEOPLE + 1))
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


async def run_engine(kind: str, progress: Progress) -> dict[str, str]:
    async with fresh_engine(kind) as engine:
        await _staff(engine, progress, kind)
        baseline = await _baseline(engine)
        clock = Clock(datetime(2026, 11, 20, 12, tzinfo=UTC))
        bus = MessageBus(uow_factory=SqlUnitOfWorkFactory(engine), handlers=default_handlers(clock))
        begin = time.perf_counter()
        opened = await bus.handle(RefreshAllowances())
        laurel = time.perf_counter() - begin
        begin = time.perf_counter()
        again = await bus.handle(RefreshAllowances())
        idle = time.perf_counter() - begin
    assert opened == PEOPLE and again == 0, (opened, again)
    return {
        "engine": kind,
        "people": f"{PEOPLE:,}",
        "bare UPDATE (baseline)": f"{baseline:.2f} s",
        "RefreshAllowances": f"{laurel:.2f} s",
        "ratio (target ≤ 5×)": f"{laurel / baseline:.1f}×",
        "second run (nothing due)": f"{idle:.2f} s",
    }


async def run(progress: Progress) -> list[dict[str, str]]:
    return [await run_engine(kind, progress) for kind in engines()]
