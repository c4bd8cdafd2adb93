"""Many requests at once from one giver: the allowance check and debit must be atomic."""

from __future__ import annotations

import asyncio
from collections import Counter

from core.commands import GiveKudos
from core.errors import InsufficientAllowance
from core.ledger import AccountKind
from core.ports import UnitOfWorkFactory
from core.views import KudosResult

from .harness import Harness

GIFTS = 500
ALLOWANCE = 333


async def test_500_concurrent_gifts_exactly_the_allowance_succeeds(
    sql_uow: UnitOfWorkFactory,
) -> None:
    world = Harness(sql_uow)
    await world.policy(allowance=ALLOWANCE)
    giver = await world.person("giver")
    receivers = [await world.person(f"r{i}") for i in range(5)]

    async def give(n: int) -> KudosResult:
        result: KudosResult = await world.bus.handle(
            GiveKudos(
                giver_id=giver.id,
                receiver_ids=(receivers[n % 5].id,),
                amount=1,
                reason="thanks for the quick help",
                idempotency_key=f"gift-{n}",
            )
        )
        return result

    outcomes = await asyncio.gather(*(give(n) for n in range(GIFTS)), return_exceptions=True)

    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"KudosResult": ALLOWANCE, "InsufficientAllowance": GIFTS - ALLOWANCE}, kinds
    assert all(isinstance(o, KudosResult | InsufficientAllowance) for o in outcomes)
    assert (await world.balance(giver)).allowance.left == 0
    earned = [await world.account(AccountKind.EARNED, r.id) for r in receivers]
    assert sum(earned) == ALLOWANCE
    assert await world.account(AccountKind.ISSUANCE) == -ALLOWANCE
