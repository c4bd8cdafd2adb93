"""Engines for SQLite (embedded default) and PostgreSQL, with the transaction rules of DESIGN.md."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from . import pg_driver, sqlite_driver

DEFAULT_URL = "sqlite+aiosqlite:///./laurel.db"
READONLY = "laurel_readonly"  # execution option: a SQLite transaction that takes no write lock


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str = DEFAULT_URL, **options: Any) -> AsyncEngine:
    if is_sqlite(url):
        return _sqlite_engine(url, **options)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 20)
    ping = options.pop("pool_pre_ping", True)  # ours, below: one round trip, not three
    # Waiting for a connection is how a burst queues: give up only after minutes, not the
    # default 30 s, so a command that was acknowledged is not lost to a busy pool.
    options.setdefault("pool_timeout", 300)
    asyncpg = make_url(url).get_driver_name() == "asyncpg"
    if asyncpg:
        options.setdefault("module", pg_driver.dbapi())  # drops NUL from strings sent
    engine = create_async_engine(url, **options)
    if not asyncpg:
        event.listen(engine.sync_engine, "before_cursor_execute", _drop_nul, retval=True)
    if ping:
        event.listen(engine.sync_engine.pool, "checkout", _ping)
    return engine


def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Every connection taken from the pool is checked first, so one that died (a restart,
    a failover, a terminated backend) is replaced instead of failing a command.

    SQLAlchemy's `pool_pre_ping` does this for asyncpg inside BEGIN … ROLLBACK: three round
    trips at every checkout, a third of those a gift made. Here: one statement outside a
    transaction. A dead connection raises DisconnectionError, on which the pool drops it
    and connects anew."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as error:
        raise sa.exc.DisconnectionError(f"pre-ping failed: {error!r}") from error
    finally:
        dbapi_connection.autocommit = autocommit


def _drop_nul(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
) -> tuple[str, Any]:
    """pg_driver's NUL rule, for a PostgreSQL driver other than asyncpg."""
    if many:
        return statement, pg_driver.many_without_nul(parameters)
    return statement, pg_driver.without_nul(parameters)


def _sqlite_engine(url: str, **options: Any) -> AsyncEngine:
    # The busy timeout lets writers queue behind BEGIN IMMEDIATE instead of failing.
    options.setdefault("connect_args", {"timeout": 30})
    options.setdefault("pool_timeout", 300)  # as for PostgreSQL: a busy pool is a queue
    if make_url(url).get_driver_name() == "aiosqlite":
        options.setdefault("module", sqlite_driver.dbapi())  # one thread hop per statement
    # Resetting a returned connection is a ROLLBACK, a hop to aiosqlite's thread, after
    # every unit of work, though nearly all have committed or rolled back already: _reset
    # rolls back only a connection still in a transaction.
    options.setdefault("pool_reset_on_return", None)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "reset", _reset)

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


def _reset(dbapi_connection: Any, _record: Any, state: Any) -> None:
    """The pool's reset of a returned SQLite connection (pool_reset_on_return=None): what
    the default does, a ROLLBACK, but only while a transaction is open, which sqlite3
    knows without a trip to the driver's thread (isolation_level None: only BEGIN opens
    one). Nearly every connection comes back committed or rolled back already."""
    if state.terminate_only or not state.asyncio_safe:  # as the default reset does
        return
    try:
        open_transaction = dbapi_connection.driver_connection.in_transaction
    except ValueError:  # aiosqlite: the connection is closed, so nothing is open
        return
    if open_transaction:
        dbapi_connection.rollback()
