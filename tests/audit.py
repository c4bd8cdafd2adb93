"""Read the whole ledger back, from the fakes or from SQL, to check its invariants."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from adapters.persistence.tables import accounts, entries, holds, transfers
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.ledger import AccountKind, AccountRef
from core.ports import UnitOfWorkFactory

from .fakes import FakeUnitOfWorkFactory


@dataclass
class LedgerSnapshot:
    balances: dict[AccountRef, int]
    entry_sums: dict[AccountRef, int]
    transfer_sums: dict[str, int]
    transfer_keys: list[str]
    hold_status: dict[str, str]  # hold key -> status

    def check(self) -> None:
        assert all(total == 0 for total in self.transfer_sums.values()), "unbalanced transfer"
        assert len(self.transfer_keys) == len(set(self.transfer_keys)), "a key applied twice"
        for ref, balance in self.balances.items():
            assert balance == self.entry_sums.get(ref, 0), f"{ref}: cached != sum of entries"
            if ref.kind is not AccountKind.ISSUANCE:
                assert balance >= 0, f"{ref} is negative"
        assert sum(self.balances.values()) == 0, "points created or destroyed"
        resolutions = Counter(
            k.split(":", 1)[1]
            for k in self.transfer_keys
            if k.startswith(("hold-post:", "hold-void:"))
        )
        assert all(n == 1 for n in resolutions.values()), "a hold resolved twice"
        for key, status in self.hold_status.items():
            assert (status == "pending") == (resolutions[key] == 0), f"hold {key} is {status}"


async def snapshot(uow: UnitOfWorkFactory) -> LedgerSnapshot:
    if isinstance(uow, FakeUnitOfWorkFactory):
        return _fake_snapshot(uow)
    assert isinstance(uow, SqlUnitOfWorkFactory)
    async with uow.engine.connect() as conn:
        balances = {
            AccountRef(AccountKind(k), o): int(b)
            for k, o, b in await conn.execute(
                sa.select(accounts.c.kind, accounts.c.owner, accounts.c.balance)
            )
        }
        sums = {
            AccountRef(AccountKind(k), o): int(s)
            for k, o, s in await conn.execute(
                sa.select(
                    entries.c.account_kind, entries.c.account_owner, sa.func.sum(entries.c.amount)
                ).group_by(entries.c.account_kind, entries.c.account_owner)
            )
        }
        per_transfer = {
            k: int(s or 0)
            for k, s in await conn.execute(
                sa.select(transfers.c.key, sa.func.sum(entries.c.amount))
                .select_from(transfers.outerjoin(entries, entries.c.transfer_id == transfers.c.id))
                .group_by(transfers.c.key)
            )
        }
        keys = list((await conn.execute(sa.select(transfers.c.key))).scalars())
        rows = await conn.execute(sa.select(holds.c.key, holds.c.status))
        status = {str(key): str(value) for key, value in rows}
    return LedgerSnapshot(balances, sums, per_transfer, keys, status)


def _fake_snapshot(uow: FakeUnitOfWorkFactory) -> LedgerSnapshot:
    state = uow.store.state
    sums: dict[AccountRef, int] = defaultdict(int)
    per_transfer: dict[str, int] = {}
    for key, posted in state.transfers.items():
        per_transfer[key] = sum(leg.amount for leg in posted.legs)
        for leg in posted.legs:
            sums[leg.account] += leg.amount
    return LedgerSnapshot(
        balances={ref: a.balance for ref, a in state.accounts.items()},
        entry_sums=dict(sums),
        transfer_sums=per_transfer,
        transfer_keys=list(state.transfers),
        hold_status={h.key: h.status.value for h in state.holds.values()},
    )
