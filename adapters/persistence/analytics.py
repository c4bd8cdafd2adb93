"""Analytics reads: every figure is one aggregate statement over the scope's people.

A scope becomes a subquery of person ids (a recursive CTE for a manager's reports), so
the database filters, joins and counts; Python only receives the handful of result rows.
Dialect differences (JSON arrays, time arithmetic) are spelled out where they occur.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.analytics import (
    DepartmentRow,
    Flow,
    Giving,
    QuietPerson,
    RedemptionFigures,
    Scope,
    ScopeKind,
    ValueCount,
)
from core.ledger import AccountKind
from core.rewards import RedemptionStatus

from .tables import accounts, people, recognitions, redemptions
from .tables import recognition_receivers as receivers

_REDEEMABLE = (AccountKind.EARNED.value, AccountKind.HELD.value)
_DECIDED = (RedemptionStatus.APPROVED.value, RedemptionStatus.DECLINED.value)


class _InScope:
    """The people of one scope, as subqueries of one statement (they share one CTE)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._reports = _reports(scope.viewer_id) if scope.kind is ScopeKind.REPORTS else None

    def people(self, *, active_only: bool = True) -> sa.Subquery:
        """id and department of each person in scope (bots never: they neither give nor earn)."""
        p = people.alias()
        query = sa.select(p.c.id, p.c.department).where(p.c.is_bot.is_(False))
        if active_only:
            query = query.where(p.c.active.is_(True))
        if self.scope.kind is ScopeKind.SELF:
            query = query.where(p.c.id == self.scope.viewer_id)
        elif self._reports is not None:
            query = query.where(
                p.c.id.in_(sa.select(self._reports.c.id)), p.c.id != self.scope.viewer_id
            )
        if self.scope.department is not None:
            query = query.where(p.c.department == self.scope.department)
        return query.subquery()

    def ids(self, *, active_only: bool = True) -> sa.Select[Any]:
        return sa.select(self.people(active_only=active_only).c.id)


def _reports(manager_id: int) -> sa.CTE:
    """Everyone below the manager. UNION (not UNION ALL) ends the walk on a cycle."""
    top = people.alias()
    below = people.alias()
    chain = sa.select(top.c.id).where(top.c.manager_id == manager_id).cte("reports", recursive=True)
    return chain.union(sa.select(below.c.id).where(below.c.manager_id == chain.c.id))


def _in_window(since: datetime, until: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        recognitions.c.created_at >= since,
        recognitions.c.created_at < until,
        recognitions.c.revoked_at.is_(None),
    )


def _gifts() -> sa.Join:
    """Each receiver of each recognition: one row per kudos."""
    return receivers.join(recognitions, receivers.c.recognition_id == recognitions.c.id)


def _count(value: Any) -> int:
    return int(value or 0)  # PostgreSQL sums of BIGINT arrive as Decimal


class SqlAnalytics:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def departments(self, scope: Scope) -> list[str]:
        members = _InScope(scope).people()
        query = sa.select(members.c.department).where(members.c.department.is_not(None))
        rows = await self._conn.execute(query.distinct())
        return sorted(str(d) for (d,) in rows)

    async def headcount(self, scope: Scope) -> int:
        members = _InScope(scope).people()
        return _count(await self._conn.scalar(sa.select(sa.func.count()).select_from(members)))

    async def department_rows(
        self, scope: Scope, since: datetime, until: datetime
    ) -> list[DepartmentRow]:
        in_scope = _InScope(scope)
        members = in_scope.people()
        got = (
            sa.select(
                receivers.c.person_id.label("id"),
                sa.func.count().label("kudos"),
                sa.func.sum(recognitions.c.amount).label("points"),
            )
            .select_from(_gifts())
            .where(_in_window(since, until), receivers.c.person_id.in_(in_scope.ids()))
            .group_by(receivers.c.person_id)
            .subquery()
        )
        gave = (
            sa.select(recognitions.c.giver_id.label("id"))
            .where(_in_window(since, until), recognitions.c.giver_id.in_(in_scope.ids()))
            .distinct()
            .subquery()
        )
        query = (
            sa.select(
                members.c.department,
                sa.func.count(),
                sa.func.count(gave.c.id),
                sa.func.count(got.c.id),
                sa.func.coalesce(sa.func.sum(got.c.kudos), 0),
                sa.func.coalesce(sa.func.sum(got.c.points), 0),
            )
            .select_from(
                members.outerjoin(got, got.c.id == members.c.id).outerjoin(
                    gave, gave.c.id == members.c.id
                )
            )
            .group_by(members.c.department)
        )
        return [
            DepartmentRow(
                department=dept,
                people=_count(n),
                givers=_count(givers),
                receivers=_count(takers),
                kudos=_count(kudos),
                points=_count(points),
            )
            for dept, n, givers, takers, kudos, points in await self._conn.execute(query)
        ]

    async def top_values(
        self, scope: Scope, since: datetime, until: datetime, *, limit: int
    ) -> list[ValueCount]:
        named = self._value_slugs()
        count = sa.func.count().label("kudos")
        query = (
            sa.select(named.c.value, count)
            .select_from(_gifts().join(named, sa.true()))
            .where(
                _in_window(since, until),
                receivers.c.person_id.in_(_InScope(scope).ids()),
            )
            .group_by(named.c.value)
            .order_by(count.desc(), named.c.value)
            .limit(limit)
        )
        return [ValueCount(str(v), _count(n)) for v, n in await self._conn.execute(query)]

    def _value_slugs(self) -> sa.TableValuedAlias:
        """The elements of a recognition's JSON list of value slugs, as rows."""
        if self._conn.dialect.name == "postgresql":
            expand = sa.func.json_array_elements_text(recognitions.c.value_slugs)
        else:
            expand = sa.func.json_each(recognitions.c.value_slugs)
        return expand.table_valued("value")

    async def redemption_figures(
        self, scope: Scope, since: datetime, until: datetime
    ) -> RedemptionFigures:
        in_scope = _InScope(scope)
        approved = sa.and_(
            redemptions.c.status == RedemptionStatus.APPROVED.value,
            redemptions.c.decided_at >= since,
            redemptions.c.decided_at < until,
            redemptions.c.person_id.in_(in_scope.ids()),
        )
        redeemed = sa.select(redemptions.c.person_id).where(approved)
        holding = (
            sa.select(accounts.c.owner)
            .where(accounts.c.kind.in_(_REDEEMABLE), accounts.c.owner.in_(in_scope.ids()))
            .group_by(accounts.c.owner)
            .having(sa.func.sum(accounts.c.balance) > 0)
        )
        holders = sa.union(redeemed, holding).subquery()
        liability = sa.select(sa.func.coalesce(sa.func.sum(accounts.c.balance), 0)).where(
            accounts.c.kind.in_(_REDEEMABLE),
            # Leavers who kept their points are owed them still.
            accounts.c.owner.in_(in_scope.ids(active_only=False)),
        )
        query = sa.select(
            sa.select(sa.func.count()).select_from(holders).scalar_subquery(),
            sa.select(sa.func.count(sa.distinct(redemptions.c.person_id)))
            .where(approved)
            .scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.sum(redemptions.c.points), 0))
            .where(approved)
            .scalar_subquery(),
            liability.scalar_subquery(),
        )
        row = (await self._conn.execute(query)).one()
        return RedemptionFigures(
            holders=_count(row[0]),
            redeemers=_count(row[1]),
            points_redeemed=_count(row[2]),
            liability=_count(row[3]),
        )

    async def lead_times(
        self, scope: Scope, since: datetime, until: datetime, *, percentiles: Sequence[int]
    ) -> tuple[int, dict[int, float]]:
        seconds = self._seconds_to_decision()
        ranked = (
            sa.select(
                seconds.label("s"),
                sa.func.row_number().over(order_by=seconds).label("rn"),
                sa.func.count().over().label("n"),
            )
            .where(
                redemptions.c.status.in_(_DECIDED),
                redemptions.c.approver_id.is_not(None),  # automatic approvals wait for nobody
                redemptions.c.decided_at >= since,
                redemptions.c.decided_at < until,
                redemptions.c.person_id.in_(_InScope(scope).ids()),
            )
            .subquery()
        )
        # Nearest rank: the ceil(n * p / 100)-th fastest decision, in integer arithmetic.
        ranks = [(ranked.c.n * p + 99) // 100 for p in percentiles]
        query = sa.select(ranked.c.n, ranked.c.rn, ranked.c.s).where(
            sa.or_(*(ranked.c.rn == rank for rank in ranks))
        )
        rows = (await self._conn.execute(query)).all()
        if not rows:
            return 0, {}
        decided = _count(rows[0][0])
        by_rank = {_count(rn): float(s) for _, rn, s in rows}
        return decided, {p: by_rank[(decided * p + 99) // 100] for p in percentiles}

    def _seconds_to_decision(self) -> sa.ColumnElement[Any]:
        waited = (redemptions.c.created_at, redemptions.c.decided_at)
        if self._conn.dialect.name == "postgresql":
            return sa.extract("epoch", waited[1] - waited[0])
        # SQLite keeps ISO text; julianday() reads it as fractional days.
        return (sa.func.julianday(waited[1]) - sa.func.julianday(waited[0])) * 86400.0

    async def weekly(self, scope: Scope, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        starts = list(enumerate(bounds[:-1]))
        week = sa.case(*((recognitions.c.created_at >= start, i) for i, start in reversed(starts)))
        dated = (
            sa.select(week.label("week"), recognitions.c.amount)
            .select_from(_gifts())
            .where(
                _in_window(bounds[0], bounds[-1]),
                receivers.c.person_id.in_(_InScope(scope).ids()),
            )
            .subquery()
        )
        query = sa.select(
            dated.c.week, sa.func.count(), sa.func.coalesce(sa.func.sum(dated.c.amount), 0)
        ).group_by(dated.c.week)
        found = {int(w): (_count(k), _count(p)) for w, k, p in await self._conn.execute(query)}
        return [found.get(i, (0, 0)) for i, _ in starts]

    async def not_recognised(
        self, scope: Scope, since: datetime, *, limit: int
    ) -> tuple[int, list[QuietPerson]]:
        in_scope = _InScope(scope)
        # One pass over everything they ever received: each person's latest recognition.
        last = (
            sa.select(
                receivers.c.person_id.label("id"),
                sa.func.max(recognitions.c.created_at).label("at"),
            )
            .select_from(_gifts())
            .where(recognitions.c.revoked_at.is_(None), receivers.c.person_id.in_(in_scope.ids()))
            .group_by(receivers.c.person_id)
            .subquery()
        )
        members, person, manager = in_scope.people(), people.alias(), people.alias()
        query = (
            sa.select(
                person.c.id,
                person.c.display_name,
                manager.c.display_name,
                last.c.at,
                sa.func.count().over().label("total"),  # every quiet person, before LIMIT
            )
            .select_from(
                members.join(person, person.c.id == members.c.id)
                .outerjoin(last, last.c.id == members.c.id)
                .outerjoin(manager, manager.c.id == person.c.manager_id)
            )
            .where(sa.or_(last.c.at.is_(None), last.c.at < since))
            .order_by(sa.nulls_first(last.c.at.asc()), person.c.id)
            .limit(limit)
        )
        rows = (await self._conn.execute(query)).all()
        listed = [
            QuietPerson(person_id=int(i), name=name, manager=boss, last_recognised=when)
            for i, name, boss, when, _ in rows
        ]
        return (_count(rows[0].total) if rows else 0), listed

    async def rings(
        self, scope: Scope, since: datetime, until: datetime, *, min_kudos: int, share: int
    ) -> list[tuple[Giving, ...]]:
        found: list[tuple[Giving, ...]] = []
        for size in (2, 3):
            query = _Rings(_InScope(scope), since, until, min_kudos, share).query(size)
            for row in await self._conn.execute(query):
                found.append(
                    tuple(
                        Giving(person_id=int(i), given=_count(g), to_group=_count(t))
                        for i, g, t in zip(row[0::3], row[1::3], row[2::3], strict=True)
                    )
                )
        return found

    async def concentration(
        self, scope: Scope, since: datetime, until: datetime, *, top: int
    ) -> tuple[int, int]:
        per_person = (
            sa.select(sa.func.sum(recognitions.c.amount).label("points"))
            .select_from(_gifts())
            .where(_in_window(since, until), receivers.c.person_id.in_(_InScope(scope).ids()))
            .group_by(receivers.c.person_id)
            .cte("per_person")
        )
        best = (
            sa.select(per_person.c.points)
            .order_by(per_person.c.points.desc())
            .limit(top)
            .subquery()
        )
        query = sa.select(
            sa.select(sa.func.coalesce(sa.func.sum(best.c.points), 0)).scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.sum(per_person.c.points), 0)).scalar_subquery(),
        )
        top_points, all_points = (await self._conn.execute(query)).one()
        return _count(top_points), _count(all_points)

    async def flows(self, scope: Scope, since: datetime, until: datetime) -> list[Flow]:
        members = _InScope(scope).people()
        giver = people.alias()
        query = (
            sa.select(
                giver.c.department,
                members.c.department,
                sa.func.count(),
                sa.func.sum(recognitions.c.amount),
            )
            .select_from(
                _gifts()
                .join(members, members.c.id == receivers.c.person_id)
                .join(giver, giver.c.id == recognitions.c.giver_id)
            )
            .where(_in_window(since, until))
            .group_by(giver.c.department, members.c.department)
        )
        return [
            Flow(source=source, target=target, kudos=_count(k), points=_count(p))
            for source, target, k, p in await self._conn.execute(query)
        ]


class _Rings:
    """Groups of two or three people in scope in which each gave at least `min_kudos`
    recognitions in the window and at least `share` % of all their points to the others.

    Every member of such a group sends at least share / 2 % of their points along one
    "strong" edge to another member (they split at least `share` % over at most two
    others), so each group is found as a strong pair or a strong two-step path; the exact
    shares are then checked with every edge, strong or not.
    """

    def __init__(
        self, in_scope: _InScope, since: datetime, until: datetime, min_kudos: int, share: int
    ) -> None:
        self.share = share
        members = in_scope.ids()
        gifts = (
            sa.select(
                recognitions.c.id.label("rid"),
                recognitions.c.giver_id.label("giver"),
                receivers.c.person_id.label("receiver"),
                recognitions.c.amount,
            )
            .select_from(_gifts())
            .where(_in_window(since, until), recognitions.c.giver_id.in_(members))
            .cte("gifts")
        )
        # A giver's total counts everything they gave, inside the scope or not.
        self.givers = (
            sa.select(gifts.c.giver, sa.func.sum(gifts.c.amount).label("total"))
            .group_by(gifts.c.giver)
            .having(sa.func.count(sa.distinct(gifts.c.rid)) >= min_kudos)
            .cte("givers")
        )
        self.edges = (
            sa.select(gifts.c.giver, gifts.c.receiver, sa.func.sum(gifts.c.amount).label("points"))
            .group_by(gifts.c.giver, gifts.c.receiver)
            .cte("edges")
        )
        sender, taker = self.givers.alias(), self.givers.alias()
        self.strong = (
            sa.select(self.edges.c.giver, self.edges.c.receiver)
            .select_from(
                self.edges.join(sender, sender.c.giver == self.edges.c.giver).join(
                    taker, taker.c.giver == self.edges.c.receiver
                )
            )
            .where(self.edges.c.points * 200 >= sender.c.total * share)
            .cte("strong")
        )

    def query(self, size: int) -> sa.Select[Any]:
        """Rows of (id, given, to_group) per member, for groups of `size` that qualify."""
        first, second = self.strong.alias(), self.strong.alias()
        if size == 2:
            path = sa.select(first.c.giver.label("m0"), first.c.receiver.label("m1")).where(
                first.c.giver < first.c.receiver
            )
            path = path.join_from(
                first,
                second,
                sa.and_(second.c.giver == first.c.receiver, second.c.receiver == first.c.giver),
            )
        else:
            path = sa.select(
                first.c.giver.label("m0"),
                first.c.receiver.label("m1"),
                second.c.receiver.label("m2"),
            ).join_from(
                first,
                second,
                sa.and_(second.c.giver == first.c.receiver, second.c.receiver != first.c.giver),
            )
        return self._qualifying(path.subquery(), size)

    def _qualifying(self, path: sa.Subquery, size: int) -> sa.Select[Any]:
        ids = [path.c[f"m{i}"] for i in range(size)]
        joined: sa.FromClause = path
        columns: list[Any] = []
        tests = []
        for me in ids:
            total = self.givers.alias()
            joined = joined.join(total, total.c.giver == me)
            to_group: Any = sa.literal(0)
            for other in ids:
                if other is me:
                    continue
                edge = self.edges.alias()
                joined = joined.outerjoin(
                    edge, sa.and_(edge.c.giver == me, edge.c.receiver == other)
                )
                to_group = to_group + sa.func.coalesce(edge.c.points, 0)
            columns += [me, total.c.total, to_group]
            tests.append(to_group * 100 >= total.c.total * self.share)
        return sa.select(*columns).select_from(joined).where(*tests)
