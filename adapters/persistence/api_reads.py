"""What the read API (/api/v1) lists: pages in id order and plain SQL aggregates.

Pages are keyset pages (`id > after ORDER BY id LIMIT n`): a client walking them sees
every row once even while new rows arrive, and a deep page costs what the first one does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.ledger import AccountKind
from core.people import Person
from core.recognition import ALL_VALUES, StatRole

from .people import SqlPeople
from .tables import accounts, catalog_items, people, recognitions, redemptions, totals
from .tables import recognition_receivers as receivers
from .uow import SqlUnitOfWork, SqlUnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Window:
    """[since, until): either end may be open."""

    since: datetime | None = None
    until: datetime | None = None

    def where(self, column: Any) -> sa.ColumnElement[bool]:
        bounds: list[sa.ColumnElement[bool]] = []
        if self.since is not None:
            bounds.append(column >= self.since)
        if self.until is not None:
            bounds.append(column < self.until)
        return sa.and_(sa.true(), *bounds)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecognitionRow:
    id: int
    giver_id: int
    receiver_ids: tuple[int, ...]
    amount: int  # to each receiver
    values: tuple[str, ...]
    reason: str
    created_at: datetime
    revoked: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceRow:
    person_id: int
    earned: int
    held: int
    lifetime_received: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RedemptionRow:
    id: int
    person_id: int
    item_slug: str
    item_name: str
    item_kind: str
    quantity: int
    points: int
    status: str
    approver_id: int | None
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    kudos: int
    points_given: int
    givers: int
    receivers: int
    active_people: int
    points_liability: int


class ApiReads:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def people(self, *, after: int, limit: int) -> list[Person]:
        query = sa.select(people.c.id).where(people.c.id > after).order_by(people.c.id)
        ids = [int(i) for i in (await self._conn.execute(query.limit(limit))).scalars()]
        found = await SqlPeople(self._conn).get_many(ids)
        return [found[i] for i in ids]

    async def recognitions(self, *, after: int, limit: int, window: Window) -> list[RecognitionRow]:
        query = (
            sa.select(recognitions)
            .where(recognitions.c.id > after, window.where(recognitions.c.created_at))
            .order_by(recognitions.c.id)
            .limit(limit)
        )
        rows = (await self._conn.execute(query)).mappings().all()
        named = await self._receivers([row["id"] for row in rows])
        return [_recognition(row, named[row["id"]]) for row in rows]

    async def balances(self, *, after: int, limit: int) -> list[BalanceRow]:
        def account(kind: AccountKind) -> Any:
            return sa.func.coalesce(
                sa.func.sum(sa.case((accounts.c.kind == kind.value, accounts.c.balance))), 0
            )

        lifetime = (
            sa.select(totals.c.points)
            .where(totals.c.role == StatRole.RECEIVED.value, totals.c.bucket == "all")
            .where(totals.c.value_slug == ALL_VALUES, totals.c.person_id == people.c.id)
            .scalar_subquery()
        )
        query = (
            sa.select(
                people.c.id,
                account(AccountKind.EARNED),
                account(AccountKind.HELD),
                sa.func.coalesce(lifetime, 0),
            )
            .select_from(people.outerjoin(accounts, accounts.c.owner == people.c.id))
            .where(people.c.id > after)
            .group_by(people.c.id)
            .order_by(people.c.id)
            .limit(limit)
        )
        return [
            BalanceRow(person_id=int(p), earned=int(e), held=int(h), lifetime_received=int(lt))
            for p, e, h, lt in await self._conn.execute(query)
        ]

    async def redemptions(
        self, *, after: int, limit: int, window: Window, status: str | None
    ) -> list[RedemptionRow]:
        wanted = sa.true() if status is None else redemptions.c.status == status
        query = (
            sa.select(
                redemptions,
                catalog_items.c.name.label("item_name"),
                catalog_items.c.kind.label("item_kind"),
            )
            .join(catalog_items, catalog_items.c.slug == redemptions.c.item_slug)
            .where(redemptions.c.id > after, wanted, window.where(redemptions.c.created_at))
            .order_by(redemptions.c.id)
            .limit(limit)
        )
        return [_redemption(row) for row in (await self._conn.execute(query)).mappings()]

    async def summary(self, window: Window) -> Summary:
        given = (
            sa.select(
                sa.func.count(sa.distinct(recognitions.c.id)),
                # one row per receiver: the sum is amount x receivers
                sa.func.coalesce(sa.func.sum(recognitions.c.amount), 0),
                sa.func.count(sa.distinct(recognitions.c.giver_id)),
                sa.func.count(sa.distinct(receivers.c.person_id)),
            )
            .join(receivers, receivers.c.recognition_id == recognitions.c.id)
            .where(recognitions.c.revoked_at.is_(None), window.where(recognitions.c.created_at))
        )
        kudos, points, givers, receiving = (await self._conn.execute(given)).one()
        active = sa.select(sa.func.count()).where(
            people.c.active.is_(True), people.c.is_bot.is_(False)
        )
        owed = sa.select(sa.func.coalesce(sa.func.sum(accounts.c.balance), 0)).where(
            accounts.c.kind.in_([AccountKind.EARNED.value, AccountKind.HELD.value])
        )
        return Summary(
            kudos=int(kudos),
            points_given=int(points),
            givers=int(givers),
            receivers=int(receiving),
            active_people=int((await self._conn.execute(active)).scalar_one()),
            points_liability=int((await self._conn.execute(owed)).scalar_one()),
        )

    async def _receivers(self, ids: list[int]) -> dict[int, list[int]]:
        named: dict[int, list[int]] = defaultdict(list)
        if ids:
            query = (
                sa.select(receivers.c.recognition_id, receivers.c.person_id)
                .where(receivers.c.recognition_id.in_(ids))
                .order_by(receivers.c.recognition_id, receivers.c.position)
            )
            for recognition_id, person_id in await self._conn.execute(query):
                named[recognition_id].append(person_id)
        return named


class ApiUnitOfWork(SqlUnitOfWork):
    """A read-only unit of work whose `reads` answer the API's listings in the same
    transaction as the core's repositories (the allowance rule reads those)."""

    reads: ApiReads

    def __init__(self, factory: SqlUnitOfWorkFactory) -> None:
        super().__init__(factory.engine, readonly=True, cache=factory.config_cache)

    async def begin(self) -> None:
        await super().begin()
        assert self._conn is not None
        self.reads = ApiReads(self._conn)


def _recognition(row: Any, receiver_ids: list[int]) -> RecognitionRow:
    return RecognitionRow(
        id=row["id"],
        giver_id=row["giver_id"],
        receiver_ids=tuple(receiver_ids),
        amount=row["amount"],
        values=tuple(row["value_slugs"]),
        reason=row["reason"],
        created_at=row["created_at"],
        revoked=row["revoked_at"] is not None,
    )


def _redemption(row: Any) -> RedemptionRow:
    return RedemptionRow(
        id=row["id"],
        person_id=row["person_id"],
        item_slug=row["item_slug"],
        item_name=row["item_name"],
        item_kind=row["item_kind"],
        quantity=row["quantity"],
        points=row["points"],
        status=row["status"],
        approver_id=row["approver_id"],
        created_at=row["created_at"],
        decided_at=row["decided_at"],
    )
