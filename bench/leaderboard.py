"""Leaderboards as history grows: `GetLeaderboard` (the bus, a read-only unit of work) at
100k and at 10M ledger entries stored, on the same people. The history is seeded set-based
(bench/seed.py: 20,000 people, gifts spread over five years, two ledger entries each, with
their transfers, recognitions and the leaderboard buckets laurel keeps). **Baseline**: the
same query at 100k entries; the target is the 10M time within 2× of it.
"""

from __future__ import annotations

import time

from rich.progress import Progress

from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.bus import MessageBus, default_handlers
from core.clock import SystemClock
from core.commands import ConfigureOrganisation, GetLeaderboard
from core.periods import Window
from core.policy import GivingPolicy

from .common import Options, Section, Target, count, engines, fresh_store, median, ms, ratio
from .seed import Seeder, Shape, describe

PEOPLE = 20_000
QUERIES = 50
WINDOWS = (Window.MONTH, Window.ALL)
TARGET = 2.0


async def timed(bus: MessageBus, window: Window) -> float:
    for _ in range(5):  # warm: statement caches, the buckets' pages
        await bus.handle(GetLeaderboard(window=window))
    timings = []
    for _ in range(QUERIES):
        begin = time.perf_counter()
        board = await bus.handle(GetLeaderboard(window=window))
        timings.append(time.perf_counter() - begin)
    assert board.receivers, "the seeded history must fill the leaderboard"
    return median(timings)


async def run_engine(
    kind: str, sizes: tuple[int, int], progress: Progress
) -> dict[int, dict[Window, float]]:
    found: dict[int, dict[Window, float]] = {}
    async with fresh_store(kind) as store:
        bus = MessageBus(
            uow_factory=SqlUnitOfWorkFactory(store.engine),
            handlers=default_handlers(SystemClock()),
        )
        await bus.handle(ConfigureOrganisation(policy=GivingPolicy()))
        async with Seeder(store, Shape(people=PEOPLE, gifts=sizes[-1] // 2), progress) as seeder:
            await seeder.people()
            for entries in sizes:
                await seeder.grow_to(entries // 2, f"{kind}: storing {describe(entries // 2)}")
                await seeder.aggregates(f"{kind}: leaderboard buckets for {count(entries)}")
                found[entries] = {w: await timed(bus, w) for w in WINDOWS}
    return found


async def run(progress: Progress, options: Options) -> list[Section]:
    sizes = (options.size(100_000, 10_000), options.size(10_000_000, 200_000))
    small, large = sizes
    rows, targets = [], []
    for kind in engines():
        found = await run_engine(kind, sizes, progress)
        for window in WINDOWS:
            growth = ratio(found[large][window], found[small][window])
            rows.append(
                {
                    "engine": kind,
                    "window": window.value,
                    f"at {count(small)} entries (baseline)": ms(found[small][window]),
                    f"at {count(large)} entries": ms(found[large][window]),
                    "ratio": f"{growth:.2f}×",
                }
            )
            targets.append(
                Target(
                    f"{kind}, {window.value}: {count(large)} ≤ {TARGET:.0f}× {count(small)}",
                    f"{growth:.2f}×",
                    growth <= TARGET,
                )
            )
    return [
        Section(
            title="Leaderboard at 100k and 10M ledger entries",
            about=__doc__ or "",
            rows=rows,
            targets=targets,
            setup=f"Median of {QUERIES} queries after 5 to warm up.",
        )
    ]
