"""What every benchmark needs: fresh databases, the machine's description, timing helpers."""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine

PG_URL = os.environ.get("LAUREL_BENCH_PG_URL") or os.environ.get("LAUREL_TEST_PG_URL")


def engines() -> list[str]:
    return ["sqlite", "pg"] if PG_URL else ["sqlite"]


@asynccontextmanager
async def fresh_engine(kind: str) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database: a temporary SQLite file or a new PostgreSQL schema."""
    if kind == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db")
        schema = None
    else:
        assert PG_URL
        schema = f"laurel_bench_{uuid.uuid4().hex[:10]}"
        dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(False)
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.close()
        engine = create_engine(
            PG_URL, connect_args={"server_settings": {"search_path": schema}}, pool_size=40
        )
    try:
        await migrate.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        if schema:
            conn = await asyncpg.connect(dsn)
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            await conn.close()


def machine() -> str:
    cpus = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.processor() or platform.machine()}, {cpus} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def median(samples: list[float]) -> float:
    return statistics.median(samples)
