"""Opening many allowance periods at once: the scheduler's refresh, in set-based SQL.

The one-person path (SqlLedger.open_period + post) costs a handful of round trips per
person; for a whole organisation the same effect is a few statements per chunk of
accounts: claim the accounts still behind (guarded, as the one-person path), write all
lapse and grant transfers with their entries in bulk, then set the balances.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.ledger import ISSUANCE, AccountKind, Opening, TransferKind

from .tables import accounts, entries, transfers

CHUNK = 5000  # accounts per statement: under every driver's bound-parameter limit
ALLOWANCE = AccountKind.ALLOWANCE.value


class BulkOpening:
    def __init__(self, conn: AsyncConnection, rollover: bool, at: datetime) -> None:
        self._conn = conn
        self._rollover = rollover
        self._at = at

    async def run(self, openings: list[Opening]) -> list[Opening]:
        groups: dict[tuple[str, int], list[int]] = defaultdict(list)
        for o in openings:
            groups[(o.period_key, o.granted)].append(o.person_id)
        opened: list[Opening] = []
        lapses: dict[int, int] = {}
        for (key, granted), ids in groups.items():
            for chunk in _chunks(ids):
                claimed = await self._claim(chunk, key, granted)
                if claimed:
                    await self._set_balances(list(claimed), granted)
                opened += [Opening(i, key, granted) for i in claimed]
                lapses.update({i: rest for i, rest in claimed.items() if rest})
        if opened:
            await self._write_transfers(opened, lapses)
        return opened

    async def _claim(self, ids: list[int], key: str, granted: int) -> dict[int, int]:
        """Accounts moved into the period now, with the rest they carried (guarded)."""
        stmt = (
            sa.update(accounts)
            .where(accounts.c.kind == ALLOWANCE)
            .where(accounts.c.owner.in_(ids))
            .where(sa.or_(accounts.c.period_key.is_(None), accounts.c.period_key < key))
            .values(period_key=key, period_granted=granted)
            .returning(accounts.c.owner, accounts.c.balance)
        )
        return {int(owner): int(rest) for owner, rest in await self._conn.execute(stmt)}

    async def _set_balances(self, ids: list[int], granted: int) -> None:
        balance = accounts.c.balance + granted if self._rollover else sa.literal(granted)
        await self._conn.execute(
            sa.update(accounts)
            .where(accounts.c.kind == ALLOWANCE)
            .where(accounts.c.owner.in_(ids))
            .values(balance=balance)
        )

    async def _write_transfers(self, opened: list[Opening], lapses: dict[int, int]) -> None:
        """Lapse then grant, one transfer each, as the one-person path writes them."""
        heads: list[dict[str, Any]] = []
        legs: dict[str, list[tuple[str, int, int]]] = {}
        for o in opened:
            rest = 0 if self._rollover else lapses.get(o.person_id, 0)
            if rest:
                key = f"allowance-lapse:{o.person_id}:{o.period_key}"
                heads.append(self._head(key, TransferKind.ALLOWANCE_LAPSE))
                legs[key] = [(ALLOWANCE, o.person_id, -rest), (ISSUANCE.kind.value, 0, rest)]
            if o.granted:
                key = f"allowance:{o.person_id}:{o.period_key}"
                heads.append(self._head(key, TransferKind.ALLOWANCE_GRANT))
                legs[key] = [
                    (ISSUANCE.kind.value, 0, -o.granted),
                    (ALLOWANCE, o.person_id, o.granted),
                ]
        if not heads:
            return
        ids = await self._conn.execute(
            sa.insert(transfers).returning(
                transfers.c.id, transfers.c.key, sort_by_parameter_order=True
            ),
            heads,
        )
        rows = [
            {
                "transfer_id": tid,
                "account_kind": kind,
                "account_owner": owner,
                "amount": amount,
                "created_at": self._at,
            }
            for tid, key in ids
            for kind, owner, amount in legs[key]
        ]
        await self._conn.execute(sa.insert(entries), rows)
        net = sum(r["amount"] for r in rows if r["account_kind"] == ISSUANCE.kind.value)
        await self._conn.execute(
            sa.update(accounts)
            .where(accounts.c.kind == ISSUANCE.kind.value, accounts.c.owner == ISSUANCE.owner)
            .values(balance=accounts.c.balance + net)
        )

    def _head(self, key: str, kind: TransferKind) -> dict[str, Any]:
        return {"key": key, "kind": kind.value, "memo": "", "created_at": self._at}


def _chunks(ids: list[int]) -> list[list[int]]:
    it = iter(ids)
    return list(iter(lambda: list(islice(it, CHUNK)), []))
