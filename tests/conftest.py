"""Backends for tests: in-memory fakes, SQLite in a temporary file, PostgreSQL in a fresh schema.

PostgreSQL tests read LAUREL_TEST_PG_URL and are skipped without it (`.ci/run` sets it).
Every PostgreSQL test gets its own schema, created and dropped around it, so runs never
interfere with each other or with a developer's data.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.ports import UnitOfWorkFactory

from .fakes import FakeUnitOfWorkFactory
from .harness import Harness

PG_URL = os.environ.get("LAUREL_TEST_PG_URL")
needs_pg = pytest.mark.skipif(not PG_URL, reason="LAUREL_TEST_PG_URL is not set")
SLOW = os.environ.get("LAUREL_SLOW") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tier (`@pytest.mark.slow`: the torture and fault suites' long versions) runs
    only with LAUREL_SLOW=1; see docs/operations.md, "Torture and fault suites"."""
    if SLOW:
        return
    skip = pytest.mark.skip(reason="slow tier: run with LAUREL_SLOW=1 (docs/operations.md)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def new_pg_schema() -> str:
    """A fresh, empty schema on PG_URL's database (drop_pg_schema removes it)."""
    assert PG_URL
    schema = f"laurel_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_dsn(PG_URL))
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return schema


async def pg_schema_engine(**options: object) -> tuple[AsyncEngine, str]:
    assert PG_URL
    schema = await new_pg_schema()
    engine = create_engine(
        PG_URL, connect_args={"server_settings": {"search_path": schema}}, **options
    )
    return engine, schema


async def drop_pg_schema(schema: str) -> None:
    assert PG_URL
    conn = await asyncpg.connect(_dsn(PG_URL))
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@asynccontextmanager
async def migrated_engine(kind: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A fresh, migrated database of `kind` ("sqlite" or "pg"), removed afterwards."""
    if kind == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/laurel.db")
        schema = None
    else:
        if not PG_URL:
            pytest.skip("LAUREL_TEST_PG_URL is not set")
        engine, schema = await pg_schema_engine(pool_size=20, max_overflow=20)
    try:
        await migrate.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        if schema:
            await drop_pg_schema(schema)


@pytest.fixture(params=["sqlite", "pg"])
async def sql_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A fresh database on each real engine."""
    async with migrated_engine(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
def sql_uow(sql_engine: AsyncEngine) -> UnitOfWorkFactory:
    return SqlUnitOfWorkFactory(sql_engine)


@pytest.fixture(params=["fake", "sqlite", "pg"])
async def any_uow(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory]:
    """The same test on the in-memory fakes and on both engines."""
    if request.param == "fake":
        yield FakeUnitOfWorkFactory()
        return
    async with migrated_engine(request.param, tmp_path) as engine:
        yield SqlUnitOfWorkFactory(engine)


@pytest.fixture
def fake() -> Harness:
    return Harness(FakeUnitOfWorkFactory())


@pytest.fixture
def world(any_uow: UnitOfWorkFactory) -> Harness:
    return Harness(any_uow)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything laurel logs at DEBUG, with the SDKs held at WARNING as `laurel serve` does."""
    from bot.logs import CHATTY, hush_sdks

    hush_sdks()
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET)
