"""What the platform adapters keep about a person outside the core's tables, for erasure:
queued messages, SCIM's records, and platform ids quoted inside idempotency keys."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.privacy import scrub_key

from .tables import (
    directory_group_members,
    outbox,
    pending_files,
    processed_events,
    recognitions,
    scim_users,
    transfers,
)

# Tables whose rows belong to one person and go with them (a pending file is an export
# offered to them: it may hold anyone's data, and it is theirs to accept).
_OWNED = (outbox, scim_users, directory_group_members, pending_files)
# Tables whose idempotency keys may quote a platform id (a Slack reaction's names the
# reactor); a transfer's key repeats its recognition's ("kudos:<key>", "revoke:<key>").
_KEYED = (recognitions, transfers)


class SqlPlatformRecords:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def forget(self, person_id: int) -> int:
        gone = 0
        for table in _OWNED:
            done = await self._conn.execute(sa.delete(table).where(table.c.person_id == person_id))
            gone += int(done.rowcount)
        # Channel messages (announcements, celebrations, digests) kept through an outage
        # belong to no one and may name anyone: rare and short-lived, they go too rather
        # than be searched for her name (not counted: they are not her records).
        await self._conn.execute(sa.delete(outbox).where(outbox.c.person_id.is_(None)))
        return gone

    async def scrub_ids(self, ids: frozenset[str], replacement: str) -> int:
        """Keys keep their shape (the id becomes `replacement`), so they stay unique."""
        changed = 0
        for table in _KEYED:
            for row_id, key in await self._quoting(table, table.c.key, table.c.id, ids):
                scrubbed = scrub_key(key, ids, replacement)
                if scrubbed != key:
                    await self._conn.execute(
                        sa.update(table).where(table.c.id == row_id).values(key=scrubbed)
                    )
                    changed += 1
        events = processed_events.c
        for source, event_id in await self._quoting(
            processed_events, events.event_id, events.source, ids
        ):
            if scrub_key(event_id, ids, replacement) != event_id:
                await self._conn.execute(
                    sa.delete(processed_events).where(
                        events.source == source, events.event_id == event_id
                    )
                )
                changed += 1
        return changed

    async def _quoting(
        self,
        table: sa.Table,
        text: sa.ColumnElement[Any],
        ident: sa.ColumnElement[Any],
        ids: frozenset[str],
    ) -> list[tuple[object, str]]:
        """Rows whose `text` contains one of the ids anywhere (a narrowing LIKE; the caller
        then matches whole key parts only)."""
        anywhere = sa.or_(*(text.contains(i, autoescape=True) for i in sorted(ids)))
        rows = await self._conn.execute(sa.select(ident, text).select_from(table).where(anywhere))
        return [(a, str(b)) for a, b in rows]
