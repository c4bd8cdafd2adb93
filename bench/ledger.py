"""The ledger: `GiveKudos` through the core and persistence (the bus, a unit of work,
SQLAlchemy), against exactly the SQL statements one GiveKudos issues, sent raw through the
driver (asyncpg, aiosqlite).

The statements are captured in this run with a SQLAlchemy `before_cursor_execute` listener,
one gift per client pair, and replayed as captured: the same text, the same parameters,
execute or executemany as SQLAlchemy did, in one transaction (`BEGIN`/`COMMIT` as laurel's
engine issues them). Only what must differ for a new gift differs: its idempotency key, and
the ids the two `RETURNING` statements hand back (the transfer's, used by its entries; the
recognition's, used by its receivers). So the baseline records real gifts too.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import asyncpg
import sqlalchemy as sa
from rich.progress import Progress, TaskID
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.tables import recognitions, transfers
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.bus import MessageBus, default_handlers
from core.clock import SystemClock
from core.commands import ConfigureOrganisation, GiveKudos, RegisterPerson
from core.people import NewPerson
from core.policy import GivingPolicy

from .common import (
    Options,
    Section,
    Store,
    Target,
    engines,
    fresh_store,
    median,
    ms,
    percentile,
    ratio,
)

CLIENTS = 32
MARK = "00000000"  # in a captured gift's key; each replay puts its own number here
TRANSFER_IDS = 3_000_000_000  # ids far from any other number a gift's statements carry
RECOGNITION_IDS = 5_000_000_000
TARGET = 0.6
ROUNDS = 2  # laurel and raw take turns, so drift on a shared machine hits both


@dataclass
class Statement:
    sql: str
    params: Any  # a tuple, or a list of tuples for executemany
    many: bool
    returns: str = ""  # "transfer" | "recognition": the id this RETURNING hands back


@dataclass
class Capture:
    statements: list[Statement] = field(default_factory=list)
    transfer_id: int = 0
    recognition_id: int = 0


class Replayer:
    """One gift's statements for a new key, through one raw connection."""

    def __init__(self, kind: str, capture: Capture) -> None:
        self.kind = kind
        self.capture = capture

    def _params(self, params: Any, n: int, ids: dict[int, int]) -> Any:
        def one(value: Any) -> Any:
            if isinstance(value, str) and MARK in value:
                return value.replace(MARK, f"{n:08d}")
            if isinstance(value, int) and not isinstance(value, bool) and value in ids:
                return ids[value]
            return value

        if isinstance(params, list):
            return [tuple(one(v) for v in row) for row in params]
        return tuple(one(v) for v in params)

    async def pg(self, conn: asyncpg.Connection, n: int) -> None:
        ids: dict[int, int] = {}
        async with conn.transaction():
            for s in self.capture.statements:
                params = self._params(s.params, n, ids)
                if s.many:
                    await conn.executemany(s.sql, params)
                elif s.returns:
                    ids[self._captured(s)] = int(await conn.fetchval(s.sql, *params))
                else:
                    await conn.fetch(s.sql, *params)

    async def sqlite(self, conn: aiosqlite.Connection, n: int) -> None:
        ids: dict[int, int] = {}
        try:
            for s in self.capture.statements:
                params = self._params(s.params, n, ids)
                if s.many:
                    await conn.executemany(s.sql, params)
                    continue
                async with conn.execute(s.sql, params) as cursor:
                    rows = list(await cursor.fetchall())
                if s.returns:
                    ids[self._captured(s)] = int(rows[0][0])
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise

    def _captured(self, s: Statement) -> int:
        c = self.capture
        return c.transfer_id if s.returns == "transfer" else c.recognition_id


_INSERT_INTO = re.compile(r"^\s*INSERT INTO (\w+)", re.IGNORECASE)


def _returns(sql: str) -> str:
    found = _INSERT_INTO.match(sql)
    if not found or "RETURNING" not in sql.upper():
        return ""
    table = found.group(1)
    if table == "transfers":
        return "transfer"
    if table == "recognitions":
        return "recognition"
    raise RuntimeError(f"GiveKudos has a RETURNING the replay does not know: {sql[:80]}")


def gift(giver: int, receiver: int, key: str) -> GiveKudos:
    return GiveKudos(
        giver_id=giver,
        receiver_ids=(receiver,),
        amount=1,
        reason="benchmark gift, thank you",
        idempotency_key=key,
    )


@dataclass
class World:
    store: Store
    bus: MessageBus
    pairs: list[tuple[int, int]]
    captures: list[Capture]


async def setup(store: Store, progress: Progress) -> World:
    bus = MessageBus(
        uow_factory=SqlUnitOfWorkFactory(store.engine), handlers=default_handlers(SystemClock())
    )
    policy = GivingPolicy(allowance=1_000_000_000, per_gift_cap=1000)
    await bus.handle(ConfigureOrganisation(policy=policy))
    people = []
    for i in range(2 * CLIENTS):
        new = NewPerson(email=f"p{i}@example.com", display_name=f"P {i}")
        people.append((await bus.handle(RegisterPerson(person=new))).id)
    pairs = [(people[2 * c], people[2 * c + 1]) for c in range(CLIENTS)]
    await _distinct_ids(store, people[0])
    for c, (giver, receiver) in enumerate(pairs):  # each giver's period opens on a first gift
        await bus.handle(gift(giver, receiver, f"warm-{c}"))
    task = progress.add_task(f"capturing GiveKudos on {store.kind}", total=CLIENTS)
    captures = []
    # Captured through an engine of its own: once an engine has had a listener, SQLAlchemy
    # keeps dispatching its (empty) events, which the timed engine must not pay for.
    watched = store.twin()
    try:
        watched_bus = MessageBus(
            uow_factory=SqlUnitOfWorkFactory(watched), handlers=default_handlers(SystemClock())
        )
        giver, receiver = pairs[0]  # warm its caches: the timed bus's are warm too
        await watched_bus.handle(gift(giver, receiver, "warm-watched"))
        for c, (giver, receiver) in enumerate(pairs):
            captured = await capture(store, watched, watched_bus, giver, receiver, f"cap{c}-{MARK}")
            captures.append(captured)
            progress.advance(task)
    finally:
        await watched.dispose()
    return World(store, bus, pairs, captures)


async def _distinct_ids(store: Store, person: int) -> None:
    """Make the ids RETURNING hands back large enough to never equal another parameter."""
    async with store.engine.begin() as conn:
        if store.kind == "pg":
            for table, start in (("transfers", TRANSFER_IDS), ("recognitions", RECOGNITION_IDS)):
                await conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {start})")
                )
            return
        now = SystemClock().now()
        await conn.execute(
            sa.insert(transfers).values(
                id=TRANSFER_IDS, key="bench:ids", kind="kudos", created_at=now
            )
        )
        await conn.execute(
            sa.insert(recognitions).values(
                id=RECOGNITION_IDS,
                key="bench:ids",
                giver_id=person,
                amount=0,
                reason="",
                value_slugs=[],
                source="bench",
                context={},
                created_at=now,
            )
        )


async def capture(
    store: Store, engine: AsyncEngine, bus: MessageBus, giver: int, receiver: int, key: str
) -> Capture:
    """The statements of one GiveKudos through `bus` (on `engine`), as the driver got them."""
    captured = Capture()

    def listen(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
    ) -> None:
        params = list(parameters) if many else tuple(parameters or ())
        captured.statements.append(Statement(statement, params, many, _returns(statement)))

    event.listen(engine.sync_engine, "before_cursor_execute", listen)
    try:
        result = await bus.handle(gift(giver, receiver, key))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listen)
    captured.recognition_id = result.recognition.id
    async with store.engine.connect() as conn:
        found = await conn.execute(
            sa.select(transfers.c.id).where(transfers.c.key == f"kudos:{key}")
        )
        captured.transfer_id = int(found.scalar_one())
    returning = sorted(s.returns for s in captured.statements if s.returns)
    if returning != ["recognition", "transfer"]:
        raise RuntimeError(f"expected two RETURNING statements, got {returning}")
    if captured.transfer_id < TRANSFER_IDS or captured.recognition_id < RECOGNITION_IDS:
        raise RuntimeError("captured ids are not distinctive; the replay would misplace them")
    return captured


Runner = Callable[[int, int], Awaitable[None]]  # (client, n)
PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000")


async def _sqlite_connection(path: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, timeout=30, isolation_level=None)
    for pragma in PRAGMAS:
        await conn.execute(f"PRAGMA {pragma}")
    return conn


@dataclass
class Raw:
    """As many raw connections as laurel's engine may open (a client waits for a free one,
    as it waits for laurel's pool), and the replay of client c's captured gift."""

    world: World
    free: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    opened: list[Any] = field(default_factory=list)

    async def open(self) -> None:
        pool = self.world.store.engine.pool
        size = min(CLIENTS, pool.size() + getattr(pool, "_max_overflow", 0))  # type: ignore[attr-defined]
        for _ in range(size):
            if self.world.store.kind == "pg":
                conn: Any = await self.world.store.raw_pg()
            else:
                conn = await _sqlite_connection(self.world.store.path)
            self.opened.append(conn)
            self.free.put_nowait(conn)

    async def close(self) -> None:
        for conn in self.opened:
            await conn.close()

    async def give(self, client: int, n: int) -> None:
        replay = Replayer(self.world.store.kind, self.world.captures[client])
        conn = await self.free.get()
        try:
            if self.world.store.kind == "pg":
                await replay.pg(conn, n)
            else:
                await replay.sqlite(conn, n)
        finally:
            self.free.put_nowait(conn)


async def _timed(run: Runner, client: int, numbers: range, latencies: list[float]) -> None:
    for n in numbers:
        begin = time.perf_counter()
        await run(client, n)
        latencies.append(time.perf_counter() - begin)


@dataclass
class Figures:
    sequential: list[float] = field(default_factory=list)  # seconds per gift, one at a time
    concurrent_gifts: int = 0
    concurrent_time: float = 0.0

    @property
    def sequential_rate(self) -> float:
        return len(self.sequential) / sum(self.sequential) if self.sequential else 0.0

    @property
    def concurrent_rate(self) -> float:
        return self.concurrent_gifts / self.concurrent_time if self.concurrent_time else 0.0


async def measure(
    runners: dict[str, Runner], sequential: int, concurrent: int, progress: Progress, task: TaskID
) -> dict[str, Figures]:
    """Each runner in turn, ROUNDS times: `sequential` gifts one at a time, then `concurrent`
    gifts from CLIENTS clients. Gift numbers never repeat (they make the keys)."""
    figures = {name: Figures() for name in runners}
    per = concurrent // CLIENTS
    n = 1
    for _ in range(ROUNDS):
        for name, run in runners.items():
            await _timed(run, 0, range(n, n + sequential), figures[name].sequential)
            n += sequential
            progress.advance(task, sequential)
            begin = time.perf_counter()
            await asyncio.gather(
                *(_timed(run, c, range(n + c * per, n + (c + 1) * per), []) for c in range(CLIENTS))
            )
            figures[name].concurrent_time += time.perf_counter() - begin
            figures[name].concurrent_gifts += CLIENTS * per
            n += CLIENTS * per
            progress.advance(task, CLIENTS * per)
    return figures


async def run_engine(kind: str, progress: Progress, options: Options) -> dict[str, str]:
    sequential = options.size(300, 30)
    concurrent = options.size(1600, 160)
    async with fresh_store(kind) as store:
        world = await setup(store, progress)
        raw = Raw(world)
        await raw.open()
        try:

            async def laurel(client: int, n: int) -> None:
                giver, receiver = world.pairs[client]
                await world.bus.handle(gift(giver, receiver, f"cap{client}-{n:08d}-laurel"))

            total = ROUNDS * 2 * (sequential + concurrent // CLIENTS * CLIENTS)
            task = progress.add_task(f"GiveKudos vs raw SQL on {kind}", total=total)
            figures = await measure(
                {"laurel": laurel, "raw": raw.give}, sequential, concurrent, progress, task
            )
        finally:
            await raw.close()
        statements = len(world.captures[0].statements)
    ours, base = figures["laurel"], figures["raw"]
    return {
        "engine": kind,
        "statements per gift": str(statements),
        "laurel p50 / p99": _p50_p99(ours.sequential),
        "raw p50 / p99": _p50_p99(base.sequential),
        "laurel / raw gifts/s, 1 client": (
            f"{ours.sequential_rate:.0f} / {base.sequential_rate:.0f}"
        ),
        "ratio, 1 client": f"{ratio(ours.sequential_rate, base.sequential_rate):.2f}",
        f"laurel / raw gifts/s, {CLIENTS} clients": (
            f"{ours.concurrent_rate:.0f} / {base.concurrent_rate:.0f}"
        ),
        f"ratio, {CLIENTS} clients": f"{ratio(ours.concurrent_rate, base.concurrent_rate):.2f}",
    }


def _p50_p99(samples: list[float]) -> str:
    return f"{ms(median(samples))} / {ms(percentile(samples, 99))}"


async def run(progress: Progress, options: Options) -> list[Section]:
    rows = [await run_engine(kind, progress, options) for kind in engines()]
    targets = []
    for row in rows:
        for clients in ("1 client", f"{CLIENTS} clients"):
            value = float(row[f"ratio, {clients}"])
            targets.append(
                Target(
                    f"{row['engine']}, {clients}: laurel/raw ≥ {TARGET}",
                    f"{value:.2f}",
                    value >= TARGET,
                )
            )
    return [
        Section(
            title="Ledger: GiveKudos through core and persistence vs its own SQL, raw",
            about=__doc__ or "",
            rows=rows,
            targets=targets,
            setup=(
                f"Each figure: {ROUNDS} turns each, alternating, of gifts one at a time and of"
                f" {CLIENTS} clients giving concurrently (a giver and receiver pair each)."
            ),
        )
    ]
