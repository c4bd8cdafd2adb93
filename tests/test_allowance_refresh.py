"""The scheduler's allowance refresh: set-based, in each person's time zone, exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.commands import RefreshAllowances
from core.events import AllowanceOpened, AllowancesOpened
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
    lazy = [e.person_id for e in world.notifier.of(AllowanceOpened)]  # type: ignore[attr-defined]
    batch = world.notifier.of(AllowancesOpened)
    assert lazy == [ana.id]
    assert [(e.period_key, e.amount, e.person_ids) for e in batch] == [  # type: ignore[attr-defined]
        ("2026-12-01", 100, (ben.id,))
    ]


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


async def test_rules_bonuses_and_tiers_set_each_grant_as_the_lazy_path(world: Harness) -> None:
    """Person beats department (any case) beats the largest role rule; a rule may set its
    own period; manager and tier bonuses come on top; leavers get nothing."""
    from core.commands import ConfigureOrganisation
    from core.people import Role
    from core.periods import PeriodKind
    from core.policy import AllowanceRule, RuleScope, Tier

    await world.policy(min_reason_length=1, manager_bonus_per_report=5)
    await world.bus.handle(
        ConfigureOrganisation(tiers=(Tier(name="Bronze", threshold=50, allowance_bonus=20),))
    )
    boss = await world.person("boss", roles=frozenset({Role.MANAGER}), tz="Asia/Tokyo")
    sales = await world.person("sal", department="sales", manager=boss)
    named = await world.person("named", department="Sales", manager=boss)
    plain = await world.person("plain", tz="America/New_York")
    await world.person("leaver", manager=boss, active=False)
    async with world.uow() as uow:
        for rule in (
            AllowanceRule(scope=RuleScope.ROLE, subject="manager", amount=200),
            AllowanceRule(scope=RuleScope.ROLE, subject="employee", amount=150),
            AllowanceRule(
                scope=RuleScope.DEPARTMENT, subject="SALES", amount=30, period=PeriodKind.WEEK
            ),
            AllowanceRule(scope=RuleScope.PERSON, subject=str(named.id), amount=70),
        ):
            await uow.config.put_rule(rule)
        await uow.commit()
    world.clock.set(datetime(2026, 11, 20, tzinfo=UTC))
    await world.give(boss, plain, amount=60, reason="great work")  # Plain is Bronze now
    world.clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))  # a Wednesday
    assert await world.bus.handle(RefreshAllowances()) == 4
    assert await allowance(world, boss.id) == ("2026-12-01", 200 + 2 * 5)
    assert await allowance(world, sales.id) == ("2026-11-30", 30)  # the week's Monday
    assert await allowance(world, named.id) == ("2026-12-01", 70)
    assert await allowance(world, plain.id) == ("2026-12-01", 150 + 20)
    assert await world.bus.handle(RefreshAllowances()) == 0
    world.clock.set(datetime(2026, 12, 7, 12, tzinfo=UTC))  # the next week: Sales only
    assert await world.bus.handle(RefreshAllowances()) == 1
    assert await allowance(world, sales.id) == ("2026-12-07", 30)


def test_the_plan_decides_as_allowance_for_and_period_containing() -> None:
    """The compiled plan (what the SQL runs) against the one-person rule, case by case."""
    import itertools

    from core.allowance_plan import allowance_plan
    from core.ledger import AllowanceAccount
    from core.people import Person, Role
    from core.periods import PeriodKind, local_day, period_containing
    from core.policy import (
        AllowanceRule,
        GivingPolicy,
        OrgConfig,
        RuleScope,
        Tier,
        allowance_for,
        tier_for,
    )

    rules = [
        AllowanceRule(scope=RuleScope.ROLE, subject="manager", amount=200),
        AllowanceRule(scope=RuleScope.ROLE, subject="approver", amount=200, period=PeriodKind.WEEK),
        AllowanceRule(scope=RuleScope.DEPARTMENT, subject="Straße", amount=40),
        AllowanceRule(scope=RuleScope.DEPARTMENT, subject="ops", amount=30, period=PeriodKind.YEAR),
        AllowanceRule(scope=RuleScope.PERSON, subject="3", amount=7, period=PeriodKind.QUARTER),
    ]
    tiers = [Tier(name="a", threshold=10, allowance_bonus=5), Tier(name="b", threshold=10)]
    tiers.append(Tier(name="c", threshold=100, allowance_bonus=9))
    config = OrgConfig(
        policy=GivingPolicy(manager_bonus_per_report=3), values=[], tiers=tiers, rules=rules
    )
    now = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    zones = ["UTC", "Pacific/Auckland", "America/Los_Angeles"]
    departments = [None, "STRASSE", "Straße", "OPS", "dev"]
    roles = [frozenset({Role.EMPLOYEE}), frozenset({Role.APPROVER, Role.MANAGER})]
    plan = allowance_plan(config, now, zones=zones, departments=[d or "" for d in departments])
    cases = itertools.product([3, 4], zones, departments, roles, [0, 2], [0, 10, 150])
    for pid, tz, department, held, reports, lifetime in cases:
        person = Person(
            id=pid, email="", display_name="", handle="", tz=tz, department=department, roles=held
        )
        expected = allowance_for(person, config.policy, rules, reports, tier_for(lifetime, tiers))
        key = period_containing(local_day(now, tz), expected.period).key
        got = plan.opening(person, AllowanceAccount(None, 0, 0), reports=reports, lifetime=lifetime)
        assert got is not None and (got.period_key, got.granted) == (key, expected.amount)
        assert plan.opening(person, AllowanceAccount(key, 1, 1), reports=0, lifetime=0) is None
