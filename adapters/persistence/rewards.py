"""The catalog and redemptions, with guarded stock and status changes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.rewards import CatalogItem, ItemKind, Redemption, RedemptionStatus

from .dialect import insert
from .tables import catalog_items, redemptions


class SqlCatalog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def put(self, item: CatalogItem) -> None:
        row = {**asdict(item), "kind": item.kind.value}
        stmt = insert(self._conn, catalog_items).values(row)
        changed = {k: v for k, v in row.items() if k != "slug"}
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=["slug"], set_=changed))

    async def get(self, slug: str) -> CatalogItem | None:
        row = (
            (await self._conn.execute(sa.select(catalog_items).where(catalog_items.c.slug == slug)))
            .mappings()
            .first()
        )
        return _item(row) if row else None

    async def items(self) -> list[CatalogItem]:
        rows = await self._conn.execute(
            sa.select(catalog_items).order_by(catalog_items.c.price, catalog_items.c.slug)
        )
        return [_item(row) for row in rows.mappings()]

    async def take_stock(self, slug: str, quantity: int) -> bool:
        stock = catalog_items.c.stock
        done = await self._conn.execute(
            sa.update(catalog_items)
            .where(catalog_items.c.slug == slug)
            .where(sa.or_(stock.is_(None), stock >= quantity))
            .values(stock=sa.case((stock.is_(None), None), else_=stock - quantity))
        )
        return done.rowcount == 1

    async def return_stock(self, slug: str, quantity: int) -> None:
        stock = catalog_items.c.stock
        await self._conn.execute(
            sa.update(catalog_items)
            .where(catalog_items.c.slug == slug, stock.is_not(None))
            .values(stock=stock + quantity)
        )


def _item(row: Any) -> CatalogItem:
    return CatalogItem(**{**row, "kind": ItemKind(row["kind"])})


class SqlRedemptions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, redemption: Redemption) -> Redemption:
        row = {**asdict(redemption), "status": redemption.status.value}
        del row["id"]
        new_id = (
            await self._conn.execute(sa.insert(redemptions).values(row).returning(redemptions.c.id))
        ).scalar_one()
        found = await self.get(int(new_id))
        assert found is not None
        return found

    async def get(self, redemption_id: int) -> Redemption | None:
        return await self._one(redemptions.c.id == redemption_id)

    async def by_key(self, key: str) -> Redemption | None:
        return await self._one(redemptions.c.key == key)

    async def _one(self, where: sa.ColumnElement[bool]) -> Redemption | None:
        row = (await self._conn.execute(sa.select(redemptions).where(where))).mappings().first()
        return _redemption(row) if row else None

    async def close(
        self, redemption_id: int, status: RedemptionStatus, *, at: datetime, note: str
    ) -> bool:
        done = await self._conn.execute(
            sa.update(redemptions)
            .where(redemptions.c.id == redemption_id)
            .where(redemptions.c.status == RedemptionStatus.PENDING.value)
            .values(status=status.value, decided_at=at, note=note)
        )
        return done.rowcount == 1

    async def of_person(self, person_id: int, *, limit: int) -> list[Redemption]:
        query = (
            sa.select(redemptions)
            .where(redemptions.c.person_id == person_id)
            .order_by(redemptions.c.id.desc())
            .limit(limit)
        )
        return await self._many(query)

    async def pending_for(self, approver_id: int) -> list[Redemption]:
        query = (
            sa.select(redemptions)
            .where(redemptions.c.approver_id == approver_id)
            .where(redemptions.c.status == RedemptionStatus.PENDING.value)
            .order_by(redemptions.c.id)
        )
        return await self._many(query)

    async def pending(self) -> list[Redemption]:
        query = (
            sa.select(redemptions)
            .where(redemptions.c.status == RedemptionStatus.PENDING.value)
            .order_by(redemptions.c.id)
        )
        return await self._many(query)

    async def approved(
        self, item_slugs: list[str], since: datetime, until: datetime
    ) -> list[Redemption]:
        query = (
            sa.select(redemptions)
            .where(redemptions.c.status == RedemptionStatus.APPROVED.value)
            .where(redemptions.c.item_slug.in_(item_slugs))
            .where(redemptions.c.decided_at >= since, redemptions.c.decided_at < until)
            .order_by(redemptions.c.decided_at, redemptions.c.id)
        )
        return await self._many(query)

    async def reroute(self, redemption_id: int, approver_id: int) -> None:
        await self._conn.execute(
            sa.update(redemptions)
            .where(redemptions.c.id == redemption_id)
            .values(approver_id=approver_id)
        )

    async def _many(self, query: sa.Select[Any]) -> list[Redemption]:
        return [_redemption(row) for row in (await self._conn.execute(query)).mappings()]

    async def units_since(self, person_id: int, item_slug: str, since: datetime) -> int:
        counted = (RedemptionStatus.PENDING.value, RedemptionStatus.APPROVED.value)
        total = await self._conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(redemptions.c.quantity), 0))
            .where(redemptions.c.person_id == person_id)
            .where(redemptions.c.item_slug == item_slug)
            .where(redemptions.c.created_at >= since)
            .where(redemptions.c.status.in_(counted))
        )
        return int(total.scalar_one())


def _redemption(row: Any) -> Redemption:
    return Redemption(**{**row, "status": RedemptionStatus(row["status"])})
