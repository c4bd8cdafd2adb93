"""The scheduler: jobs run at start (catching up) and at their interval, once per effect,
also with several schedulers at the same time; `laurel scheduler` as operators run it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.scheduler.runner import Scheduler
from bot.bootstrap import App, bootstrap
from bot.scheduling import build_scheduler
from bot.settings import Settings
from core.commands import RegisterPerson
from core.ledger import AccountKind, AccountRef
from core.people import NewPerson

from .conftest import migrated_engine
from .fakes import FakeClock

LAUREL = str(Path(sys.executable).with_name("laurel"))


@pytest.fixture(params=["sqlite", "pg"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(request.param, tmp_path) as built:
        yield built


async def app_on(engine: AsyncEngine, clock: FakeClock, **settings: str) -> App:
    return await bootstrap(
        Settings(DATABASE_URL="sqlite+aiosqlite:///unused.db", **settings),  # type: ignore[arg-type]
        engine=engine,
        migrate_db=False,
        clock=clock,
    )


async def people(app: App, n: int) -> list[int]:
    ids = []
    for i in range(n):
        new = NewPerson(email=f"p{i}@example.com", display_name=f"P {i}", tz="Europe/Paris")
        ids.append((await app.bus.handle(RegisterPerson(person=new))).id)
    return ids


async def periods(app: App, ids: list[int]) -> set[str | None]:
    async with app.uow(readonly=True) as uow:
        return {(await uow.ledger.allowance_account(i)).period_key for i in ids}


async def issued(app: App) -> int:
    async with app.uow(readonly=True) as uow:
        return await uow.ledger.balance(AccountRef(AccountKind.ISSUANCE))


async def eventually(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    for _ in range(int(timeout / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the scheduler did not do it in time")


async def test_jobs_run_at_start_and_catch_up_after_downtime(engine: AsyncEngine) -> None:
    clock = FakeClock(datetime(2026, 11, 20, 12, tzinfo=UTC))
    app = await app_on(engine, clock)
    ids = await people(app, 5)
    scheduler = build_scheduler(app)
    scheduler.start()
    try:

        async def opened() -> bool:
            return await periods(app, ids) == {"2026-11-01"}

        await eventually(opened)
    finally:
        scheduler.shutdown()
    # Down over the turn of the month; on start the missed refresh happens, once.
    clock.set(datetime(2026, 12, 3, 8, tzinfo=UTC))
    again = build_scheduler(app)
    again.start()
    try:

        async def caught_up() -> bool:
            return await periods(app, ids) == {"2026-12-01"}

        await eventually(caught_up)
        await asyncio.sleep(0.2)
    finally:
        again.shutdown()
    # Granted once per month each; November's unused 100 lapsed back to the organisation.
    assert await issued(app) == -100 * 5
    jobs = {j.name for j in again.jobs}
    assert jobs == {
        "allowance",
        "reminders",
        "celebrations",
        "digest",
        "approvals",
        "expiry",
        "retention",
    }


async def test_three_schedulers_at_once_do_the_work_once(engine: AsyncEngine) -> None:
    clock = FakeClock(datetime(2026, 11, 20, 12, tzinfo=UTC))
    apps = [await app_on(engine, clock) for _ in range(3)]
    ids = await people(apps[0], 30)
    schedulers: list[Scheduler] = [build_scheduler(a) for a in apps]
    allowance = [next(j for j in s.jobs if j.name == "allowance") for s in schedulers]
    ran = await asyncio.gather(*(s.run(job) for s, job in zip(schedulers, allowance, strict=True)))
    assert any(ran)
    assert await periods(apps[0], ids) == {"2026-11-01"}
    assert await issued(apps[0]) == -100 * 30


async def test_a_failing_job_is_logged_and_the_others_go_on(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    app = await app_on(engine, clock, LAUREL_HRMS_CSV=str(tmp_path / "missing.csv"))
    scheduler = build_scheduler(app)
    directory = next(j for j in scheduler.jobs if j.name == "directory")
    assert await scheduler.run(directory) is False
    assert "directory failed" in caplog.text
    allowance = next(j for j in scheduler.jobs if j.name == "allowance")
    assert await scheduler.run(allowance) is True


async def test_the_directory_job_syncs_the_configured_csv(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text("email,name\nana@example.com,Ana Lima\nben@example.com,Ben Weber\n")
    app = await app_on(engine, FakeClock(), LAUREL_HRMS_CSV=str(csv))
    scheduler = build_scheduler(app)
    directory = next(j for j in scheduler.jobs if j.name == "directory")
    assert await scheduler.run(directory)
    csv.write_text("email,name\nana@example.com,Ana Lima\n")
    assert await scheduler.run(directory)
    async with app.uow(readonly=True) as uow:
        ben = await uow.people.by_email("ben@example.com")
    assert ben is not None and not ben.active  # a scheduled pull is complete: Ben left


async def test_laurel_scheduler_runs_alone_and_stops_cleanly(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/scheduler.db"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))}
    environment["DATABASE_URL"] = url
    process = await asyncio.create_subprocess_exec(
        LAUREL,
        "scheduler",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert line.startswith(b"laurel scheduler running: allowance, reminders, celebrations")
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 15) == 0


async def test_stopping_lets_the_runs_under_way_finish(engine: AsyncEngine) -> None:
    """laurel serve stops its scheduler before the database: a run under way completes
    instead of being cut off (APScheduler's shutdown alone would cancel it)."""
    from datetime import timedelta

    from adapters.scheduler.jobs import Job

    finished: list[str] = []

    async def slow() -> str:
        await asyncio.sleep(0.3)
        finished.append("done")
        return "done"

    scheduler = Scheduler([Job("slow", timedelta(hours=1), slow)], engine)
    scheduler.start()
    await asyncio.sleep(0.1)  # the catch-up run has started
    await scheduler.stop()
    assert finished == ["done"]
