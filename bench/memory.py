"""Memory: the resident set (VmRSS) of a real `laurel serve` process on PostgreSQL, idle and
under the end-to-end load (signed /kudos from 128 clients), sampled every 100 ms; the bare
verify-and-INSERT server of the end-to-end benchmark is measured the same way, as the
baseline of what any Python aiohttp process with a database pool holds."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from rich.progress import Progress
from sqlalchemy.engine import URL

from . import baseline_server
from .common import PG_URL, Options, Section, Target, asyncpg_dsn
from .e2e import baseline_serve, fresh_database, laurel_serve, prepare
from .procs import Server, quiet
from .slack_load import FakeSlack, load, settle

CLIENTS = 128
IDLE_TARGET = 150  # MB
LOAD_TARGET = 250  # MB
SAMPLE = 0.1


def mb(kib: int) -> float:
    return kib * 1024 / 1e6


@dataclass
class Footprint:
    started: int = 0  # KiB, healthy and nothing asked yet
    idle: int = 0  # KiB, after one gift per client, once quiet
    peak: int = 0  # KiB, highest sample under load
    end: int = 0  # KiB, when the last gift was counted and the work after it was done


@contextlib.asynccontextmanager
async def sampling(server: Server, footprint: Footprint) -> AsyncIterator[None]:
    async def sample() -> None:
        while True:
            footprint.peak = max(footprint.peak, server.rss())
            await asyncio.sleep(SAMPLE)

    sampler = asyncio.create_task(sample())
    try:
        yield
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler


async def measure(
    server: Server,
    fake: FakeSlack,
    secret: str,
    requests: int,
    rows_in: tuple[URL, str],  # the database, and the table that counts the gifts
    progress: Progress,
) -> Footprint:
    await quiet(server.pid)  # laurel's scheduler runs its jobs at start
    footprint = Footprint(started=server.rss())
    db, table = rows_in
    conn = await asyncpg.connect(asyncpg_dsn(db))
    try:

        async def rows() -> int:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))

        url = f"{server.url}/slack/events"
        for label, n in (("warm-up", CLIENTS), ("load", requests)):
            task = progress.add_task(f"{server.name} RSS, {label}, {CLIENTS} clients", total=n)
            async with sampling(server, footprint):
                await load(
                    url=url,
                    secret=secret,
                    clients=CLIENTS,
                    requests=n,
                    count=rows,
                    response_url=fake.response_url,
                    progress=progress,
                    task=task,
                )
                await settle(fake)
            if label == "warm-up":
                footprint.idle, footprint.peak = server.rss(), 0
        footprint.end = server.rss()
    finally:
        await conn.close()
    return footprint


async def run(progress: Progress, options: Options) -> list[Section]:
    if not PG_URL:
        progress.console.log("memory: skipped, it needs LAUREL_BENCH_PG_URL")
        return []
    requests = options.size(4000, 400)
    secret = secrets.token_hex(16)
    fake = FakeSlack()
    await fake.start()
    try:
        async with fresh_database() as db:
            await prepare(db, 0, progress)
            async with laurel_serve(db, fake, secret) as laurel:
                ours = await measure(laurel, fake, secret, requests, (db, "recognitions"), progress)
            async with baseline_serve(db, secret) as baseline:
                base = await measure(
                    baseline, fake, secret, requests, (db, baseline_server.TABLE), progress
                )
    finally:
        await fake.close()
    return [section(ours, base, requests)]


def section(ours: Footprint, base: Footprint, requests: int) -> Section:
    def cells(f: Footprint) -> list[str]:
        return [f"{mb(v):.0f} MB" for v in (f.started, f.idle, f.peak, f.end)]

    columns = ["started", "idle after warm-up", "peak under load", "after the load"]
    rows = [
        {"process": "laurel serve", **dict(zip(columns, cells(ours), strict=True))},
        {"process": "baseline", **dict(zip(columns, cells(base), strict=True))},
        {
            "process": "laurel − baseline",
            **{
                c: f"{mb(a) - mb(b):+.0f} MB"
                for c, a, b in zip(
                    columns,
                    (ours.started, ours.idle, ours.peak, ours.end),
                    (base.started, base.idle, base.peak, base.end),
                    strict=True,
                )
            },
        },
    ]
    idle = max(ours.started, ours.idle)
    return Section(
        title="Memory: RSS of laurel serve, idle and under load",
        about=(__doc__ or "")
        + f" The load: {requests:,} gifts from {CLIENTS} concurrent clients after a warm-up"
        " of one gift per client. MB are 10⁶ bytes.",
        rows=rows,
        targets=[
            Target(f"idle ≤ {IDLE_TARGET} MB", f"{mb(idle):.0f} MB", mb(idle) <= IDLE_TARGET),
            Target(
                f"under load ≤ {LOAD_TARGET} MB (peak)",
                f"{mb(ours.peak):.0f} MB",
                mb(ours.peak) <= LOAD_TARGET,
            ),
        ],
    )
