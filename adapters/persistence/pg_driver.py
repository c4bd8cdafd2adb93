"""asyncpg as SQLAlchemy drives it, with the NUL character dropped from every string sent.

PostgreSQL text cannot hold NUL (SQLite can): one typed into a reason, a name or a SCIM
field failed the whole statement with "invalid byte sequence", so people got an apology
instead of an answer. Every parameter passes through the driver's cursor, so the cursor
drops it. (A `before_cursor_execute` listener did this before; any engine listener makes
SQLAlchemy dispatch four events around every statement, which cost more than the check.)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_cursor,
    AsyncAdapt_asyncpg_dbapi,
    AsyncAdapt_asyncpg_ss_cursor,
)
from sqlalchemy.util.concurrency import await_


def without_nul(row: Any) -> Any:
    """One statement's parameters without NUL in any string (the same object if none)."""
    if isinstance(row, tuple | list):
        if _has_nul(row):
            return type(row)(v.replace("\x00", "") if isinstance(v, str) else v for v in row)
    elif isinstance(row, dict) and _has_nul(row.values()):
        return {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in row.items()}
    return row


def many_without_nul(rows: Any) -> Any:
    """An executemany's parameter sets, copied only when one holds a NUL."""
    if any(_has_nul(_values(row)) for row in rows):
        return [without_nul(row) for row in rows]
    return rows


def _values(row: Any) -> Any:
    if isinstance(row, dict):
        return row.values()
    return row if isinstance(row, tuple | list) else ()


def _has_nul(values: Any) -> bool:
    # A plain loop: this runs for every statement sent, and a generator under any()
    # cost more than the check itself.
    for v in values:  # noqa: SIM110
        if isinstance(v, str) and "\x00" in v:
            return True
    return False


class _DropsNul:
    """Both of the adapter's cursors, with every parameter set passed through the rule."""

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        super().execute(operation, without_nul(parameters))  # type: ignore[misc]

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        rows = many_without_nul(seq_of_parameters)
        return super().executemany(operation, rows)  # type: ignore[misc]


class NulFreeCursor(_DropsNul, AsyncAdapt_asyncpg_cursor):
    __slots__ = ()


class NulFreeServerSideCursor(_DropsNul, AsyncAdapt_asyncpg_ss_cursor):
    __slots__ = ()


class NulFreeConnection(AsyncAdapt_asyncpg_connection):
    __slots__ = ()
    _cursor_cls = NulFreeCursor
    _ss_cursor_cls = NulFreeServerSideCursor


class NulFreeDBAPI(AsyncAdapt_asyncpg_dbapi):
    """The DBAPI module handed to create_engine(module=…): SQLAlchemy's asyncpg adapter,
    with the cursors above."""

    def connect(self, *arg: Any, **kw: Any) -> NulFreeConnection:
        creator_fn = kw.pop("async_creator_fn", self.asyncpg.connect)
        adapter_options = {
            name: kw.pop(name)
            for name in ("prepared_statement_cache_size", "prepared_statement_name_func")
            if name in kw
        }
        return await_(NulFreeConnection.create(self, creator_fn(*arg, **kw), **adapter_options))


def dbapi() -> NulFreeDBAPI:
    return NulFreeDBAPI(import_module("asyncpg"))  # type: ignore[no-untyped-call]
