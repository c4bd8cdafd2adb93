"""Gift-card codes: the pool the core reserves from (opaque), and the vault that seals new
codes and opens issued ones for their one delivery.

Codes are sealed with LAUREL_SECRET_KEYS (MultiFernet: a new key put first still opens
codes sealed with the old one). A keyed fingerprint (HMAC of the code) refuses the same
code twice without keeping it readable.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.secrets import SecretBox

from .dialect import insert
from .tables import gift_card_codes as codes
from .tables import redemptions

AVAILABLE, RESERVED, ISSUED = "available", "reserved", "issued"
_LOOKUP = 5_000  # fingerprints per query: a file of codes stays under the drivers' bind limits


class SqlGiftCardPool:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def available(self, item_slug: str) -> int:
        query = sa.select(sa.func.count()).where(
            codes.c.item_slug == item_slug, codes.c.state == AVAILABLE
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def reserve(self, item_slug: str, request_key: str, quantity: int) -> bool:
        """The oldest available codes, locked so that two requests never get the same one."""
        pick = (
            sa.select(codes.c.id)
            .where(codes.c.item_slug == item_slug, codes.c.state == AVAILABLE)
            .order_by(codes.c.id)
            .limit(quantity)
        )
        if self._conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = list((await self._conn.execute(pick)).scalars())
        if len(ids) < quantity:
            return False
        done = await self._conn.execute(
            sa.update(codes)
            .where(codes.c.id.in_(ids), codes.c.state == AVAILABLE)
            .values(state=RESERVED, request_key=request_key)
        )
        return done.rowcount == quantity

    async def issue(self, request_key: str) -> None:
        await self._set(request_key, RESERVED, ISSUED)

    async def release(self, request_key: str) -> None:
        await self._conn.execute(
            sa.update(codes)
            .where(codes.c.request_key == request_key, codes.c.state == RESERVED)
            .values(state=AVAILABLE, request_key=None)
        )

    async def destroy_codes_of(self, person_id: int) -> int:
        """The sealed value becomes empty: no key opens it again. The fingerprint stays,
        so the same code can never be added (and handed out) a second time."""
        theirs = sa.select(redemptions.c.key).where(redemptions.c.person_id == person_id)
        done = await self._conn.execute(
            sa.update(codes)
            .where(codes.c.request_key.in_(theirs), codes.c.state == ISSUED, codes.c.sealed != "")
            .values(sealed="")
        )
        return int(done.rowcount)

    async def _set(self, request_key: str, was: str, now: str) -> None:
        await self._conn.execute(
            sa.update(codes)
            .where(codes.c.request_key == request_key, codes.c.state == was)
            .values(state=now)
        )


class GiftCardVault:
    """Adding codes (sealed) and opening the ones issued to a request, once."""

    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    @property
    def box(self) -> SecretBox:
        """The keys, for the other secrets laurel seals (shipping addresses)."""
        return self._box

    async def add(self, item_slug: str, plain_codes: list[str]) -> int:
        """Seal and add codes; ones already known (under any configured key) are skipped.
        Returns how many were added."""
        now = datetime.now(UTC)
        wanted = {code.strip(): self._box.fingerprints(code.strip()) for code in plain_codes}
        wanted.pop("", None)
        if not wanted:
            return 0
        every = [f for prints in wanted.values() for f in prints]
        async with self._engine.begin() as conn:
            known = await _known(conn, every)
            rows = [
                {
                    "item_slug": item_slug,
                    "sealed": self._box.seal(code),
                    "fingerprint": prints[0],
                    "state": AVAILABLE,
                    "added_at": now,
                }
                for code, prints in wanted.items()
                if not known.intersection(prints)
            ]
            if not rows:
                return 0
            stmt = insert(conn, codes).on_conflict_do_nothing(index_elements=["fingerprint"])
            done = await conn.execute(stmt.returning(codes.c.id), rows)
            return len(done.all())

    async def open_issued(self, request_key: str) -> list[str]:
        """The codes issued to this request that were never delivered, opened; they count
        as delivered only once the caller confirms with `delivered`."""
        query = sa.select(codes.c.sealed).where(
            codes.c.request_key == request_key,
            codes.c.state == ISSUED,
            codes.c.delivered_at.is_(None),
            codes.c.sealed != "",  # destroyed by an erasure
        )
        async with self._engine.connect() as conn:
            sealed = list((await conn.execute(query.order_by(codes.c.id))).scalars())
        return [self._box.open(s) for s in sealed]

    async def delivered(self, request_key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(codes)
                .where(codes.c.request_key == request_key, codes.c.state == ISSUED)
                .values(delivered_at=datetime.now(UTC))
            )


async def _known(conn: AsyncConnection, fingerprints: list[str]) -> set[str]:
    """Those of the fingerprints already in a pool."""
    found: set[str] = set()
    for start in range(0, len(fingerprints), _LOOKUP):
        part = fingerprints[start : start + _LOOKUP]
        query = sa.select(codes.c.fingerprint).where(codes.c.fingerprint.in_(part))
        found.update((await conn.execute(query)).scalars())
    return found
