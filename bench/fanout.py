"""Notification fan-out: the allowance reminder job for N people (each with Slack linked and
allowance left near the period's end), run by laurel's real bus and Slack notifier in a
subprocess (bench/fanout_worker.py), against a fake Slack Web API that enforces Slack's
rate limits (bench/slack_limits.py) and answers 429 with Retry-After beyond them.

**Baseline**: the rate the limits allow. Every DM needs `conversations.open` (Tier 3) and
`chat.postMessage` (one a second per channel, and a workspace-wide limit); both are given
the same workspace rate R and a burst of one second's worth, so at best N DMs take
(N − R) / R seconds after the first call. Slack publishes per-minute minimums (Tier 3:
50+ a minute) and no number for chat.postMessage's workspace limit; the fake counts per
second, a 60× scale, so that 10k DMs take minutes instead of hours. **Share of the allowed
rate** = DMs delivered / (R × the time from the first call to the last delivery + R).
**Lost** = reminders the job announced − people who got their DM.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from rich.progress import Progress
from sqlalchemy.engine import URL

from core.ledger import PERSONAL_ACCOUNTS
from core.periods import PeriodKind, period_containing

from .common import PG_URL, Options, Section, Target, asyncpg_dsn, count, ratio
from .e2e import fresh_database, prepare
from .procs import cpu_seconds, environment
from .slack_limits import Limit, RateLimitedSlack

RATE = 50.0  # calls a second per method and workspace (Slack's Tier 3 is 50+ a minute)
LIMITS = {
    "chat.postMessage": [Limit(RATE, RATE), Limit(1.0, 3.0, per_channel=True)],
    "conversations.open": [Limit(RATE, RATE)],
    "users.lookupByEmail": [Limit(RATE, RATE)],
    "users.info": [Limit(2 * RATE, 2 * RATE)],  # Tier 4
}
TARGET_SHARE = 0.9
TOKEN = "xoxb-bench"
PEOPLE_COLUMNS = ["id", "email", "handle", "display_name", "tz", "active", "is_bot", "created_at"]
PEOPLE_COLUMNS.append("muted")


def reminder_time() -> datetime:
    """Noon UTC on the last day of this month: within `reminder_days` of the period's end."""
    today = datetime.now(UTC)
    last = calendar.monthrange(today.year, today.month)[1]
    return today.replace(day=last, hour=12, minute=0, second=0, microsecond=0)


async def staff(db: URL, people: int, now: datetime) -> None:
    """N people in UTC with Slack linked, each with 50 of this month's 100 points left."""
    period = period_containing(now.date(), PeriodKind.MONTH).key
    conn = await asyncpg.connect(asyncpg_dsn(db))
    try:
        first = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM people")) + 1
        ids = range(first, first + people)
        await conn.copy_records_to_table(
            "people",
            columns=PEOPLE_COLUMNS,
            records=[
                (i, f"f{i}@example.com", f"f{i}", f"Fan {i}", "UTC", True, False, now, "")
                for i in ids
            ],
        )
        await conn.copy_records_to_table(
            "accounts",
            columns=["kind", "owner", "balance", "period_key", "period_granted"],
            records=[
                (k.value, i, 50, period, 100)
                if k.value == "allowance"
                else (k.value, i, 0, None, 0)
                for i in ids
                for k in PERSONAL_ACCOUNTS
            ],
        )
        await conn.copy_records_to_table(
            "identities",
            columns=["platform", "workspace", "user_id", "person_id"],
            records=[("slack", "T1", f"U{i}", i) for i in ids],
        )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT max(id) FROM people))"
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


@dataclass
class Outcome:
    people: int
    reminders: int
    delivered: int  # people who got their DM
    duplicates: int  # DMs delivered more than once
    limited: dict[str, int]
    window: float  # first call to last delivery, seconds
    worker: dict[str, float]
    cpu: float  # the worker's CPU seconds

    @property
    def lost(self) -> int:
        return self.reminders - self.delivered

    @property
    def allowed(self) -> float:
        return RATE * self.window + RATE

    @property
    def share(self) -> float:
        return ratio(self.delivered, self.allowed)


async def fan_out(db: URL, people: int, now: datetime, progress: Progress) -> Outcome:
    fake = RateLimitedSlack(LIMITS)
    async with fake:
        env = environment(
            DATABASE_URL=db.render_as_string(hide_password=False),
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET="bench-secret",
            SLACK_API_URL=fake.url,
            BENCH_NOW=now.isoformat(),
        )
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.fanout_worker",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        task = progress.add_task(f"fan-out to {count(people)} people", total=people)
        deadline = time.monotonic() + people / RATE * 5 + 120
        cpu = 0.0
        output = asyncio.ensure_future(worker.communicate())
        while not output.done():
            cpu = max(cpu, cpu_seconds(worker.pid))
            progress.update(task, completed=len(fake.accepted["chat.postMessage"]))
            if time.monotonic() > deadline:
                worker.kill()
            await asyncio.wait([output], timeout=0.5)
        stdout, _ = output.result()
        progress.update(task, completed=len(fake.accepted["chat.postMessage"]))
        if worker.returncode != 0:
            raise RuntimeError(f"the fan-out worker failed ({worker.returncode})")
        report = json.loads(stdout.decode().strip().splitlines()[-1])
        posts = [c for c in fake.calls_to("chat.postMessage") if not c.failed]
        channels = {str(c.args.get("channel")) for c in posts}
        times = fake.accepted["chat.postMessage"]
        return Outcome(
            people=people,
            reminders=int(report["reminders"]),
            delivered=len(channels),
            duplicates=len(posts) - len(channels),
            limited=dict(fake.limited),
            window=(times[-1] - fake.first_call) if times else 0.0,
            worker=report,
            cpu=cpu,
        )


async def run(progress: Progress, options: Options) -> list[Section]:
    if not PG_URL:
        progress.console.log("fanout: skipped, it needs LAUREL_BENCH_PG_URL")
        return []
    people = options.size(10_000, 1_000)
    now = reminder_time()
    async with fresh_database() as db:
        await prepare(db, 0, progress)
        await staff(db, people, now)
        outcome = await fan_out(db, people, now, progress)
    return [section(outcome)]


def section(o: Outcome) -> Section:
    rate = o.delivered / o.window if o.window else 0.0
    limited = ", ".join(f"{m} {n:,}" for m, n in sorted(o.limited.items())) or "none"
    return Section(
        title="Notification fan-out: 10k DMs against Slack's rate limits",
        about=__doc__ or "",
        rows=[
            {
                "people": f"{o.people:,}",
                "reminders announced": f"{o.reminders:,}",
                "DMs delivered": f"{o.delivered:,}",
                "lost": f"{o.lost:,}",
                "delivered twice": f"{o.duplicates:,}",
                "first call → last DM": f"{o.window:.1f} s",
                "delivered/s": f"{rate:.1f}",
                "allowed/s (baseline)": f"{RATE:.0f}",
                "share of allowed": f"{o.share:.0%}",
                "429 answers": limited,
                "worker CPU": f"{o.cpu:.1f} s",
            }
        ],
        targets=[
            Target(
                f"share of the allowed rate ≥ {TARGET_SHARE:.0%}",
                f"{o.share:.0%}",
                o.share >= TARGET_SHARE,
            ),
            Target("messages lost = 0", f"{o.lost:,}", o.lost == 0),
        ],
        notes=[
            f"The job took {o.worker.get('job', 0):.1f} s; the deliveries it started were"
            f" done {o.worker.get('delivery', 0):.1f} s after it began."
        ],
    )
