"""Leaderboard reads stay flat as history grows: pre-aggregated buckets, an index, top 10."""

from __future__ import annotations

import random
import time

import sqlalchemy as sa
from rich.progress import Progress

from adapters.persistence.tables import totals
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.bus import MessageBus, default_handlers
from core.clock import SystemClock
from core.commands import GetLeaderboard, RegisterPerson
from core.people import NewPerson
from core.periods import Window, bucket_key

from .common import engines, fresh_engine, median, ms

SIZES = (100_000, 2_000_000)  # leaderboard rows already stored
PEOPLE = 2_000
BATCH = 20_000
QUERIES = 50


def _rows(
    count: int, current: str, rng: random.Random, seen: set[tuple[str, int, str]]
) -> list[dict[str, object]]:
    """Synthetic history: most rows in older months, a few hundred in the current one."""
    rows = []
    while len(rows) < count:
        month = rng.randrange(0, 600)  # fifty years of months
        bucket = current if month == 0 else f"month:{1970 + month // 12}-{month % 12 + 1:02d}-01"
        key = (bucket, rng.randrange(1, PEOPLE + 1), rng.choice(["", "teamwork", "craft"]))
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "role": "received",
                "bucket": key[0],
                "value_slug": key[2],
                "person_id": key[1],
                "points": rng.randrange(1, 500),
                "count": 1,
            }
        )
    return rows


async def run_engine(kind: str, progress: Progress) -> list[dict[str, str]]:
    results = []
    async with fresh_engine(kind) as engine:
        bus = MessageBus(
            uow_factory=SqlUnitOfWorkFactory(engine), handlers=default_handlers(SystemClock())
        )
        for i in range(PEOPLE):
            await bus.handle(
                RegisterPerson(person=NewPerson(email=f"p{i}@example.com", display_name=f"P {i}"))
            )
        current = bucket_key(Window.MONTH, SystemClock().now().date())
        stored, rng, seen = 0, random.Random(7), set()
        for size in SIZES:
            rows = _rows(size - stored, current, rng, seen)
            task = progress.add_task(f"leaderboard rows on {kind}", total=len(rows))
            for start in range(0, len(rows), BATCH):
                async with engine.begin() as conn:
                    await conn.execute(sa.insert(totals), rows[start : start + BATCH])
                progress.advance(task, len(rows[start : start + BATCH]))
            stored = size
            timings = []
            for _ in range(QUERIES):
                begin = time.perf_counter()
                await bus.handle(GetLeaderboard(window=Window.MONTH))
                timings.append(time.perf_counter() - begin)
            results.append(
                {
                    "engine": kind,
                    "rows stored": f"{size:,}",
                    "leaderboard (median of 50)": ms(median(timings)),
                }
            )
    return results


async def run(progress: Progress) -> list[dict[str, str]]:
    return [row for kind in engines() for row in await run_engine(kind, progress)]
