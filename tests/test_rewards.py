"""Redemptions: points held at once, one decision, exact refunds; on the fakes and both
engines, with the concurrency cases on both engines."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.commands import (
    CancelRedemption,
    ChaseApprovals,
    DeactivatePerson,
    Decide,
    GetShop,
    PutCatalogItem,
    Redeem,
)
from core.decisions import Outcome
from core.errors import (
    DomainError,
    ItemLimitReached,
    ItemUnavailable,
    NotEnoughPoints,
    NotTheApprover,
    OutOfStock,
    SelfApproval,
    TierTooLow,
    UnknownItem,
)
from core.events import RedemptionApproved, RedemptionDeclined, RedemptionRequested
from core.ledger import AccountKind, AccountRef
from core.people import Person, Role
from core.rewards import CatalogItem, ItemKind, RedemptionStatus

from .harness import Harness

MUG = CatalogItem(slug="mug", name="Mug", kind=ItemKind.MERCHANDISE, price=30, stock=3)
DONATION = CatalogItem(
    slug="donation", name="Donation", kind=ItemKind.CHARITY, price=10, approval_needed=False
)


async def balances(world: Harness, person: Person) -> tuple[int, int]:
    async with world.uow(readonly=True) as uow:
        earned = await uow.ledger.balance(AccountRef(AccountKind.EARNED, person.id))
        held = await uow.ledger.balance(AccountRef(AccountKind.HELD, person.id))
    return earned, held


async def redeemed(world: Harness) -> int:
    async with world.uow(readonly=True) as uow:
        return await uow.ledger.balance(AccountRef(AccountKind.REDEEMED))


async def team(world: Harness) -> tuple[Person, Person, Person]:
    """Maria manages Ana; Ana has 100 points earned."""
    await world.policy(min_reason_length=1)
    for item in (MUG, DONATION):
        await world.bus.handle(PutCatalogItem(item=item))
    maria = await world.person("maria")
    ana = await world.person("ana", manager=maria)
    ben = await world.person("ben")
    await world.give(ben, ana, amount=60, reason="thanks")
    await world.give(maria, ana, amount=40, reason="thanks")
    return maria, ana, ben


def events(world: Harness, kind: type) -> list:
    return [e for e in world.notifier.events if isinstance(e, kind)]


async def test_a_request_holds_and_the_managers_approval_spends(world: Harness) -> None:
    maria, ana, _ = await team(world)
    redemption = (
        await world.bus.handle(Redeem(person_id=ana.id, item="mug", quantity=2))
    ).redemption
    assert redemption.points == 60 and redemption.approver_id == maria.id
    assert await balances(world, ana) == (40, 60)
    [requested] = events(world, RedemptionRequested)
    assert requested.redemption.id == redemption.id
    result = await world.bus.handle(
        Decide(key=redemption.decision_key, outcome=Outcome.APPROVE, person_id=maria.id)
    )
    assert result.first
    assert await balances(world, ana) == (40, 0)
    assert await redeemed(world) == 60
    [approved] = events(world, RedemptionApproved)
    assert approved.redemption.status is RedemptionStatus.APPROVED


async def test_a_decline_refunds_exactly_and_gives_the_stock_back(world: Harness) -> None:
    maria, ana, _ = await team(world)
    redemption = (
        await world.bus.handle(Redeem(person_id=ana.id, item="mug", quantity=3))
    ).redemption
    with pytest.raises(OutOfStock):
        await world.bus.handle(Redeem(person_id=ana.id, item="mug"))
    await world.bus.handle(
        Decide(
            key=redemption.decision_key, outcome=Outcome.DECLINE, person_id=maria.id, note="budget"
        )
    )
    assert await balances(world, ana) == (100, 0)
    [declined] = events(world, RedemptionDeclined)
    assert declined.redemption.note == "budget"
    async with world.uow(readonly=True) as uow:
        mug = await uow.catalog.get("mug")
    assert mug is not None and mug.stock == 3


async def test_only_the_approver_chain_or_hr_decides_and_never_for_themselves(
    world: Harness,
) -> None:
    maria, ana, ben = await team(world)
    boss = await world.person("boss")
    async with world.uow() as uow:  # Maria reports to the boss
        await uow.people.update(Person(**{**_fields(maria), "manager_id": boss.id}))
        await uow.commit()
    hr = await world.person("hr", roles=frozenset({Role.HR_ADMIN}))
    first = (await world.bus.handle(Redeem(person_id=ana.id, item="mug"))).redemption
    for who, error in ((ana, SelfApproval), (ben, NotTheApprover)):
        with pytest.raises(error):
            await world.bus.handle(
                Decide(key=first.decision_key, outcome=Outcome.APPROVE, person_id=who.id)
            )
    assert await balances(world, ana) == (70, 30)  # nothing moved
    assert (
        await world.bus.handle(
            Decide(key=first.decision_key, outcome=Outcome.APPROVE, person_id=boss.id)
        )
    ).first
    second = (await world.bus.handle(Redeem(person_id=ana.id, item="mug"))).redemption
    assert (
        await world.bus.handle(
            Decide(key=second.decision_key, outcome=Outcome.DECLINE, person_id=hr.id)
        )
    ).first


async def test_cancel_refunds_and_a_later_click_learns_it_is_over(world: Harness) -> None:
    maria, ana, _ = await team(world)
    redemption = (await world.bus.handle(Redeem(person_id=ana.id, item="mug"))).redemption
    cancelled = await world.bus.handle(
        CancelRedemption(person_id=ana.id, redemption_id=redemption.id)
    )
    assert cancelled.status is RedemptionStatus.CANCELLED
    assert await balances(world, ana) == (100, 0)
    late = await world.bus.handle(
        Decide(key=redemption.decision_key, outcome=Outcome.APPROVE, person_id=maria.id)
    )
    assert not late.first and late.decision.outcome is Outcome.CANCEL
    assert await balances(world, ana) == (100, 0)


async def test_what_is_refused_changes_nothing(world: Harness) -> None:
    _, ana, _ = await team(world)
    await world.bus.handle(
        PutCatalogItem(
            item=CatalogItem(
                slug="gold", name="Gold gift", kind=ItemKind.CUSTOM, price=5, min_tier="Gold"
            )
        )
    )
    await world.bus.handle(
        PutCatalogItem(
            item=CatalogItem(
                slug="old",
                name="Old",
                kind=ItemKind.CUSTOM,
                price=5,
                available_until=date(2020, 1, 1),
            )
        )
    )
    await world.bus.handle(
        PutCatalogItem(
            item=CatalogItem(
                slug="one", name="One", kind=ItemKind.CUSTOM, price=1, per_person_limit=1
            )
        )
    )
    cases: list[tuple[Redeem, type[DomainError]]] = [
        (Redeem(person_id=ana.id, item="donation", quantity=11), NotEnoughPoints),
        (Redeem(person_id=ana.id, item="mug", quantity=4), OutOfStock),
        (Redeem(person_id=ana.id, item="nope"), UnknownItem),
        (Redeem(person_id=ana.id, item="gold"), TierTooLow),
        (Redeem(person_id=ana.id, item="old"), ItemUnavailable),
    ]
    for command, error in cases:
        with pytest.raises(error):
            await world.bus.handle(command)
    assert await balances(world, ana) == (100, 0)
    async with world.uow(readonly=True) as uow:
        mug = await uow.catalog.get("mug")
    assert mug is not None and mug.stock == 3  # a refused request takes no stock
    await world.bus.handle(Redeem(person_id=ana.id, item="one"))
    with pytest.raises(ItemLimitReached):
        await world.bus.handle(Redeem(person_id=ana.id, item="one"))


async def test_an_item_without_approval_is_spent_at_once_and_requests_are_idempotent(
    world: Harness,
) -> None:
    _, ana, _ = await team(world)
    first = (
        await world.bus.handle(Redeem(person_id=ana.id, item="donation", idempotency_key="k1"))
    ).redemption
    again = (
        await world.bus.handle(Redeem(person_id=ana.id, item="donation", idempotency_key="k1"))
    ).redemption
    assert first.status is RedemptionStatus.APPROVED and again.id == first.id
    assert await balances(world, ana) == (90, 0)
    assert events(world, RedemptionRequested) == []


def _fields(person: Person) -> dict[str, object]:
    return {name: getattr(person, name) for name in person.__slots__}  # type: ignore[attr-defined]


async def test_fifty_approve_and_fifty_decline_clicks_move_the_points_once(
    sql_engine: AsyncEngine,
) -> None:
    world = Harness(SqlUnitOfWorkFactory(sql_engine))
    maria, ana, _ = await team(world)
    redemption = (await world.bus.handle(Redeem(person_id=ana.id, item="mug"))).redemption
    clicks = [
        Decide(
            key=redemption.decision_key,
            outcome=Outcome.APPROVE if i % 2 else Outcome.DECLINE,
            person_id=maria.id,
        )
        for i in range(100)
    ]
    results = await asyncio.gather(*(world.bus.handle(c) for c in clicks))
    assert sum(r.first for r in results) == 1
    outcome = next(r.decision.outcome for r in results if r.first)
    earned, held = await balances(world, ana)
    assert held == 0
    assert (earned, await redeemed(world)) == ((70, 30) if outcome is Outcome.APPROVE else (100, 0))


async def test_a_last_item_goes_to_one_of_twenty(sql_engine: AsyncEngine) -> None:
    world = Harness(SqlUnitOfWorkFactory(sql_engine))
    await world.policy(min_reason_length=1)
    await world.bus.handle(
        PutCatalogItem(
            item=CatalogItem(
                slug="last", name="Last one", kind=ItemKind.MERCHANDISE, price=5, stock=1
            )
        )
    )
    manager = await world.person("lead")
    people = [await world.person(f"p{i}", manager=manager) for i in range(20)]
    for person in people:
        await world.give(manager, person, amount=5, reason="thanks")
    outcomes = await asyncio.gather(
        *(world.bus.handle(Redeem(person_id=p.id, item="last")) for p in people),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, OutOfStock) for o in outcomes if isinstance(o, BaseException))
    held = [await balances(world, p) for p in people]
    assert sorted(held) == [(0, 5)] + [(5, 0)] * 19


async def test_the_shop_says_what_is_open_and_why_the_rest_is_locked(world: Harness) -> None:
    _, ana, _ = await team(world)
    extra = (
        CatalogItem(slug="gold", name="Gold gift", kind=ItemKind.CUSTOM, price=5, min_tier="Gold"),
        CatalogItem(slug="gone", name="Gone", kind=ItemKind.MERCHANDISE, price=5, stock=0),
        CatalogItem(slug="big", name="Big", kind=ItemKind.EXPERIENCE, price=500),
        CatalogItem(slug="hidden", name="Hidden", kind=ItemKind.CUSTOM, price=5, active=False),
    )
    for item in extra:
        await world.bus.handle(PutCatalogItem(item=item))
    shop = await world.bus.handle(GetShop(person_id=ana.id))
    assert shop.earned == 100
    assert {line.item.slug: line.locked for line in shop.lines} == {
        "mug": None,
        "donation": None,
        "gold": "tier",
        "gone": "stock",
        "big": "points",
    }


async def test_undecided_requests_are_reminded_escalated_then_refunded(world: Harness) -> None:
    maria, ana, _ = await team(world)
    boss = await world.person("boss")
    async with world.uow() as uow:  # Maria reports to the boss
        await uow.people.update(Person(**{**_fields(maria), "manager_id": boss.id}))
        await uow.commit()
    start = world.clock.now().replace(hour=10)
    world.clock.set(start)
    r = (await world.bus.handle(Redeem(person_id=ana.id, item="mug"))).redemption
    asked = events(world, RedemptionRequested)
    assert await world.bus.handle(ChaseApprovals()) == 0  # too early
    world.clock.set(start + timedelta(days=2))
    assert await world.bus.handle(ChaseApprovals()) == 1
    assert await world.bus.handle(ChaseApprovals()) == 0  # reminded once
    world.clock.set(start + timedelta(days=5))
    assert await world.bus.handle(ChaseApprovals()) == 1
    requests = events(world, RedemptionRequested)[len(asked) :]
    assert [(e.redemption.approver_id, e.reminder) for e in requests] == [
        (maria.id, True),
        (boss.id, True),
    ]
    world.clock.set(start + timedelta(days=10))
    assert await world.bus.handle(ChaseApprovals()) == 1
    assert await balances(world, ana) == (100, 0)
    [expired] = events(world, RedemptionDeclined)
    assert expired.redemption.status is RedemptionStatus.EXPIRED
    late = await world.bus.handle(
        Decide(key=r.decision_key, outcome=Outcome.APPROVE, person_id=boss.id)
    )
    assert not late.first


async def test_a_leaving_approver_hands_pending_requests_to_their_manager(world: Harness) -> None:
    maria, ana, _ = await team(world)
    boss = await world.person("boss")
    async with world.uow() as uow:
        await uow.people.update(Person(**{**_fields(maria), "manager_id": boss.id}))
        await uow.commit()
    r = (await world.bus.handle(Redeem(person_id=ana.id, item="mug"))).redemption
    await world.bus.handle(DeactivatePerson(person_id=maria.id))
    async with world.uow(readonly=True) as uow:
        moved = await uow.redemptions.get(r.id)
    assert moved is not None and moved.approver_id == boss.id
    assert events(world, RedemptionRequested)[-1].redemption.approver_id == boss.id
    assert (
        await world.bus.handle(
            Decide(key=r.decision_key, outcome=Outcome.APPROVE, person_id=boss.id)
        )
    ).first


async def test_a_large_request_needs_finance_after_the_manager(world: Harness) -> None:
    maria, ana, _ = await team(world)
    await world.policy(min_reason_length=1, finance_approval_points=50)
    fin = await world.person("fin", roles=frozenset({Role.FINANCE}))
    big = (await world.bus.handle(Redeem(person_id=ana.id, item="mug", quantity=2))).redemption
    small = (await world.bus.handle(Redeem(person_id=ana.id, item="mug"))).redemption
    await world.bus.handle(
        Decide(key=small.decision_key, outcome=Outcome.APPROVE, person_id=maria.id)
    )
    await world.bus.handle(
        Decide(key=big.decision_key, outcome=Outcome.APPROVE, person_id=maria.id)
    )
    assert await balances(world, ana) == (10, 60)  # the small one is spent, the big one held
    second = events(world, RedemptionRequested)[-1]
    assert (second.decision_key, second.redemption.approver_id) == (big.finance_key, fin.id)
    with pytest.raises(NotTheApprover):  # the manager's part is done; this one is finance's
        await world.bus.handle(
            Decide(key=big.finance_key, outcome=Outcome.APPROVE, person_id=maria.id)
        )
    await world.bus.handle(Decide(key=big.finance_key, outcome=Outcome.APPROVE, person_id=fin.id))
    assert await balances(world, ana) == (10, 0)
    assert await redeemed(world) == 90


async def test_a_request_waiting_for_finance_can_still_be_cancelled(world: Harness) -> None:
    maria, ana, _ = await team(world)
    await world.policy(min_reason_length=1, finance_approval_points=50)
    await world.person("fin", roles=frozenset({Role.FINANCE}))
    big = (await world.bus.handle(Redeem(person_id=ana.id, item="mug", quantity=2))).redemption
    await world.bus.handle(
        Decide(key=big.decision_key, outcome=Outcome.APPROVE, person_id=maria.id)
    )
    await world.bus.handle(CancelRedemption(person_id=ana.id, redemption_id=big.id))
    assert await balances(world, ana) == (100, 0)


async def test_finance_cannot_be_skipped_by_rerouting_or_by_one_hr_admin(world: Harness) -> None:
    maria, ana, _ = await team(world)
    await world.policy(min_reason_length=1, finance_approval_points=50)
    async with world.uow() as uow:  # Maria is also an HR admin
        await uow.people.update(Person(**{**_fields(maria), "roles": frozenset({Role.HR_ADMIN})}))
        await uow.commit()
    fin = await world.person("fin", roles=frozenset({Role.FINANCE}))
    big = (await world.bus.handle(Redeem(person_id=ana.id, item="mug", quantity=2))).redemption
    await world.bus.handle(
        Decide(key=big.decision_key, outcome=Outcome.APPROVE, person_id=maria.id)
    )
    with pytest.raises(NotTheApprover):  # she took the first decision: not the second too
        await world.bus.handle(
            Decide(key=big.finance_key, outcome=Outcome.APPROVE, person_id=maria.id)
        )
    # Ana moves to a new manager: the request waiting for finance stays finance's.
    lead = await world.person("lead")
    async with world.uow() as uow:
        moved = await uow.people.get(ana.id)
        assert moved is not None
    from core.commands import SyncDirectory
    from core.directory import DirectoryRecord

    await world.bus.handle(
        SyncDirectory(
            source="csv",
            records=(
                DirectoryRecord(
                    email=ana.email, display_name=ana.display_name, manager_email=lead.email
                ),
            ),
        )
    )
    async with world.uow(readonly=True) as uow:
        waiting = await uow.redemptions.get(big.id)
    assert waiting is not None and waiting.approver_id == fin.id
    with pytest.raises(NotTheApprover):
        await world.bus.handle(
            Decide(key=big.finance_key, outcome=Outcome.APPROVE, person_id=lead.id)
        )
    assert (
        await world.bus.handle(
            Decide(key=big.finance_key, outcome=Outcome.APPROVE, person_id=fin.id)
        )
    ).first


async def test_a_leavers_own_pending_requests_are_refunded(world: Harness) -> None:
    _, ana, _ = await team(world)
    await world.bus.handle(Redeem(person_id=ana.id, item="mug"))
    await world.bus.handle(DeactivatePerson(person_id=ana.id))
    assert await balances(world, ana) == (100, 0)
    [cancelled] = events(world, RedemptionDeclined)
    assert cancelled.redemption.status is RedemptionStatus.CANCELLED


async def test_a_monthly_limit_cannot_be_raced(sql_engine: AsyncEngine) -> None:
    world = Harness(SqlUnitOfWorkFactory(sql_engine))
    _, ana, _ = await team(world)
    one = CatalogItem(slug="one", name="One", kind=ItemKind.CUSTOM, price=1, per_person_limit=1)
    await world.bus.handle(PutCatalogItem(item=one))
    outcomes = await asyncio.gather(
        *(world.bus.handle(Redeem(person_id=ana.id, item="one")) for _ in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, ItemLimitReached) for o in outcomes if isinstance(o, BaseException))
