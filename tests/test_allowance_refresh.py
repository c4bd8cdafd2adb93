"""The scheduler's allowance refresh: set-based, in each person's time zone, exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.commands import RefreshAllowances
from core.events import AllowanceOpened
from core.ledger import AccountKind, AccountRef

from .harness import Harness


async def allowance(world: Harness, person_id: int) -> tuple[str | None, int]:
    async with world.uow(readonly=True) as uow:
        account = await uow.ledger.allowance_account(person_id)
    return account.period_key, account.balance


async def issued(world: Harness) -> int:
    async with world.uow(readonly=True) as uow:
        return await uow.ledger.balance(AccountRef(AccountKind.ISSUANCE))


async def test_each_person_gets_the_new_month_at_their_own_midnight(world: Harness) -> None:
    auckland = await world.person("aroha", tz="Pacific/Auckland")
    london = await world.person("liam", tz="Europe/London")
    la = await world.person("lucia", tz="America/Los_Angeles")
    world.clock.set(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    assert await world.bus.handle(RefreshAllowances()) == 3
    # 11:30 UTC on 30 November is already 1 December, 00:30, in Auckland.
    world.clock.set(datetime(2026, 11, 30, 11, 30, tzinfo=UTC))
    assert await world.bus.handle(RefreshAllowances()) == 1
    assert await allowance(world, auckland.id) == ("2026-12-01", 100)
    assert (await allowance(world, london.id))[0] == "2026-11-01"
    world.clock.set(datetime(2026, 12, 1, 0, 30, tzinfo=UTC))
    assert await world.bus.handle(RefreshAllowances()) == 1  # London, not yet Los Angeles
    world.clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    assert await world.bus.handle(RefreshAllowances()) == 1
    assert (await allowance(world, la.id))[0] == "2026-12-01"
    assert await world.bus.handle(RefreshAllowances()) == 0


async def test_across_a_daylight_saving_change(world: Harness) -> None:
    berlin = await world.person("bea", tz="Europe/Berlin")
    world.clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    await world.bus.handle(RefreshAllowances())
    # Summer time began on 29 March: 22:30 UTC on 31 March is 00:30 on 1 April in Berlin.
    world.clock.set(datetime(2026, 3, 31, 21, 59, tzinfo=UTC))
    assert await world.bus.handle(RefreshAllowances()) == 0
    world.clock.set(datetime(2026, 3, 31, 22, 0, tzinfo=UTC))
    assert await world.bus.handle(RefreshAllowances()) == 1
    assert (await allowance(world, berlin.id))[0] == "2026-04-01"


async def test_the_rest_lapses_or_rolls_over_and_the_ledger_balances(world: Harness) -> None:
    await world.policy(min_reason_length=1)
    ana, ben = await world.person("ana"), await world.person("ben")
    world.clock.set(datetime(2026, 11, 20, tzinfo=UTC))
    await world.give(ana, ben, amount=30, reason="thanks")
    assert await allowance(world, ana.id) == ("2026-11-01", 70)
    world.clock.set(datetime(2026, 12, 1, 1, tzinfo=UTC))
    await world.bus.handle(RefreshAllowances())
    assert await allowance(world, ana.id) == ("2026-12-01", 100)  # the 70 left lapsed
    await world.policy(min_reason_length=1, rollover=True)
    world.clock.set(datetime(2027, 1, 1, 1, tzinfo=UTC))
    await world.bus.handle(RefreshAllowances())
    assert await allowance(world, ana.id) == ("2027-01-01", 200)
    async with world.uow(readonly=True) as uow:
        held = [
            await uow.ledger.balance(AccountRef(kind, who.id))
            for who in (ana, ben)
            for kind in (AccountKind.ALLOWANCE, AccountKind.EARNED)
        ]
    assert await issued(world) + sum(held) == 0


async def test_a_gift_that_opened_the_period_first_is_not_granted_again(world: Harness) -> None:
    await world.policy(min_reason_length=1)
    ana, ben = await world.person("ana"), await world.person("ben")
    world.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))
    await world.give(ana, ben, amount=10, reason="thanks")  # opens Ana's December lazily
    opened = await world.bus.handle(RefreshAllowances())
    assert opened == 1  # Ben only
    assert await allowance(world, ana.id) == ("2026-12-01", 90)
    grants = [e for e in world.notifier.events if isinstance(e, AllowanceOpened)]
    assert sorted(e.person_id for e in grants) == [ana.id, ben.id]


async def test_inactive_people_get_nothing(world: Harness) -> None:
    gone = await world.person("gone", active=False)
    await world.bus.handle(RefreshAllowances())
    assert await allowance(world, gone.id) == (None, 0)


async def test_three_schedulers_at_once_grant_each_allowance_once(sql_engine: AsyncEngine) -> None:
    world = Harness(SqlUnitOfWorkFactory(sql_engine))
    people = [await world.person(f"p{i}", tz="Europe/Paris") for i in range(40)]
    replicas = [Harness(SqlUnitOfWorkFactory(sql_engine), clock=world.clock) for _ in range(3)]
    counts = await asyncio.gather(*(r.bus.handle(RefreshAllowances()) for r in replicas))
    assert sum(counts) == len(people)
    assert await issued(world) == -100 * len(people)


async def test_a_tier_with_a_bonus_gives_more_to_give(world: Harness) -> None:
    from core.commands import ConfigureOrganisation
    from core.policy import Tier

    await world.policy(min_reason_length=1)
    await world.bus.handle(
        ConfigureOrganisation(
            tiers=(Tier(name="Bronze", threshold=50, badge="🥉", allowance_bonus=20),)
        )
    )
    star, other = await world.person("star"), await world.person("other")
    giver = await world.person("giver")
    world.clock.set(datetime(2026, 11, 20, tzinfo=UTC))
    await world.give(giver, star, amount=60, reason="great work")  # Bronze now
    world.clock.set(datetime(2026, 12, 1, 9, tzinfo=UTC))
    await world.bus.handle(RefreshAllowances())
    assert (await allowance(world, star.id))[1] == 120
    assert (await allowance(world, other.id))[1] == 100
    # The lazy path (a gift opening the period) agrees.
    world.clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))
    await world.give(star, other, amount=1, reason="thanks")
    assert (await allowance(world, star.id))[1] == 119
