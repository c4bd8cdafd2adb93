"""Tokens of the read API (/api/v1): the secret is shown once, only its SHA-256 is kept.

A token grants exactly the scopes stored with it. Each method is one short transaction on
the engine; lookups run in a read-only one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .dialect import insert
from .engine import READONLY
from .tables import api_tokens

PREFIX = "lrl_"  # recognisable in a leaked file or a secret scanner's rules


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    id: int
    name: str
    scopes: frozenset[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenNameTaken(Exception):
    """A token (live or revoked) already has that name."""


@asynccontextmanager
async def read_only(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that takes no write lock (see engine.READONLY)."""
    async with engine.connect() as conn:
        await conn.execution_options(**{READONLY: True})
        async with conn.begin():
            yield conn


class ApiTokens:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, name: str, scopes: Collection[str], *, at: datetime) -> str:
        """Store a new token and return its secret, which is not kept anywhere."""
        if not scopes:
            raise ValueError("a token needs at least one scope")
        secret = new_secret()
        async with self._engine.begin() as conn:
            stmt = (
                insert(conn, api_tokens)
                .values(
                    name=name,
                    token_hash=digest(secret),
                    scopes=",".join(sorted(set(scopes))),
                    created_at=at,
                )
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(api_tokens.c.id)
            )
            if (await conn.execute(stmt)).first() is None:
                raise TokenNameTaken(name)
        return secret

    async def listing(self) -> list[ApiToken]:
        async with read_only(self._engine) as conn:
            rows = await conn.execute(sa.select(api_tokens).order_by(api_tokens.c.name))
            return [_token(row) for row in rows.mappings()]

    async def revoke(self, name: str, *, at: datetime) -> bool:
        """True when a live token of that name was revoked now."""
        async with self._engine.begin() as conn:
            done = await conn.execute(
                sa.update(api_tokens)
                .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            return done.rowcount == 1

    async def authenticate(self, secret: str) -> ApiToken | None:
        """The live token with this secret, or None (unknown or revoked)."""
        wanted = digest(secret)
        async with read_only(self._engine) as conn:
            query = sa.select(api_tokens).where(api_tokens.c.token_hash == wanted)
            row = (await conn.execute(query)).mappings().first()
        # The index lookup only sees a hash of the secret; compare in constant time anyway.
        if row is None or not hmac.compare_digest(row["token_hash"], wanted):
            return None
        token = _token(row)
        return None if token.revoked_at is not None else token

    async def touch(self, token_id: int, *, at: datetime, every: timedelta) -> None:
        """Record a use, unless one was recorded less than `every` ago (by any process)."""
        recent = api_tokens.c.last_used_at > at - every
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(api_tokens)
                .where(api_tokens.c.id == token_id)
                .where(sa.or_(api_tokens.c.last_used_at.is_(None), sa.not_(recent)))
                .values(last_used_at=at)
            )


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row["id"],
        name=row["name"],
        scopes=frozenset(s for s in row["scopes"].split(",") if s),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )
