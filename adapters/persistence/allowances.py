"""The scheduler's allowance refresh in set-based SQL, whatever the headcount.

The core hands over an `AllowancePlan`: the organisation's rules compiled into a few rows
(rules in precedence order, tier bonuses, each time zone's current period). The plan goes
into temporary tables, and a handful of statements do the rest in the database:

1. `refresh_due` <- every active person whose allowance account is behind their period,
   with the grant the plan gives them and the rest they carry;
2. one UPDATE moves those accounts, guarded as the one-person path (`period_key < :key`,
   and the balance still the rest read): on PostgreSQL a concurrent refresh or gift makes
   it wait and then skip the row, which leaves `refresh_due` in the same statement;
3. per period, one lapse and one grant transfer with one entry per person and one for the
   organisation's issuance account (a transfer per person would write four times the rows
   for the same balances; the person's period and grant are also on their account), then
   the issuance balance once;
4. who was opened comes back grouped by period and grant, one array per group, not as a
   row (and an event) per person.

Everything runs in the caller's transaction; the temporary tables are dropped before it
ends (and vanish with a rollback, DDL being transactional on both engines).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.allowance_plan import AllowancePlan
from core.ledger import ISSUANCE, AccountKind, OpenedPeriods, TransferKind
from core.recognition import ALL_VALUES, StatRole

from .tables import Id, UtcDateTime, accounts, entries, people, person_roles, totals, transfers

_temp = sa.MetaData()


def _temporary(name: str, *columns: sa.Column[object]) -> sa.Table:
    return sa.Table(name, _temp, *columns, prefixes=["TEMPORARY"])


rules = _temporary(
    "refresh_rules",
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("period", sa.String(16), nullable=False),
)
zones = _temporary(
    "refresh_zones",
    sa.Column("tz", sa.String(64), primary_key=True),
    sa.Column("period", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(10), nullable=False),
)
tiers = _temporary(
    "refresh_tiers",
    sa.Column("threshold", sa.BigInteger, primary_key=True),
    sa.Column("bonus", sa.BigInteger, nullable=False),
)
due = _temporary(
    "refresh_due",
    sa.Column("owner", Id, primary_key=True),  # SQLite: the rowid itself, no extra index
    sa.Column("period_key", sa.String(10), nullable=False),
    sa.Column("granted", sa.BigInteger, nullable=False),
    sa.Column("rest", sa.BigInteger, nullable=False),
)

ALLOWANCE = AccountKind.ALLOWANCE.value
_CHUNK = 5_000  # ids per statement: drivers cap bound parameters
_ENTRY_COLUMNS = ["transfer_id", "account_kind", "account_owner", "amount", "created_at"]


def _create(conn: sa.Connection, tables: list[sa.Table]) -> None:
    for table in tables:
        table.create(conn, checkfirst=False)


def _drop(conn: sa.Connection, tables: list[sa.Table]) -> None:
    for table in reversed(tables):
        table.drop(conn, checkfirst=False)


class AllowanceRefresh:
    def __init__(self, conn: AsyncConnection, plan: AllowancePlan, at: datetime) -> None:
        self._conn = conn
        self._plan = plan
        self._at = at
        # Transfer keys are unique per run; the accounts' guard is what makes it idempotent.
        self._batch = uuid.uuid4().hex[:12]
        self._pg = conn.dialect.name == "postgresql"

    async def run(self) -> list[OpenedPeriods]:
        if not self._plan.zones:  # nobody active
            return []
        tables = [zones, due, *([rules] if self._plan.rules else [])]
        tables += [tiers] if self._plan.tiers else []
        # No try/finally: after an error the caller rolls back, which drops them too (and
        # a DROP in PostgreSQL's aborted transaction would only hide the error).
        await self._conn.run_sync(_create, tables)
        await self._load_plan()
        await self._whole_table_plans()
        columns = ["owner", "period_key", "granted", "rest"]
        found = await self._conn.execute(sa.insert(due).from_select(columns, self._due_select()))
        opened: list[OpenedPeriods] = []
        if found.rowcount:
            await self._claim(found.rowcount)
            groups = (await self._conn.execute(self._groups())).all()
            opened = [OpenedPeriods(k, int(g), self._ids(ids)) for k, g, ids, _, _ in groups]
            rests = [(int(lapses), int(lapsed)) for _, _, _, lapses, lapsed in groups]
            await self._write_transfers(list(zip(opened, rests, strict=True)))
        await self._conn.run_sync(_drop, tables)
        if self._pg:  # the rest of the unit of work plans as usual
            await self._conn.execute(sa.text("RESET enable_nestloop"))
        return opened

    async def _whole_table_plans(self) -> None:
        """Every statement here reads or writes (nearly) every person: hash joins win. With
        stale statistics (a directory sync just added thousands) PostgreSQL would pick an
        index lookup per person instead, several times slower; SET LOCAL ends with the
        transaction."""
        if self._pg:
            await self._conn.execute(sa.text("SET LOCAL enable_nestloop = off"))

    async def _load_plan(self) -> None:
        plan = self._plan
        await self._conn.execute(
            sa.insert(zones),
            [{"tz": z.tz, "period": z.kind.value, "key": z.key} for z in plan.zones],
        )
        if plan.rules:
            await self._conn.execute(
                sa.insert(rules),
                [
                    {
                        "rank": rank,
                        "scope": r.scope.value,
                        "subject": r.subject,
                        "amount": r.amount,
                        "period": r.period.value,
                    }
                    for rank, r in enumerate(plan.rules)
                ],
            )
        if plan.tiers:
            await self._conn.execute(
                sa.insert(tiers), [{"threshold": t.threshold, "bonus": t.bonus} for t in plan.tiers]
            )

    def _facts(self) -> sa.Subquery:
        """Per active person: time zone, and only the facts the plan's rules look at."""
        p = people
        columns: list[sa.ColumnElement[object]] = [p.c.id, p.c.tz]
        if self._plan.rules:
            # Two levels down: auto-correlation would cross-join every person here.
            roles = (
                sa.select(person_roles.c.role)
                .where(person_roles.c.person_id == p.c.id)
                .correlate(p)
            )
            matches = sa.or_(
                sa.and_(rules.c.scope == "person", rules.c.subject == sa.cast(p.c.id, sa.String)),
                sa.and_(
                    rules.c.scope == "department",
                    rules.c.subject == sa.func.coalesce(p.c.department, ""),
                ),
                sa.and_(rules.c.scope == "role", rules.c.subject.in_(roles)),
            )
            rank = sa.select(sa.func.min(rules.c.rank)).where(matches).scalar_subquery()
            columns.append(rank.label("rank"))
        if self._plan.bonus_per_report:
            report = people.alias("report")
            reports = (
                sa.select(sa.func.count())
                .where(report.c.manager_id == p.c.id, report.c.active.is_(True))
                .scalar_subquery()
            )
            columns.append(reports.label("reports"))
        if self._plan.tiers:
            lifetime = (
                sa.select(totals.c.points)
                .where(
                    totals.c.role == StatRole.RECEIVED.value,
                    totals.c.bucket == "all",
                    totals.c.value_slug == ALL_VALUES,
                    totals.c.person_id == p.c.id,
                )
                .scalar_subquery()
            )
            columns.append(sa.func.coalesce(lifetime, 0).label("lifetime"))
        return sa.select(*columns).where(p.c.active.is_(True)).subquery("facts")

    def _entitled(self) -> sa.Subquery:
        """Per active person: the grant and the period kind the plan gives them."""
        plan, facts = self._plan, self._facts()
        amount: sa.ColumnElement[int] = sa.literal(plan.amount, sa.BigInteger)
        kind: sa.ColumnElement[str] = sa.literal(plan.period.value, sa.String)
        source: sa.FromClause = facts
        if plan.rules:
            source = facts.outerjoin(rules, rules.c.rank == facts.c.rank)
            amount = sa.func.coalesce(rules.c.amount, amount)
            kind = sa.func.coalesce(rules.c.period, kind)
        if plan.bonus_per_report:
            amount = amount + sa.literal(plan.bonus_per_report, sa.BigInteger) * facts.c.reports
        if plan.tiers:
            bonus = (
                sa.select(tiers.c.bonus)
                .where(tiers.c.threshold <= facts.c.lifetime)
                .order_by(tiers.c.threshold.desc())
                .limit(1)
                .scalar_subquery()
            )
            amount = amount + sa.func.coalesce(bonus, 0)
        return (
            sa.select(facts.c.id, facts.c.tz, amount.label("amount"), kind.label("kind"))
            .select_from(source)
            .subquery("entitled")
        )

    def _due_select(self) -> sa.Select[tuple[object, ...]]:
        """Accounts behind their period now, with what they are due and the rest they carry."""
        e, a = self._entitled(), accounts
        return (
            sa.select(a.c.owner, zones.c.key, e.c.amount, a.c.balance)
            .select_from(
                e.join(zones, sa.and_(zones.c.tz == e.c.tz, zones.c.period == e.c.kind)).join(
                    a, sa.and_(a.c.kind == ALLOWANCE, a.c.owner == e.c.id)
                )
            )
            .where(sa.or_(a.c.period_key.is_(None), a.c.period_key < zones.c.key))
        )

    async def _claim(self, candidates: int) -> None:
        """Move the accounts into their period, guarded as the one-person path: only those
        still behind, and still holding the rest read (so the lapse is what they had).
        Rows someone else opened meanwhile leave `refresh_due`: not ours to post."""
        a = accounts
        balance = a.c.balance + due.c.granted if self._plan.rollover else due.c.granted
        claim = (
            sa.update(a)
            .where(a.c.kind == ALLOWANCE, a.c.owner == due.c.owner, a.c.balance == due.c.rest)
            .where(sa.or_(a.c.period_key.is_(None), a.c.period_key < due.c.period_key))
            .values(period_key=due.c.period_key, period_granted=due.c.granted, balance=balance)
        )
        if self._pg:
            # A concurrent refresh or gift makes the UPDATE wait on that row, then skip it
            # (the guard is evaluated again); the rows it skipped go in the same statement.
            await self._conn.execute(sa.text("ANALYZE refresh_due"))  # its real size
            claimed = claim.returning(a.c.owner).cte("claimed")
            # NOT EXISTS plans as an anti-join; NOT IN would be quadratic past work_mem.
            mine = sa.exists().where(claimed.c.owner == due.c.owner)
            await self._conn.execute(sa.delete(due).where(~mine))
            return
        # SQLite: BEGIN IMMEDIATE made this the only writer since `refresh_due` was read.
        moved = (await self._conn.execute(claim)).rowcount
        if moved != candidates:
            raise AssertionError(f"allowance refresh: {moved} of {candidates} accounts moved")

    def _groups(self) -> sa.Select[Any]:
        """Per period and grant: who (one array or list, not a row per person), and how
        many carried a rest and how much: what the transfers and events need."""
        owners = (
            sa.func.array_agg(due.c.owner) if self._pg else sa.func.group_concat(due.c.owner, ",")
        )
        return sa.select(
            due.c.period_key,
            due.c.granted,
            owners,
            _count_nonzero(due.c.rest),
            sa.func.sum(due.c.rest),
        ).group_by(due.c.period_key, due.c.granted)

    def _ids(self, owners: object) -> tuple[int, ...]:
        if isinstance(owners, str):  # SQLite's group_concat
            return tuple(map(int, owners.split(",")))
        assert isinstance(owners, list)
        return tuple(owners)

    async def _write_transfers(self, groups: list[tuple[OpenedPeriods, tuple[int, int]]]) -> None:
        """Per period: one lapse (unless rollover) and one grant transfer, each with one
        entry per person and one for the issuance account; then the issuance balance.
        `groups`: who was opened, and how many of them carried a rest and how much."""
        periods: dict[str, list[int]] = {}  # lapses, lapsed, grants, granted
        for group, (lapses, lapsed) in groups:
            total = periods.setdefault(group.period_key, [0, 0, 0, 0])
            total[0] += lapses
            total[1] += lapsed
            total[2] += len(group.person_ids) if group.granted else 0
            total[3] += group.granted * len(group.person_ids)
        net = 0
        for period, (lapses, lapsed, grants, granted) in periods.items():
            if lapses and not self._plan.rollover:
                await self._post(TransferKind.ALLOWANCE_LAPSE, period, due.c.rest, -1, lapsed)
                net += lapsed
            if grants:
                await self._post(TransferKind.ALLOWANCE_GRANT, period, due.c.granted, 1, granted)
                net -= granted
        if net:
            a = accounts
            await self._conn.execute(
                sa.update(a)
                .where(a.c.kind == ISSUANCE.kind.value, a.c.owner == ISSUANCE.owner)
                .values(balance=a.c.balance + net)
            )

    async def _post(
        self,
        kind: TransferKind,
        period: str,
        amount: sa.Column[int],
        sign: int,
        total: int,
    ) -> None:
        """One transfer: a leg of `sign * amount` per person of the period, and the
        balancing leg on the issuance account."""
        head = sa.insert(transfers).values(
            key=f"{kind.value}:{period}:{self._batch}",
            kind=kind.value,
            memo="",
            created_at=self._at,
        )
        tid = (await self._conn.execute(head.returning(transfers.c.id))).scalar_one()
        at = sa.literal(self._at, UtcDateTime())
        legs = sa.select(
            sa.literal(tid, sa.BigInteger), sa.literal(ALLOWANCE), due.c.owner, sign * amount, at
        ).where(due.c.period_key == period, amount != 0)
        await self._conn.execute(sa.insert(entries).from_select(_ENTRY_COLUMNS, legs))
        await self._conn.execute(
            sa.insert(entries).values(
                transfer_id=tid,
                account_kind=ISSUANCE.kind.value,
                account_owner=ISSUANCE.owner,
                amount=-sign * total,
                created_at=self._at,
            )
        )


def _count_nonzero(column: sa.Column[int]) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((column != 0, 1), else_=0))
