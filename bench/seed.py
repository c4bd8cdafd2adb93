"""Stored history for the benchmarks that need one (1M gifts, 10M ledger entries), written
set-based in the database: `INSERT … SELECT` over generated series, a chunk at a time, never
through the bus.

The history is a consistent ledger: each seeded person gets one allowance grant, and gift
n moves 1 to 10 points from one seeded person's allowance to another's earned account
(a transfer with two entries, a recognition with one receiver); gifts are spread evenly
over the last `days` days, newest first (`_chunk` says how givers, receivers and amounts
are drawn). Account balances and the leaderboard buckets (`totals`) are then rebuilt from
what was stored, as laurel would have kept them.
"""

from __future__ import annotations

import abc
import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from rich.progress import Progress

from core.ledger import PERSONAL_ACCOUNTS

from .common import Store, count

CHUNK = 250_000  # gifts per statement
GRANT = 1_000_000_000  # each seeded person's allowance grant: no balance ever goes negative
SCATTER = 2_654_435_761  # Knuth's multiplicative hash
PRIME = 1_000_003


@dataclass(frozen=True)
class Shape:
    people: int
    gifts: int  # the most that will be stored: gift n is n / gifts of `days` before `until`
    days: int = 5 * 365
    until: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))


class Seeder:
    """Seeds people once, then gifts in stages (`grow_to`), then rebuilds the aggregates."""

    def __init__(self, store: Store, shape: Shape, progress: Progress) -> None:
        self._store = store
        self._shape = shape
        self._progress = progress
        self._gifts = 0
        self._first_person = 0
        self._transfer_base = 0  # gift n's transfer id is base + n
        self._recognition_base = 0
        self._sql: _Sql | None = None

    async def __aenter__(self) -> Seeder:
        if self._store.kind == "pg":
            self._sql = _Pg(await self._store.raw_pg())
        else:
            self._sql = _Sqlite(sqlite3.connect(self._store.path, check_same_thread=False))
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._sql is not None:
            await self._sql.close()

    @property
    def sql(self) -> _Sql:
        assert self._sql is not None, "use the seeder as an async context manager"
        return self._sql

    @property
    def gifts(self) -> int:
        return self._gifts

    async def people(self) -> None:
        """The seeded people, their personal accounts and their allowance grants."""
        p, first = (
            self._shape.people,
            await self.sql.value("SELECT coalesce(max(id), 0) FROM people") + 1,
        )
        self._first_person = first
        base = await self.sql.value("SELECT coalesce(max(id), 0) FROM transfers")
        at = self._moment("0")
        kinds = " UNION ALL ".join(f"SELECT '{k.value}' AS kind" for k in PERSONAL_ACCOUNTS)
        await self.sql.run(
            "INSERT INTO people (id, email, handle, display_name, tz, active, is_bot,"
            " created_at, muted)"
            f" SELECT {first} + n, 'seed' || n || '@seed.example', 'seed' || n,"
            f" 'Seeded Person ' || n, 'UTC', {self.sql.true}, {self.sql.false}, {at}, ''"
            f" FROM {self.sql.series(0, p - 1)}"
        )
        await self.sql.run(
            "INSERT INTO accounts (kind, owner, balance, period_granted)"
            f" SELECT k.kind, {first} + n, 0, 0 FROM {self.sql.series(0, p - 1)}"
            f" CROSS JOIN ({kinds}) AS k"
        )
        await self.sql.run(
            "INSERT INTO transfers (id, key, kind, memo, created_at)"
            f" SELECT {base + 1} + n, 'seed:grant:' || n, 'allowance_grant', '', {at}"
            f" FROM {self.sql.series(0, p - 1)}"
        )
        await self.sql.run(
            "INSERT INTO entries (transfer_id, account_kind, account_owner, amount, created_at)"
            f" SELECT {base + 1} + n, k.kind, CASE k.kind WHEN 'issuance' THEN 0"
            f" ELSE {first} + n END, CASE k.kind WHEN 'issuance' THEN -{GRANT} ELSE {GRANT} END,"
            f" {at} FROM {self.sql.series(0, p - 1)}"
            " CROSS JOIN (SELECT 'issuance' AS kind UNION ALL SELECT 'allowance') AS k"
        )
        self._transfer_base = base + p
        self._recognition_base = await self.sql.value(
            "SELECT coalesce(max(id), 0) FROM recognitions"
        )

    async def grow_to(self, gifts: int, label: str) -> None:
        """Add gifts until `gifts` are stored (two ledger entries each)."""
        task = self._progress.add_task(label, total=gifts - self._gifts)
        while self._gifts < gifts:
            lo, hi = self._gifts, min(gifts, self._gifts + CHUNK) - 1
            await self._chunk(lo, hi)
            self._progress.advance(task, hi - lo + 1)
            self._gifts = hi + 1

    async def _chunk(self, lo: int, hi: int) -> None:
        s, p, first = self.sql, self._shape.people, self._first_person
        # Pseudo-random but reproducible: givers uniform, receivers skewed towards the
        # first people (some are thanked far more often than others, so a leaderboard has
        # a top rather than thousands tied), amounts 1 to 10, moments spread over the period.
        giving = f"((n * 7919 + 13) % {p})"
        h = f"((n * {SCATTER}) % {PRIME})"
        skewed = f"((({p} * {h}) / {PRIME} * {h}) / {PRIME})"
        giver = f"({first} + {giving})"
        receiver = (
            f"({first} + CASE WHEN {skewed} = {giving} THEN ({skewed} + 1) % {p} ELSE {skewed} END)"
        )
        amount = "(1 + (n * 48271) % 10)"
        # Gift 0 is the latest: growing the history adds older gifts, so the current
        # month's gifts are the same at every size and only the stored past grows.
        at = self._moment(f"n * {self._shape.days * 86400} / {self._shape.gifts}")
        series = s.series(lo, hi)
        t, r = self._transfer_base + 1, self._recognition_base + 1  # gift 0 takes base + 1
        await s.run(
            "INSERT INTO transfers (id, key, kind, memo, created_at)"
            f" SELECT {t} + n, 'kudos:seed:' || {s.padded('n')}, 'kudos', '', {at} FROM {series}"
        )
        await s.run(
            "INSERT INTO entries (transfer_id, account_kind, account_owner, amount, created_at)"
            f" SELECT {t} + n, k.kind, CASE k.kind WHEN 'allowance' THEN {giver} ELSE {receiver}"
            f" END, CASE k.kind WHEN 'allowance' THEN -{amount} ELSE {amount} END, {at}"
            f" FROM {series} CROSS JOIN (SELECT 'allowance' AS kind UNION ALL"
            " SELECT 'earned') AS k"
        )
        await s.run(
            "INSERT INTO recognitions (id, key, giver_id, amount, reason, value_slugs, source,"
            " context, created_at)"
            f" SELECT {r} + n, 'seed:' || {s.padded('n')}, {giver}, {amount},"
            f" 'seeded history: thank you for the help', {s.json('[]')}, 'slack',"
            f" {s.json('{}')}, {at} FROM {series}"
        )
        await s.run(
            "INSERT INTO recognition_receivers (recognition_id, person_id, position)"
            f" SELECT {r} + n, {receiver}, 0 FROM {series}"
        )

    def _moment(self, seconds_before: str) -> str:
        return self.sql.moment(self._shape.until, seconds_before)

    async def aggregates(self, label: str) -> None:
        """Account balances from the entries, leaderboard buckets from the recognitions."""
        steps = [self._balances, *[self._bucket(kind) for kind in BUCKETS], self._analyze]
        task = self._progress.add_task(label, total=len(steps))
        await self.sql.run("DELETE FROM totals")
        for step in steps:
            await step()
            self._progress.advance(task)

    async def _balances(self) -> None:
        await self.sql.run(
            "UPDATE accounts SET balance = s.total FROM (SELECT account_kind, account_owner,"
            " sum(amount) AS total FROM entries GROUP BY account_kind, account_owner) AS s"
            " WHERE accounts.kind = s.account_kind AND accounts.owner = s.account_owner"
        )

    def _bucket(self, kind: str) -> Callable[[], Awaitable[None]]:
        async def rebuild() -> None:
            key = self.sql.bucket(kind, "r.created_at")
            # Seeded gifts have one receiver each: the giver's points are the amount.
            for role, person, join in (
                ("given", "r.giver_id", ""),
                ("received", "rr.person_id", _RECEIVERS),
            ):
                await self.sql.run(
                    "INSERT INTO totals (role, bucket, value_slug, person_id, points, count)"
                    f" SELECT '{role}', {key}, '', {person}, sum(r.amount), count(*)"
                    f" FROM recognitions r{join} WHERE r.revoked_at IS NULL"
                    f" GROUP BY {person if kind == 'all' else f'{key}, {person}'}"
                )

        return rebuild

    async def _analyze(self) -> None:
        if self._store.kind == "pg":  # autovacuum would have; SQLite has nothing that would
            await self.sql.run("ANALYZE")
            for table in ("people", "transfers", "recognitions"):
                await self.sql.run(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )


BUCKETS = ("week", "month", "quarter", "year", "all")
_RECEIVERS = " JOIN recognition_receivers rr ON rr.recognition_id = r.id"


class _Sql(abc.ABC):
    """The two engines' spellings of what seeding needs."""

    true, false = "TRUE", "FALSE"

    @abc.abstractmethod
    async def run(self, sql: str) -> None: ...

    @abc.abstractmethod
    async def value(self, sql: str) -> int: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def series(self, lo: int, hi: int) -> str: ...

    @abc.abstractmethod
    def moment(self, until: datetime, seconds_before: str) -> str: ...

    def json(self, literal: str) -> str:
        return f"'{literal}'"

    @abc.abstractmethod
    def padded(self, number: str) -> str:
        """A number as 10 digits: keys then sort as they are inserted (cheap unique index)."""
        ...

    @abc.abstractmethod
    def bucket(self, kind: str, column: str) -> str: ...


class _Pg(_Sql):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def run(self, sql: str) -> None:
        await self._conn.execute(sql)

    async def value(self, sql: str) -> int:
        return int(await self._conn.fetchval(sql))

    async def close(self) -> None:
        await self._conn.close()

    def series(self, lo: int, hi: int) -> str:
        return f"generate_series({lo}::bigint, {hi}::bigint) AS n"

    def moment(self, until: datetime, seconds_before: str) -> str:
        return f"(timestamptz '{until.isoformat()}' - ({seconds_before}) * interval '1 second')"

    def json(self, literal: str) -> str:
        return f"'{literal}'::json"

    def padded(self, number: str) -> str:
        return f"lpad({number}::text, 10, '0')"

    def bucket(self, kind: str, column: str) -> str:
        if kind == "all":
            return "'all'"
        return (
            f"'{kind}:' || to_char(date_trunc('{kind}', {column} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
        )


class _Sqlite(_Sql):
    """sqlite3 in a worker thread; the series is a recursive CTE."""

    true, false = "1", "0"

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.isolation_level = None
        conn.execute("PRAGMA synchronous=OFF")  # this connection only: seeding, not laurel
        self._conn = conn

    async def run(self, sql: str) -> None:
        def work() -> None:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(sql)
            self._conn.execute("COMMIT")

        await asyncio.to_thread(work)

    async def value(self, sql: str) -> int:
        return int(await asyncio.to_thread(lambda: self._conn.execute(sql).fetchone()[0]))

    async def close(self) -> None:
        await asyncio.to_thread(self._conn.close)

    def series(self, lo: int, hi: int) -> str:
        return (
            f"(WITH RECURSIVE s(n) AS (SELECT {lo} UNION ALL SELECT n + 1 FROM s WHERE n < {hi})"
            " SELECT n FROM s) AS s"
        )

    def moment(self, until: datetime, seconds_before: str) -> str:
        epoch = int(until.timestamp())
        return (
            f"(strftime('%Y-%m-%d %H:%M:%S', {epoch} - ({seconds_before}), 'unixepoch')"
            " || '.000000')"
        )

    def padded(self, number: str) -> str:
        return f"printf('%010d', {number})"

    def bucket(self, kind: str, column: str) -> str:
        day = f"date({column})"
        if kind == "week":
            start = f"date({day}, '-' || ((strftime('%w', {day}) + 6) % 7) || ' days')"
        elif kind == "month":
            start = f"strftime('%Y-%m-01', {day})"
        elif kind == "quarter":
            month = f"((CAST(strftime('%m', {day}) AS INTEGER) - 1) / 3) * 3 + 1"
            start = f"printf('%s-%02d-01', strftime('%Y', {day}), {month})"
        elif kind == "year":
            start = f"strftime('%Y-01-01', {day})"
        else:
            return "'all'"
        return f"'{kind}:' || {start}"


def describe(gifts: int) -> str:
    return f"{count(gifts)} gifts ({count(2 * gifts)} ledger entries)"
