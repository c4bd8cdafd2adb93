"""The ledger: transfers with guarded single-statement debits, and two-phase holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.allowance_plan import AllowancePlan
from core.errors import InsufficientFunds
from core.ledger import (
    AccountKind,
    AccountRef,
    AllowanceAccount,
    Hold,
    HoldStatus,
    Leg,
    OpenedPeriods,
    PostedTransfer,
    TransferKind,
    TransferRequest,
)

from .allowances import AllowanceRefresh
from .dialect import insert_for
from .tables import UtcDateTime, accounts, entries, holds, transfers


def _account(ref: AccountRef) -> sa.ColumnElement[bool]:
    return sa.and_(accounts.c.kind == ref.kind.value, accounts.c.owner == ref.owner)


# The statements of every gift, built once: building and keying them per call cost more
# CPU than the database spends running them.
_THIS_ACCOUNT = sa.and_(accounts.c.kind == sa.bindparam("k"), accounts.c.owner == sa.bindparam("o"))
_CREDIT = (
    sa.update(accounts).where(_THIS_ACCOUNT).values(balance=accounts.c.balance + sa.bindparam("d"))
)
_DEBIT = _CREDIT.where(accounts.c.balance >= sa.bindparam("need"))  # check and debit: one statement
_ENTRIES = sa.insert(entries)
_ALLOWANCE = sa.select(accounts.c.period_key, accounts.c.period_granted, accounts.c.balance).where(
    _THIS_ACCOUNT
)


@cache
def _claim(dialect: str) -> Any:
    return (
        insert_for(dialect, transfers)
        .values(
            key=sa.bindparam("tkey", type_=sa.String()),
            kind=sa.bindparam("tkind", type_=sa.String()),
            memo=sa.bindparam("tmemo", type_=sa.String()),
            created_at=sa.bindparam("tat", type_=UtcDateTime()),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(transfers.c.id)
    )


def _post(conn: sa.Connection, request: TransferRequest, at: datetime) -> PostedTransfer | None:
    """SqlLedger.post's statements; None when the key was claimed before."""
    claim = {"tkey": request.key, "tkind": request.kind.value, "tmemo": request.memo, "tat": at}
    transfer_id = conn.execute(_claim(conn.dialect.name), claim).scalar()
    if transfer_id is None:
        return None
    legs = request.ordered_legs()
    for leg in legs:
        _apply(conn, leg)
    conn.execute(
        _ENTRIES,
        [
            {
                "transfer_id": transfer_id,
                "account_kind": leg.account.kind.value,
                "account_owner": leg.account.owner,
                "amount": leg.amount,
                "created_at": at,
            }
            for leg in legs
        ],
    )
    return PostedTransfer(
        id=transfer_id, key=request.key, kind=request.kind, legs=legs, created_at=at
    )


def _apply(conn: sa.Connection, leg: Leg) -> None:
    params = {"k": leg.account.kind.value, "o": leg.account.owner, "d": leg.amount}
    if leg.amount < 0 and not leg.account.may_go_negative:
        done = conn.execute(_DEBIT, {**params, "need": -leg.amount})
    else:
        done = conn.execute(_CREDIT, params)
    if done.rowcount == 1:
        return
    exists = conn.execute(sa.select(accounts.c.kind).where(_account(leg.account)))
    if exists.first() is None:
        raise LookupError(f"no account {leg.account}")
    raise InsufficientFunds(leg.account)


class SqlLedger:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def post(self, request: TransferRequest, *, at: datetime) -> PostedTransfer:
        # Claim, debits, credits and entries run in one call into SQLAlchemy's synchronous
        # core: each awaited execute costs a greenlet and an async result on top.
        posted = await self._conn.run_sync(_post, request, at)
        if posted is None:  # the key was posted before: change nothing
            first = await self.find(request.key)
            assert first is not None, f"transfer {request.key} claimed but not found"
            return replace(first, replayed=True)
        return posted

    async def find(self, key: str) -> PostedTransfer | None:
        head = (
            (await self._conn.execute(sa.select(transfers).where(transfers.c.key == key)))
            .mappings()
            .first()
        )
        if head is None:
            return None
        rows = await self._conn.execute(
            sa.select(entries.c.account_kind, entries.c.account_owner, entries.c.amount)
            .where(entries.c.transfer_id == head["id"])
            .order_by(entries.c.id)
        )
        legs = tuple(Leg(AccountRef(AccountKind(k), o), a) for k, o, a in rows)
        return PostedTransfer(
            id=head["id"],
            key=key,
            kind=TransferKind(head["kind"]),
            legs=legs,
            created_at=head["created_at"],
        )

    async def balance(self, account: AccountRef) -> int:
        found = await self._conn.execute(sa.select(accounts.c.balance).where(_account(account)))
        return int(found.scalar() or 0)

    async def balances(self, owner: int) -> dict[AccountKind, int]:
        rows = await self._conn.execute(
            sa.select(accounts.c.kind, accounts.c.balance).where(accounts.c.owner == owner)
        )
        return {AccountKind(kind): int(balance) for kind, balance in rows}

    async def allowance_account(self, person_id: int) -> AllowanceAccount:
        params = {"k": AccountKind.ALLOWANCE.value, "o": person_id}
        row = (await self._conn.execute(_ALLOWANCE, params)).first()
        if row is None:
            return AllowanceAccount(None, 0, 0)
        return AllowanceAccount(row.period_key, int(row.period_granted), int(row.balance))

    async def add_granted(self, person_id: int, period_key: str, amount: int) -> bool:
        stmt = (
            sa.update(accounts)
            .where(_account(AccountRef(AccountKind.ALLOWANCE, person_id)))
            .where(accounts.c.period_key == period_key)
            .values(period_granted=accounts.c.period_granted + amount)
        )
        return (await self._conn.execute(stmt)).rowcount == 1

    async def open_period(self, person_id: int, period_key: str, granted: int) -> bool:
        stmt = (
            sa.update(accounts)
            .where(_account(AccountRef(AccountKind.ALLOWANCE, person_id)))
            .where(sa.or_(accounts.c.period_key.is_(None), accounts.c.period_key < period_key))
            .values(period_key=period_key, period_granted=granted)
        )
        return (await self._conn.execute(stmt)).rowcount == 1

    async def earned_flows(self, cutoffs: dict[int, datetime]) -> dict[int, tuple[int, int]]:
        """One aggregate over the earned entries per distinct cutoff (people in one time
        zone share one), kept for the people asked about."""
        by_cutoff: dict[datetime, set[int]] = {}
        for person_id, cutoff in cutoffs.items():
            by_cutoff.setdefault(cutoff, set()).add(person_id)
        amount = entries.c.amount
        flows: dict[int, tuple[int, int]] = {}
        for cutoff, wanted in by_cutoff.items():
            came = sa.case((sa.and_(amount > 0, entries.c.created_at < cutoff), amount), else_=0)
            left = sa.case((amount < 0, -amount), else_=0)
            rows = await self._conn.execute(
                sa.select(entries.c.account_owner, sa.func.sum(came), sa.func.sum(left))
                .where(entries.c.account_kind == AccountKind.EARNED.value)
                .group_by(entries.c.account_owner)
            )
            flows.update({int(o): (int(c), int(lf)) for o, c, lf in rows if o in wanted})
        return flows

    async def allowance_accounts(self) -> dict[int, AllowanceAccount]:
        rows = await self._conn.execute(
            sa.select(
                accounts.c.owner,
                accounts.c.period_key,
                accounts.c.period_granted,
                accounts.c.balance,
            ).where(accounts.c.kind == AccountKind.ALLOWANCE.value)
        )
        return {
            int(owner): AllowanceAccount(key, int(granted), int(balance))
            for owner, key, granted, balance in rows
        }

    async def open_due_periods(self, plan: AllowancePlan, *, at: datetime) -> list[OpenedPeriods]:
        return await AllowanceRefresh(self._conn, plan, at).run()

    async def add_hold(self, *, key: str, person_id: int, amount: int, at: datetime) -> Hold:
        result = await self._conn.execute(
            sa.insert(holds)
            .values(
                key=key,
                person_id=person_id,
                amount=amount,
                status=HoldStatus.PENDING.value,
                created_at=at,
            )
            .returning(holds.c.id)
        )
        return Hold(
            id=int(result.scalar_one()),
            key=key,
            person_id=person_id,
            amount=amount,
            status=HoldStatus.PENDING,
            created_at=at,
        )

    async def get_hold(self, hold_id: int) -> Hold | None:
        return await self._hold(holds.c.id == hold_id)

    async def hold_by_key(self, key: str) -> Hold | None:
        return await self._hold(holds.c.key == key)

    async def _hold(self, where: sa.ColumnElement[bool]) -> Hold | None:
        row = (await self._conn.execute(sa.select(holds).where(where))).mappings().first()
        if row is None:
            return None
        return Hold(
            id=row["id"],
            key=row["key"],
            person_id=row["person_id"],
            amount=row["amount"],
            status=HoldStatus(row["status"]),
            created_at=row["created_at"],
            resolved_at=row["resolved_at"],
        )

    async def resolve_hold(self, hold_id: int, status: HoldStatus, *, at: datetime) -> bool:
        stmt = (
            sa.update(holds)
            .where(holds.c.id == hold_id)
            .where(holds.c.status == HoldStatus.PENDING.value)
            .values(status=status.value, resolved_at=at)
        )
        return (await self._conn.execute(stmt)).rowcount == 1
