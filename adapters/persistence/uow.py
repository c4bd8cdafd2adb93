"""The SQL unit of work: one connection, one transaction, repositories bound to it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.errors import StoreDisconnected, TooLong, TransientStoreError
from core.ports import UnitOfWork

from .admin_changes import SqlAdminChanges
from .analytics import SqlAnalytics
from .audit import SqlAuditLog
from .config import ConfigCache, SqlConfig
from .decisions import SqlDecisions
from .engine import READONLY
from .gift_cards import SqlGiftCardPool
from .giving import SqlDailyGiving
from .ledger import SqlLedger
from .people import SqlPeople
from .platform_records import SqlPlatformRecords
from .recognitions import SqlRecognitions
from .rewards import SqlCatalog, SqlRedemptions
from .runs import SqlJobRuns
from .stats import SqlStats

# deadlock_detected, serialization_failure: PostgreSQL says "try again"
_RETRYABLE_SQLSTATES = {"40P01", "40001"}


def is_too_long(error: BaseException) -> bool:
    """string_data_right_truncation: a value longer than its column (PostgreSQL only)."""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) == "22001"


def is_transient(error: BaseException) -> bool:
    if not isinstance(error, DBAPIError):
        return False
    code = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if code in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(error.orig)


class SqlUnitOfWork(UnitOfWork):
    def __init__(
        self, engine: AsyncEngine, *, readonly: bool = False, cache: ConfigCache | None = None
    ) -> None:
        super().__init__()
        self._engine = engine
        self._cache = cache or ConfigCache()
        self._readonly = readonly
        self._conn: AsyncConnection | None = None

    async def begin(self) -> None:
        conn = await self._engine.connect()
        try:
            if self._readonly:
                await conn.execution_options(**self._readonly_options(conn))
            await conn.begin()
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self.people = SqlPeople(conn)
        self.ledger = SqlLedger(conn)
        self.recognitions = SqlRecognitions(conn)
        self.stats = SqlStats(conn)
        self.giving = SqlDailyGiving(conn)
        self.config = SqlConfig(conn, self._cache)
        self.decisions = SqlDecisions(conn)
        self.runs = SqlJobRuns(conn)
        self.catalog = SqlCatalog(conn)
        self.redemptions = SqlRedemptions(conn)
        self.gift_cards = SqlGiftCardPool(conn)
        self.analytics = SqlAnalytics(conn)
        self.audit = SqlAuditLog(conn)
        self.admin_changes = SqlAdminChanges(conn)
        self.platform_records = SqlPlatformRecords(conn)

    @staticmethod
    def _readonly_options(conn: AsyncConnection) -> dict[str, object]:
        """On PostgreSQL, reads run without BEGIN and ROLLBACK (two round trips less): each
        statement of a READ COMMITTED transaction takes a new snapshot anyway, so they see
        the same. SQLite's reads start a deferred transaction (engine.py)."""
        if conn.dialect.name == "postgresql":
            return {READONLY: True, "isolation_level": "AUTOCOMMIT"}
        return {READONLY: True}

    async def commit(self) -> None:
        assert self._conn is not None, "commit outside a unit of work"
        try:
            await self._conn.commit()
        except DBAPIError as error:
            if error.connection_invalidated:  # it may have committed all the same
                raise StoreDisconnected(str(error.orig)) from error
            if is_transient(error):
                raise TransientStoreError(str(error.orig)) from error
            raise

    async def rollback(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if conn.in_transaction():  # after a commit there is nothing to undo
                    await conn.rollback()
            finally:
                await conn.close()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()
        if exc is not None and (is_transient(exc) or _lost_during_work(exc)):
            raise TransientStoreError(str(exc)) from exc
        if exc is not None and is_too_long(exc):  # found by the admin-command fuzzer
            raise TooLong() from exc


def _lost_during_work(error: BaseException) -> bool:
    """The connection died before the commit was sent: nothing landed, so any command
    may run again (a loss during the commit is `StoreDisconnected`, see commit)."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.config_cache = ConfigCache()  # shared by every unit of work of this process

    def __call__(self, *, readonly: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, readonly=readonly, cache=self.config_cache)
