"""The catalog and redemptions, with guarded stock and status changes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.rewards import CatalogItem, ItemKind, Redemption, RedemptionStatus, Variant

from .dialect import insert
from .tables import catalog_items, catalog_variants, redemptions


class SqlCatalog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def put(self, item: CatalogItem) -> None:
        row = {**asdict(item), "kind": item.kind.value}
        del row["variants"]
        stmt = insert(self._conn, catalog_items).values(row)
        changed = {k: v for k, v in row.items() if k != "slug"}
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=["slug"], set_=changed))
        await self._conn.execute(
            sa.delete(catalog_variants).where(catalog_variants.c.item_slug == item.slug)
        )
        if item.variants:
            await self._conn.execute(
                sa.insert(catalog_variants),
                [
                    {"item_slug": item.slug, "name": v.name, "position": i, "stock": v.stock}
                    for i, v in enumerate(item.variants)
                ],
            )

    async def get(self, slug: str) -> CatalogItem | None:
        found = await self._load(catalog_items.c.slug == slug)
        return found[0] if found else None

    async def items(self) -> list[CatalogItem]:
        return await self._load(sa.true())

    async def _load(self, where: sa.ColumnElement[bool]) -> list[CatalogItem]:
        rows = await self._conn.execute(
            sa.select(catalog_items)
            .where(where)
            .order_by(catalog_items.c.price, catalog_items.c.slug)
        )
        items = list(rows.mappings())
        variants: dict[str, list[Variant]] = {}
        if items:
            found = await self._conn.execute(
                sa.select(catalog_variants)
                .where(catalog_variants.c.item_slug.in_([r["slug"] for r in items]))
                .order_by(catalog_variants.c.item_slug, catalog_variants.c.position)
            )
            for v in found.mappings():
                variants.setdefault(v["item_slug"], []).append(Variant(v["name"], v["stock"]))
        return [_item(row, tuple(variants.get(row["slug"], ()))) for row in items]

    async def take_stock(self, slug: str, quantity: int, variant: str | None = None) -> bool:
        """The item's stock and the variant's: if either falls short, the caller's
        transaction is rolled back (it raises OutOfStock), so neither is taken."""
        if variant is not None and not await self._take(
            catalog_variants,
            (catalog_variants.c.item_slug == slug) & (catalog_variants.c.name == variant),
            quantity,
        ):
            return False
        return await self._take(catalog_items, catalog_items.c.slug == slug, quantity)

    async def _take(self, table: sa.Table, where: sa.ColumnElement[bool], quantity: int) -> bool:
        stock = table.c.stock
        done = await self._conn.execute(
            sa.update(table)
            .where(where)
            .where(sa.or_(stock.is_(None), stock >= quantity))
            .values(stock=sa.case((stock.is_(None), None), else_=stock - quantity))
        )
        return done.rowcount == 1

    async def return_stock(self, slug: str, quantity: int, variant: str | None = None) -> None:
        await self._give(catalog_items, catalog_items.c.slug == slug, quantity)
        if variant is not None:
            await self._give(
                catalog_variants,
                (catalog_variants.c.item_slug == slug) & (catalog_variants.c.name == variant),
                quantity,
            )

    async def _give(self, table: sa.Table, where: sa.ColumnElement[bool], quantity: int) -> None:
        stock = table.c.stock
        await self._conn.execute(
            sa.update(table).where(where, stock.is_not(None)).values(stock=stock + quantity)
        )


def _item(row: Any, variants: tuple[Variant, ...]) -> CatalogItem:
    return CatalogItem(**{**row, "kind": ItemKind(row["kind"]), "variants": variants})


class SqlRedemptions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, redemption: Redemption) -> Redemption:
        row = {**asdict(redemption), "status": redemption.status.value}
        del row["id"]
        row["shipping_sealed"] = row.pop("shipping")
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

    async def erase_shipping(self, person_id: int) -> int:
        done = await self._conn.execute(
            sa.update(redemptions)
            .where(redemptions.c.person_id == person_id, redemptions.c.shipping_sealed.is_not(None))
            .values(shipping_sealed=None)
        )
        return int(done.rowcount)

    async def erase_note(self, redemption_id: int) -> None:
        await self._conn.execute(
            sa.update(redemptions).where(redemptions.c.id == redemption_id).values(note="")
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
    fields = {k: v for k, v in row.items() if k != "shipping_sealed"}
    status = RedemptionStatus(row["status"])
    return Redemption(**{**fields, "status": status, "shipping": row["shipping_sealed"]})
