"""Opening many allowance periods at once: the scheduler's refresh, in set-based SQL.

The one-person path (SqlLedger.open_period + post) costs a handful of round trips per
person. For a whole organisation the same balances take a few statements whatever the
headcount: claim the accounts still behind (guarded, as the one-person path), set their
balances, insert one lapse and one grant transfer per period with a leg per person, then
move the organisation's issuance once. The lists travel as one array parameter (PostgreSQL
`unnest`) or one JSON parameter (SQLite `json_each`) instead of one bound parameter per
row, which drivers cap and which cost more to build than to run.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.ledger import ISSUANCE, AccountKind, Opening, TransferKind

from .tables import UtcDateTime, accounts

ALLOWANCE = AccountKind.ALLOWANCE.value
ISSUER = ISSUANCE.kind.value
_AT = sa.bindparam("at", type_=UtcDateTime())

# The same statements twice: rows as arrays (PostgreSQL) or as a JSON array (SQLite).
_PG = {
    # Claim and set the balance in one statement, returning the rest each account carried.
    # FOR UPDATE makes a concurrent claim wait and then see the account as opened.
    "claim": """WITH behind AS (
            SELECT owner, balance FROM accounts
            WHERE kind = 'allowance' AND owner = ANY(CAST(:ids AS bigint[]))
              AND (period_key IS NULL OR period_key < :key)
            FOR UPDATE)
        UPDATE accounts SET period_key = :key, period_granted = :granted,
            balance = {balance}
        FROM behind WHERE accounts.kind = 'allowance' AND accounts.owner = behind.owner
        RETURNING accounts.owner, behind.balance""",
    "transfers": """INSERT INTO transfers (key, kind, memo, created_at)
        SELECT u.key, u.kind, '', :at
        FROM unnest(CAST(:keys AS text[]), CAST(:kinds AS text[])) AS u(key, kind)
        RETURNING id, key""",
    "entries": """INSERT INTO entries (transfer_id, account_kind, account_owner, amount, created_at)
        SELECT u.t, u.k, u.o, u.a, :at
        FROM unnest(CAST(:tids AS bigint[]), CAST(:akinds AS text[]),
                    CAST(:owners AS bigint[]), CAST(:amounts AS bigint[])) AS u(t, k, o, a)""",
}
_SQLITE = {
    # SQLite's RETURNING cannot see a FROM clause: claim, then set the balances (one writer
    # at a time, so nothing comes between).
    "claim": """UPDATE accounts SET period_key = :key, period_granted = :granted
        WHERE kind = 'allowance' AND owner IN (SELECT value FROM json_each(:ids))
          AND (period_key IS NULL OR period_key < :key)
        RETURNING owner, balance""",
    "balances": """UPDATE accounts SET balance = {balance}
        WHERE kind = 'allowance' AND owner IN (SELECT value FROM json_each(:ids))""",
    "transfers": """INSERT INTO transfers (key, kind, memo, created_at)
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), '', :at
        FROM json_each(:rows)
        RETURNING id, key""",
    "entries": """INSERT INTO entries (transfer_id, account_kind, account_owner, amount, created_at)
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
               json_extract(value, '$[2]'), json_extract(value, '$[3]'), :at
        FROM json_each(:rows)""",
}


class BulkOpening:
    def __init__(self, conn: AsyncConnection, rollover: bool, at: datetime) -> None:
        self._conn = conn
        self._rollover = rollover
        self._at = at
        self._pg = conn.dialect.name == "postgresql"
        self._sql = _PG if self._pg else _SQLITE

    async def run(self, openings: list[Opening]) -> list[Opening]:
        groups: dict[tuple[str, int], list[int]] = defaultdict(list)
        for o in openings:
            groups[(o.period_key, o.granted)].append(o.person_id)
        opened: list[Opening] = []
        lapses: dict[int, int] = {}
        for (key, granted), ids in groups.items():  # few groups: periods x allowance sizes
            claimed = await self._claim(ids, key, granted)
            if claimed and not self._pg:
                await self._set_balances(list(claimed), granted)
            opened += [Opening(i, key, granted) for i in claimed]
            lapses.update({i: rest for i, rest in claimed.items() if rest})
        if opened:
            await self._write_transfers(opened, lapses)
        return opened

    def _statement(self, name: str, **fill: str) -> sa.TextClause:
        statement = sa.text(self._sql[name].format(**fill))
        return statement.bindparams(_AT) if ":at" in self._sql[name] else statement

    def _ids(self, ids: list[int]) -> Any:
        return ids if self._pg else json.dumps(ids)

    def _balance(self, granted: int) -> str:
        return f"accounts.balance + {int(granted)}" if self._rollover else str(int(granted))

    async def _claim(self, ids: list[int], key: str, granted: int) -> dict[int, int]:
        """Accounts moved into the period now, with the rest they carried (guarded)."""
        found = await self._conn.execute(
            self._statement("claim", balance=self._balance(granted)),
            {"ids": self._ids(ids), "key": key, "granted": granted},
        )
        return {int(owner): int(rest) for owner, rest in found}

    async def _set_balances(self, ids: list[int], granted: int) -> None:
        await self._conn.execute(
            self._statement("balances", balance=self._balance(granted)), {"ids": self._ids(ids)}
        )

    async def _write_transfers(self, opened: list[Opening], lapses: dict[int, int]) -> None:
        """Per period: one lapse transfer (every rest back to the organisation) and one grant
        transfer (every allowance out of it), each with one leg per person and one for the
        organisation. A transfer per person would write four times the rows for the same
        balances; the person's period and grant are also on their account."""
        batches: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = defaultdict(
            lambda: ([], [])
        )
        for o in opened:
            lapse, grant = batches[o.period_key]
            rest = 0 if self._rollover else lapses.get(o.person_id, 0)
            if rest:
                lapse.append((o.person_id, -rest))
            if o.granted:
                grant.append((o.person_id, o.granted))
        heads: list[tuple[str, str]] = []
        legs: dict[str, list[tuple[int, int]]] = {}
        batch = uuid.uuid4().hex[:12]  # keys unique per run; the accounts' guard is the idempotency
        for period, (lapse, grant) in batches.items():
            for kind, moves in (
                (TransferKind.ALLOWANCE_LAPSE, lapse),
                (TransferKind.ALLOWANCE_GRANT, grant),
            ):
                if moves:
                    key = f"{kind.value}:{period}:{batch}"
                    heads.append((key, kind.value))
                    legs[key] = moves
        if not heads:
            return
        ids = await self._conn.execute(self._statement("transfers"), self._rows(heads))
        entries: list[tuple[int, str, int, int]] = []
        for tid, key in ids:
            moves = legs[key]
            entries += [(tid, ALLOWANCE, person, amount) for person, amount in moves]
            entries.append((tid, ISSUER, ISSUANCE.owner, -sum(amount for _, amount in moves)))
        await self._conn.execute(self._statement("entries"), self._rows(entries))
        net = sum(amount for _, kind, _, amount in entries if kind == ISSUER)
        await self._conn.execute(
            sa.update(accounts)
            .where(accounts.c.kind == ISSUER, accounts.c.owner == ISSUANCE.owner)
            .values(balance=accounts.c.balance + net)
        )

    def _rows(self, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
        if not self._pg:
            return {"rows": json.dumps(rows), "at": self._at}
        columns = list(zip(*rows, strict=True))
        names = ("keys", "kinds") if len(columns) == 2 else ("tids", "akinds", "owners", "amounts")
        return {**{n: list(c) for n, c in zip(names, columns, strict=True)}, "at": self._at}
