"""What every benchmark needs: sizes, fresh databases, the machine, timing helpers, and the
shape of a result (a section of docs/benchmarks.md with its baseline, ratio and targets)."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine

PG_URL = os.environ.get("LAUREL_BENCH_PG_URL") or os.environ.get("LAUREL_TEST_PG_URL")
LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class Options:
    """How a run was asked for: `quick` shrinks every size for a smoke run."""

    quick: bool = False
    profile: Path | None = None  # py-spy profiles of the servers under load go here
    doc: Path | None = None  # the report to rewrite (docs/benchmarks.md)

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass(frozen=True)
class Target:
    """One of the Proof issue's targets, and what this run measured against it."""

    goal: str  # "laurel/baseline ≥ 0.5 at 32 clients"
    measured: str  # "0.09"
    met: bool


@dataclass
class Section:
    """One section of docs/benchmarks.md: what was measured against which baseline."""

    title: str
    about: str  # what is measured, and the baseline it is measured against
    rows: list[dict[str, str]]
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts of this run worth a line
    setup: str = ""  # databases, sizes: printed under the table with the machine


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else 0.0


def engines() -> list[str]:
    return ["sqlite", "pg"] if PG_URL else ["sqlite"]


def asyncpg_dsn(url: str | URL) -> str:
    """An asyncpg DSN for a SQLAlchemy URL (drivername without +asyncpg)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Store:
    """A migrated, empty database, and how to reach it without SQLAlchemy."""

    kind: str  # "sqlite" | "pg"
    engine: AsyncEngine
    url: str  # SQLAlchemy URL
    path: str = ""  # the SQLite file
    schema: str = ""  # the PostgreSQL schema (search_path)

    def twin(self) -> AsyncEngine:
        """Another engine on the same database (the caller disposes of it)."""
        if self.kind == "sqlite":
            return create_engine(self.url)
        args = {"server_settings": {"search_path": self.schema}}
        return create_engine(self.url, connect_args=args)

    async def raw_pg(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            asyncpg_dsn(self.url), server_settings={"search_path": self.schema}
        )
        return conn


@asynccontextmanager
async def fresh_store(kind: str, **engine_options: object) -> AsyncIterator[Store]:
    """A temporary SQLite file or a new PostgreSQL schema, migrated; dropped afterwards."""
    if kind == "sqlite":
        path = f"{tempfile.mkdtemp(prefix='laurel-bench-')}/bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        store = Store(kind, create_engine(url, **engine_options), url, path=path)
    else:
        assert PG_URL, "PostgreSQL benchmarks need LAUREL_BENCH_PG_URL or LAUREL_TEST_PG_URL"
        schema = f"laurel_bench_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(asyncpg_dsn(PG_URL))
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        await admin.close()
        options = {"pool_size": 40, **engine_options}
        args = {"server_settings": {"search_path": schema}}
        engine = create_engine(PG_URL, connect_args=args, **options)
        store = Store(kind, engine, PG_URL, schema=schema)
    try:
        await migrate.upgrade(store.engine)
        yield store
    finally:
        await store.engine.dispose()
        if store.schema:
            admin = await asyncpg.connect(asyncpg_dsn(PG_URL or ""))
            await admin.execute(f'DROP SCHEMA "{store.schema}" CASCADE')
            await admin.close()
        if store.path:
            shutil.rmtree(Path(store.path).parent, ignore_errors=True)


@asynccontextmanager
async def fresh_engine(kind: str) -> AsyncIterator[AsyncEngine]:
    async with fresh_store(kind) as store:
        yield store.engine


def machine() -> str:
    cpus = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{_cpu_model()}, {cpus} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def revision(root: Path) -> str:
    """The commit measured, and whether the tree had changes on top of it."""
    try:
        head = _git(root, "rev-parse", "--short", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return f"laurel from {root} (not a git checkout)"
    return f"laurel at {head}" + (" with uncommitted changes" if dirty else "")


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


async def database_versions() -> str:
    versions = [f"SQLite {sqlite3.sqlite_version}"]
    if PG_URL:
        conn = await asyncpg.connect(asyncpg_dsn(PG_URL))
        try:
            settings = await conn.fetchrow(
                "SELECT current_setting('server_version') AS v,"
                " current_setting('shared_buffers') AS b,"
                " current_setting('synchronous_commit') AS s"
            )
        finally:
            await conn.close()
        assert settings is not None
        versions.append(
            f"PostgreSQL {settings['v']} on {LOCALHOST} (shared_buffers {settings['b']},"
            f" synchronous_commit {settings['s']})"
        )
    return "; ".join(versions)


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else 0.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds * 1000:,.0f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def count(n: int) -> str:
    """1,000,000 -> "1M"; 100,000 -> "100k"; smaller numbers with separators."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 10_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"
