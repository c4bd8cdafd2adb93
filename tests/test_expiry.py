"""Points expiry: oldest first, at each person's local midnight, never while held, with a
warning before; on the fakes and both engines."""

from __future__ import annotations

from datetime import UTC, datetime

from core.commands import Decide, ExpirePoints, PutCatalogItem, Redeem
from core.decisions import Outcome
from core.events import PointsExpiring
from core.ledger import AccountKind, AccountRef
from core.rewards import CatalogItem, ItemKind

from .harness import Harness


async def earned(world: Harness, person_id: int) -> int:
    async with world.uow(readonly=True) as uow:
        return await uow.ledger.balance(AccountRef(AccountKind.EARNED, person_id))


async def expired(world: Harness) -> int:
    async with world.uow(readonly=True) as uow:
        return await uow.ledger.balance(AccountRef(AccountKind.EXPIRED))


async def test_off_by_default(world: Harness) -> None:
    assert await world.bus.handle(ExpirePoints()) == 0


async def test_points_expire_oldest_first_after_the_months(world: Harness) -> None:
    await world.policy(min_reason_length=1, points_expire_months=3)
    giver, ana = await world.person("giver"), await world.person("ana", tz="Pacific/Auckland")
    world.clock.set(datetime(2026, 1, 10, 12, tzinfo=UTC))  # 11 January, 01:00 in Auckland
    await world.give(giver, ana, amount=50, reason="january")
    world.clock.set(datetime(2026, 2, 10, 12, tzinfo=UTC))
    await world.give(giver, ana, amount=30, reason="february")
    await world.give(ana, giver, amount=1, reason="allowance, not earned")  # no effect on earned
    world.clock.set(datetime(2026, 4, 11, 11, tzinfo=UTC))  # 11 April 23:00 in Auckland: not yet
    assert await world.bus.handle(ExpirePoints()) == 0
    world.clock.set(datetime(2026, 4, 11, 13, tzinfo=UTC))  # 12 April 01:00 in Auckland
    assert await world.bus.handle(ExpirePoints()) == 50
    assert await world.bus.handle(ExpirePoints()) == 0  # once
    assert await earned(world, ana.id) == 30
    world.clock.set(datetime(2026, 5, 11, 13, tzinfo=UTC))  # 12 May 01:00 in Auckland
    await world.bus.handle(ExpirePoints())  # the giver's 1 point from 10 February (UTC) goes
    assert await earned(world, ana.id) == 0
    assert await expired(world) == 81


async def test_spent_and_held_points_do_not_expire_and_a_warning_comes_first(
    world: Harness,
) -> None:
    await world.policy(min_reason_length=1, points_expire_months=3, expiry_warning_days=14)
    await world.bus.handle(
        PutCatalogItem(
            item=CatalogItem(slug="mug", name="Mug", kind=ItemKind.MERCHANDISE, price=20)
        )
    )
    boss = await world.person("boss")
    ana = await world.person("ana", manager=boss)
    world.clock.set(datetime(2026, 1, 10, 12, tzinfo=UTC))
    await world.give(boss, ana, amount=50, reason="january")
    first = (await world.bus.handle(Redeem(person_id=ana.id, item="mug"))).redemption
    await world.bus.handle(
        Decide(key=first.decision_key, outcome=Outcome.APPROVE, person_id=boss.id)
    )
    await world.bus.handle(Redeem(person_id=ana.id, item="mug"))  # 20 held, undecided
    world.clock.set(datetime(2026, 3, 27, 12, tzinfo=UTC))
    assert await world.bus.handle(ExpirePoints()) == 0
    world.clock.set(datetime(2026, 3, 28, 12, tzinfo=UTC))  # 14 days before the end of 10 April
    assert await world.bus.handle(ExpirePoints()) == 0
    [warning] = [e for e in world.notifier.events if isinstance(e, PointsExpiring)]
    assert (warning.points, warning.on.isoformat()) == (10, "2026-04-10")
    world.clock.set(datetime(2026, 4, 11, 12, tzinfo=UTC))
    assert await world.bus.handle(ExpirePoints()) == 10  # 50 - 20 spent - 20 held
    assert await earned(world, ana.id) == 0
