"""End to end: signed Slack /kudos through the real `laurel serve` on PostgreSQL, against a
bare aiohttp handler that verifies the signature and does one INSERT (bench/baseline_server).

Everything runs on 127.0.0.1: a fresh PostgreSQL database per variant (empty, then with 1M
gifts already stored), `laurel serve` and the baseline as subprocesses (one process each),
and the fake Slack Web API (with the response URLs) and the load in this process.

laurel acknowledges a slash command before it records the gift, so throughput is counted
as rows durably in the database: after the last ack, `recognitions` is polled until it
holds every gift sent (or stops growing), and gifts recorded are divided by the time from
the first request until the last of them was there. The baseline is counted the same way
in its own table. Each level gets a fresh `laurel serve` (same database), warmed up so that
every giver and receiver is synced, so work left over from one level never lands in the
next one's figures.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from rich.progress import Progress
from sqlalchemy.engine import URL, make_url

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.bus import MessageBus, default_handlers
from core.clock import SystemClock
from core.commands import ConfigureOrganisation
from core.policy import GivingPolicy

from . import baseline_server
from .common import (
    LOCALHOST,
    PG_URL,
    Options,
    Section,
    Store,
    Target,
    asyncpg_dsn,
    count,
    median,
    ms,
    percentile,
    ratio,
)
from .procs import (
    CpuMeter,
    Server,
    environment,
    free_port,
    laurel_executable,
    profiled,
    quiet,
    subprocess_server,
)
from .seed import Seeder, Shape, describe
from .slack_load import FakeSlack, Result, load, settle

FULL_LEVELS = ((1, 500), (8, 2000), (32, 2000), (128, 2000))  # (clients, requests)
QUICK_LEVELS = ((1, 50), (8, 200), (32, 200), (128, 400))
STORED = 1_000_000
STORED_QUICK = 20_000
SEEDED_PEOPLE = 10_000
TARGET_RATIO = 0.5
TARGET_P99 = 0.100  # at 32 clients


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[URL]:
    """`CREATE DATABASE laurel_bench_<random>` on PG_URL's server; dropped (FORCE) afterwards."""
    assert PG_URL
    server = make_url(PG_URL)
    if server.host != LOCALHOST:
        raise SystemExit(f"the e2e benchmark only talks to {LOCALHOST}, not {server.host}")
    name = f"laurel_bench_{secrets.token_hex(5)}"
    admin = await asyncpg.connect(asyncpg_dsn(server), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server.set(database=name)
    finally:
        admin = await asyncpg.connect(asyncpg_dsn(server), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def laurel_serve(
    db: URL, fake: FakeSlack, secret: str
) -> contextlib.AbstractAsyncContextManager[Server]:
    port = free_port()
    env = environment(
        DATABASE_URL=db.render_as_string(hide_password=False),
        PORT=str(port),
        HOST=LOCALHOST,
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=secret,
        SLACK_API_URL=fake.api_url,
        LAUREL_AUTO_MIGRATE="true",
    )
    return subprocess_server("laurel serve", [laurel_executable(), "serve"], env, port)


def baseline_serve(db: URL, secret: str) -> contextlib.AbstractAsyncContextManager[Server]:
    port = free_port()
    env = environment(
        BENCH_BASELINE_DSN=asyncpg_dsn(db),
        BENCH_BASELINE_PORT=str(port),
        BENCH_BASELINE_SECRET=secret,
    )
    argv = [sys.executable, "-m", "bench.baseline_server"]
    return subprocess_server("baseline", argv, env, port)


async def prepare(db: URL, stored: int, progress: Progress) -> None:
    """Migrate, set a generous policy (no gift is refused), and store `stored` gifts in
    laurel's tables and as many rows in the baseline's."""
    url = db.render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        bus = MessageBus(
            uow_factory=SqlUnitOfWorkFactory(engine), handlers=default_handlers(SystemClock())
        )
        policy = GivingPolicy(allowance=100_000_000, per_gift_cap=1000)
        await bus.handle(ConfigureOrganisation(policy=policy))
        if stored:
            store = Store("pg", engine, url, schema="public")
            async with Seeder(
                store, Shape(people=SEEDED_PEOPLE, gifts=stored, days=730), progress
            ) as seeder:
                await seeder.people()
                await seeder.grow_to(stored, f"storing {describe(stored)}")
                await seeder.aggregates("rebuilding balances and leaderboards")
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(db))
    try:
        await conn.execute(baseline_server.CREATE)
        if stored:
            await conn.execute(
                f"INSERT INTO {baseline_server.TABLE} (key, giver, receiver_text)"
                " SELECT 'seed:' || n, 'U' || n % 1000, '<@U1> +1 seeded'"
                f" FROM generate_series(1, {stored}) AS n"
            )
            await conn.execute(f"ANALYZE {baseline_server.TABLE}")
    finally:
        await conn.close()


@dataclass
class Level:
    clients: int
    requests: int
    laurel: Result
    baseline: Result
    laurel_cpu: CpuMeter  # during laurel's load, until its last gift was counted
    baseline_cpu: CpuMeter
    idle_rss: int  # KiB, after the warm-up
    end_rss: int  # KiB, when the last gift was counted
    apologies: int  # "something went wrong" answers posted to response_url
    logged_errors: int


RowCount = Callable[[], Awaitable[int]]  # gifts recorded so far


async def run(progress: Progress, options: Options) -> list[Section]:
    if not PG_URL:
        progress.console.log("e2e: skipped, it needs LAUREL_BENCH_PG_URL (or LAUREL_TEST_PG_URL)")
        return []
    levels = QUICK_LEVELS if options.quick else FULL_LEVELS
    stored = options.size(STORED, STORED_QUICK)
    return [
        await variant(0, levels, progress, options),
        await variant(stored, levels, progress, options),
    ]


async def variant(
    stored: int, levels: tuple[tuple[int, int], ...], progress: Progress, options: Options
) -> Section:
    secret = secrets.token_hex(16)
    fake = FakeSlack()
    await fake.start()
    try:
        async with fresh_database() as db:
            await prepare(db, stored, progress)
            results = await _levels(db, fake, secret, stored, levels, progress, options)
    finally:
        await fake.close()
    return section(stored, results)


async def _levels(
    db: URL,
    fake: FakeSlack,
    secret: str,
    stored: int,
    levels: tuple[tuple[int, int], ...],
    progress: Progress,
    options: Options,
) -> list[Level]:
    conn = await asyncpg.connect(asyncpg_dsn(db), timeout=10)
    try:

        async def gifts() -> int:
            return int(await conn.fetchval("SELECT count(*) FROM recognitions"))

        async def inserted() -> int:
            return int(await conn.fetchval(f"SELECT count(*) FROM {baseline_server.TABLE}"))

        async def backends() -> list[int]:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1", db.database
            )
            return [int(r["pid"]) for r in rows]

        done = []
        async with baseline_serve(db, secret) as baseline:
            for clients, requests in levels:
                out = _profile_path(options, f"e2e-{count(stored)}-{clients}")
                ours = await laurel_level(
                    db, fake, secret, clients, requests, gifts, backends, progress, profile=out
                )
                task = progress.add_task(f"baseline, {clients} clients", total=requests)
                meter = CpuMeter(
                    {"server": [baseline.pid], "postgres": await backends(), "load": [os.getpid()]}
                )
                meter.start()
                base = await load(
                    url=f"{baseline.url}/slack/events",
                    secret=secret,
                    clients=clients,
                    requests=requests,
                    count=inserted,
                    response_url=fake.response_url,
                    progress=progress,
                    task=task,
                )
                meter.stop({"postgres": await backends()})
                ours.baseline, ours.baseline_cpu = base, meter
                done.append(ours)
                progress.console.log(_summary(ours))
        return done
    finally:
        await conn.close()


def _profile_path(options: Options, name: str) -> Path | None:
    return options.profile / f"{name}.raw" if options.profile else None


async def laurel_level(
    db: URL,
    fake: FakeSlack,
    secret: str,
    clients: int,
    requests: int,
    gifts: RowCount,
    backends: Callable[[], Awaitable[list[int]]],
    progress: Progress,
    *,
    profile: Path | None = None,
) -> Level:
    """A fresh `laurel serve`, warmed up for these clients, then `requests` signed /kudos."""
    async with laurel_serve(db, fake, secret) as laurel:
        await quiet(laurel.pid)  # its scheduler's start-up runs are done
        url = f"{laurel.url}/slack/events"
        task = progress.add_task(f"laurel warm-up, {clients} clients", total=clients)
        warmed = await load(
            url=url,
            secret=secret,
            clients=clients,
            requests=clients,  # one each: every giver and receiver of this level is synced
            count=gifts,
            response_url=fake.response_url,
            progress=progress,
            task=task,
        )
        if warmed.errors or warmed.lost:
            raise RuntimeError(
                f"warm-up failed: {warmed.errors} errors, {warmed.recorded}/{warmed.sent}"
                f" recorded\n{laurel.tail()}"
            )
        await settle(fake)
        idle_rss, apologies = laurel.rss(), fake.apologies
        meter = CpuMeter(
            {"server": [laurel.pid], "postgres": await backends(), "load": [os.getpid()]}
        )
        meter.start()
        task = progress.add_task(f"laurel serve, {clients} clients", total=requests)
        async with profiled(laurel.pid, profile):
            result = await load(
                url=url,
                secret=secret,
                clients=clients,
                requests=requests,
                count=gifts,
                response_url=fake.response_url,
                progress=progress,
                task=task,
            )
            end_rss = laurel.rss()
            meter.stop({"postgres": await backends()})
            await settle(fake)
        return Level(
            clients=clients,
            requests=requests,
            laurel=result,
            baseline=Result(),
            laurel_cpu=meter,
            baseline_cpu=CpuMeter({}),
            idle_rss=idle_rss,
            end_rss=end_rss,
            apologies=fake.apologies - apologies,
            logged_errors=laurel.logged_errors(),
        )


def _summary(level: Level) -> str:
    r, b = level.laurel, level.baseline
    return (
        f"{level.clients} clients: laurel {r.rate:.0f} gifts/s ({r.recorded}/{r.sent} recorded"
        f" in {r.elapsed:.1f} s, acks done after {r.sending:.1f} s, {level.apologies} apologies,"
        f" {level.logged_errors} ERROR records; CPU per gift {_cpu(level.laurel_cpu, r)});"
        f" baseline {b.rate:.0f}/s (CPU per gift {_cpu(level.baseline_cpu, b)})"
    )


def _per(meter: CpuMeter, result: Result, name: str = "server") -> str:
    used = (meter.used or {}).get(name, 0.0)
    return ms(used / max(result.recorded, 1))


def _cpu(meter: CpuMeter, result: Result) -> str:
    """Per gift: the server, its PostgreSQL backends, this process (the clients and the fake
    Slack API), and the machine's cores busy."""
    return (
        f"server {_per(meter, result)}, PostgreSQL {_per(meter, result, 'postgres')},"
        f" load and fake Slack {_per(meter, result, 'load')},"
        f" machine {meter.busy_cores:.1f} cores busy"
    )


def _p50_p99(result: Result) -> str:
    return f"{ms(median(result.latencies))} / {ms(percentile(result.latencies, 99))}"


def row(level: Level) -> dict[str, str]:
    r, b = level.laurel, level.baseline
    return {
        "clients": str(level.clients),
        "requests": f"{level.requests:,}",
        "laurel gifts/s": f"{r.rate:.0f}",
        "baseline gifts/s": f"{b.rate:.0f}",
        "laurel/baseline": f"{ratio(r.rate, b.rate):.2f}",
        "laurel ack p50 / p99": _p50_p99(r),
        "baseline ack p50 / p99": _p50_p99(b),
        "errors laurel / baseline": f"{r.errors} / {b.errors}",
        "acked, not recorded": f"{r.lost} / {b.lost}",
        "server CPU per gift laurel / baseline": (
            f"{_per(level.laurel_cpu, r)} / {_per(level.baseline_cpu, b)}"
        ),
        "PostgreSQL CPU per gift": (
            f"{_per(level.laurel_cpu, r, 'postgres')} / {_per(level.baseline_cpu, b, 'postgres')}"
        ),
    }


def section(stored: int, levels: list[Level]) -> Section:
    where = "an empty database" if not stored else f"{describe(stored)} already stored"
    worst = min(levels, key=lambda lv: ratio(lv.laurel.rate, lv.baseline.rate))
    at32 = [lv for lv in levels if lv.clients == 32]
    p99 = percentile(at32[0].laurel.latencies, 99) if at32 else float("nan")
    lost = sum(lv.laurel.lost + lv.laurel.errors for lv in levels)
    targets = [
        Target(
            f"laurel/baseline ≥ {TARGET_RATIO} at every level",
            f"{ratio(worst.laurel.rate, worst.baseline.rate):.2f} (lowest, at {worst.clients})",
            all(ratio(lv.laurel.rate, lv.baseline.rate) >= TARGET_RATIO for lv in levels),
        ),
        Target(f"laurel p99 ack < {ms(TARGET_P99)} at 32 clients", ms(p99), p99 < TARGET_P99),
        Target("every acknowledged gift recorded, no errors", f"{lost} not", lost == 0),
    ]
    rss = ", ".join(
        f"{lv.clients}: {lv.idle_rss / 1024:.0f} → {lv.end_rss / 1024:.0f} MiB" for lv in levels
    )
    return Section(
        title=f"End to end: signed /kudos through laurel serve, {where}",
        about=(
            "Signed Slack `/kudos` requests (one gift of 1 point each, to a colleague) from N"
            " concurrent clients through `laurel serve` on PostgreSQL, with a fake Slack Web API"
            " answering its calls. **Throughput counts gifts durably recorded** (rows in"
            " `recognitions` polled after the last ack), never acknowledgements. **Baseline**: a"
            " bare aiohttp handler (one process, like laurel) that verifies the Slack signature"
            " and does one INSERT, counted the same way in its own table"
            + (f", which also holds {count(stored)} rows." if stored else ".")
        ),
        rows=[row(lv) for lv in levels],
        targets=targets,
        notes=[f"laurel serve RSS after the warm-up → when the last gift was counted: {rss}."],
    )
