"""Engines for SQLite (embedded default) and PostgreSQL, with the transaction rules of DESIGN.md."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_URL = "sqlite+aiosqlite:///./laurel.db"
READONLY = "laurel_readonly"  # execution option: a SQLite transaction that takes no write lock


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str = DEFAULT_URL, **options: Any) -> AsyncEngine:
    if is_sqlite(url):
        return _sqlite_engine(url, **options)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 20)
    options.setdefault("pool_pre_ping", True)
    # Waiting for a connection is how a burst queues: give up only after minutes, not the
    # default 30 s, so a command that was acknowledged is not lost to a busy pool.
    options.setdefault("pool_timeout", 300)
    return create_async_engine(url, **options)


def _sqlite_engine(url: str, **options: Any) -> AsyncEngine:
    # The busy timeout lets writers queue behind BEGIN IMMEDIATE instead of failing.
    options.setdefault("connect_args", {"timeout": 30})
    options.setdefault("pool_timeout", 300)  # as for PostgreSQL: a busy pool is a queue
    engine = create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A plain (deferred) BEGIN that later writes fails with "database is locked"
        # under concurrent writers; IMMEDIATE takes the write lock up front.
        readonly = conn.get_execution_options().get(READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine
