"""The audit log in SQL: appends that never fork the chain, and its verification.

An append reads the newest row's hash and inserts the next row inside the caller's
transaction, so that a change rolled back leaves no row. Two appends must not read the same
newest row: on PostgreSQL a transaction-level advisory lock queues them (held until commit
or rollback); on SQLite every writing transaction starts with BEGIN IMMEDIATE (engine.py),
which already lets one writer at a time in.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.audit import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    AuditVerdict,
    ChainCheck,
    chain_hash,
    state_json,
)

from .engine import READONLY
from .tables import audit_log

__all__ = ["AuditVerdict", "SqlAuditLog", "UnreadableRow", "verify_chain"]

# The scheduler's advisory locks are keyed the same way (crc32 of "laurel:<name>").
_LOCK_KEY = zlib.crc32(b"laurel:audit_log")
BATCH = 1000

Progress = Callable[[int, int], None]  # (rows checked, rows in the log)


class SqlAuditLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def append(self, entry: AuditEntry) -> AuditRecord:
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        newest = sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
        prev_hash = (await self._conn.execute(newest)).scalar_one_or_none() or GENESIS
        digest = chain_hash(prev_hash, entry)
        row = {
            "at": entry.at,
            "actor_id": entry.actor_id,
            "action": entry.action,
            "subject": entry.subject,
            "platform": entry.platform,
            "before_json": state_json(entry.before),
            "after_json": state_json(entry.after),
            "prev_hash": prev_hash,
            "hash": digest,
        }
        stmt = sa.insert(audit_log).values(row).returning(audit_log.c.id)
        record_id = (await self._conn.execute(stmt)).scalar_one()
        return AuditRecord(id=int(record_id), entry=entry, prev_hash=prev_hash, hash=digest)

    async def since(self, at: datetime | None, *, limit: int) -> list[AuditRecord]:
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if at is not None:
            query = query.where(audit_log.c.at >= at)
        rows = await self._conn.execute(query)
        return [_record(row) for row in rows.mappings()]


async def verify_chain(engine: AsyncEngine, progress: Progress | None = None) -> AuditVerdict:
    """Walk the whole log in id order, a batch at a time (memory stays flat for millions of
    rows), and stop at the first row that does not fit the chain."""
    check = ChainCheck()
    async with engine.connect() as conn:
        await conn.execution_options(**{READONLY: True})  # SQLite: no write lock meanwhile
        total = (await conn.execute(sa.select(sa.func.count()).select_from(audit_log))).scalar()
        last_id = 0
        while not check.broken:
            batch = await _batch(conn, last_id)
            if not batch:
                break
            _check(check, batch)
            last_id = batch[-1]["id"]
            if progress is not None:
                progress(check.checked, max(int(total or 0), check.checked))
    return check.verdict()


async def _batch(conn: AsyncConnection, after_id: int) -> list[sa.RowMapping]:
    query = (
        sa.select(audit_log).where(audit_log.c.id > after_id).order_by(audit_log.c.id).limit(BATCH)
    )
    return list((await conn.execute(query)).mappings())


def _check(check: ChainCheck, rows: list[sa.RowMapping]) -> None:
    for row in rows:
        try:
            record = _record(row)
        except UnreadableRow:
            check.unreadable(row["id"])
            return
        if not check.add(record):
            return


class UnreadableRow(ValueError):
    """A row whose stored state is not the JSON laurel wrote: it was edited by hand."""

    def __init__(self, row_id: int) -> None:
        super().__init__(f"audit row {row_id} cannot be read back (edited by hand?)")
        self.row_id = row_id


def _record(row: sa.RowMapping) -> AuditRecord:
    try:
        entry = AuditEntry(
            actor_id=row["actor_id"],
            action=row["action"],
            subject=row["subject"],
            at=row["at"],
            before=_state(row["before_json"]),
            after=_state(row["after_json"]),
            platform=row["platform"],
        )
    except (ValueError, TypeError) as error:
        raise UnreadableRow(row["id"]) from error
    return AuditRecord(id=row["id"], entry=entry, prev_hash=row["prev_hash"], hash=row["hash"])


def _state(text: str | None) -> dict[str, Any] | None:
    """The stored JSON object; anything else, or the same object spelt differently from
    how laurel writes it, is refused (ValueError)."""
    if text is None:
        return None
    loaded = json.loads(text)
    if not isinstance(loaded, dict) or state_json(loaded) != text:
        raise ValueError("not an audit state as laurel writes it")
    return loaded
