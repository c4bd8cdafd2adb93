"""Files offered to a person and not yet accepted or declined (a Teams file consent card).

A file is taken exactly once: the row is deleted by the click that delivers it, and a
second click (or the same click on another replica) finds nothing. The bytes are sealed
with the secret box when there is one: an export holds personal data.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.secrets import SecretBox, SecretsUnavailable

from .tables import pending_files

KEEP = timedelta(hours=24)  # an offer nobody answered is forgotten after this


@dataclass(frozen=True, slots=True)
class PendingFile:
    id: int
    token: str
    person_id: int
    name: str
    mime: str
    stored: bytes  # as kept: sealed when `sealed` (see PendingFiles.content)
    sealed: bool


def _now() -> datetime:
    return datetime.now(UTC)


class PendingFiles:
    def __init__(
        self,
        engine: AsyncEngine,
        box: SecretBox | None = None,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self._engine = engine
        self._box = box
        self._now = now

    async def put(self, person_id: int, name: str, mime: str, content: bytes) -> str:
        """Keep the file for the person and return its token; stale offers go meanwhile."""
        token = secrets.token_urlsafe(24)
        now = self._now()
        stored = self._box.seal_bytes(content) if self._box else content
        async with self._engine.begin() as conn:
            await conn.execute(
                pending_files.delete().where(pending_files.c.created_at < now - KEEP)
            )
            await conn.execute(
                pending_files.insert().values(
                    token=token,
                    person_id=person_id,
                    name=name,
                    mime=mime,
                    content=stored,
                    sealed=self._box is not None,
                    created_at=now,
                )
            )
        return token

    async def get(self, token: str) -> PendingFile | None:
        """The file offered under `token`, unless it was taken, declined or is stale."""
        query = sa.select(pending_files).where(
            pending_files.c.token == token, pending_files.c.created_at >= self._now() - KEEP
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        return PendingFile(
            id=row.id,
            token=row.token,
            person_id=row.person_id,
            name=row.name,
            mime=row.mime,
            stored=bytes(row.content),
            sealed=row.sealed,
        )

    def content(self, file: PendingFile) -> bytes:
        """The file's bytes as offered; SecretsUnavailable when no configured key opens them."""
        if not file.sealed:
            return file.stored
        if self._box is None:
            raise SecretsUnavailable("a sealed file, and LAUREL_SECRET_KEYS is not set")
        return self._box.open_bytes(file.stored)

    async def take(self, file_id: int) -> bool:
        """Delete the offer; True for the one caller that deleted it."""
        async with self._engine.begin() as conn:
            done = await conn.execute(pending_files.delete().where(pending_files.c.id == file_id))
        return done.rowcount == 1
