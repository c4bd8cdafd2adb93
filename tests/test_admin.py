"""HR admin changes through the core: a preview first, nothing changed before Confirm,
applied once on Confirm by its proposer, audited with before and after; refusals
audited too. On the fakes and both engines; concurrent Confirms on both engines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from core.admin import (
    AddValue,
    Change,
    ChangeSetting,
    GrantRole,
    PutItem,
    RemoveTier,
    RenameValue,
    RetireItem,
    RetireValue,
    RevokeRole,
    Scope,
    SetAllowance,
    SetLimit,
    SetTier,
    TopUp,
    decode,
    encode,
)
from core.commands import Decide, EnsureAdmins, GetBalance, ProposeChange
from core.decisions import Outcome
from core.errors import (
    BadSetting,
    ItemExists,
    LastAdmin,
    NoChange,
    NotTheProposer,
    UnknownDepartment,
    UnknownSetting,
    UnknownTier,
    ValueExists,
)
from core.handlers.admin import REFUSED, Preview, Refused
from core.ledger import AccountKind
from core.people import Person, Role
from core.rewards import CatalogItem, ItemKind

from .harness import Harness

HR = frozenset({Role.EMPLOYEE, Role.HR_ADMIN})
NOW = datetime(2026, 11, 10, 12, tzinfo=UTC)


async def org(world: Harness) -> tuple[Person, Person, Person]:
    """Hana (HR), Ana and Ben in Engineering; Ana's November is open with 100 points."""
    world.at(NOW)
    await world.policy(min_reason_length=1)
    hana = await world.person("hana", roles=HR, department="People")
    ana = await world.person("ana", department="Engineering")
    ben = await world.person("ben", department="Engineering")
    await world.give(ana, ben, amount=30)  # opens Ana's period: 70 left
    return hana, ana, ben


async def propose(world: Harness, actor: Person, change: Change) -> Preview:
    result = await world.bus.handle(
        ProposeChange(actor_id=actor.id, change=change, platform="test")
    )
    assert isinstance(result, Preview)
    return result


async def confirm(world: Harness, actor: Person, preview: Preview, yes: bool = True) -> bool:
    outcome = Outcome.CONFIRM if yes else Outcome.CANCEL
    result = await world.bus.handle(
        Decide(key=preview.decision.key, outcome=outcome, person_id=actor.id)
    )
    return bool(result.first)


async def audit(world: Harness) -> list:
    async with world.uow(readonly=True) as uow:
        return [r.entry for r in await uow.audit.since(None, limit=100)]


async def allowance(world: Harness, person: Person) -> tuple[int, int]:
    view = await world.bus.handle(GetBalance(person_id=person.id))
    return view.allowance.left, view.allowance.total


async def test_a_change_waits_for_confirm_then_applies_once_and_is_audited(world: Harness) -> None:
    hana, _, _ = await org(world)
    preview = await propose(world, hana, SetLimit(name="daily", value=30))
    assert preview.decision.options == (Outcome.CONFIRM, Outcome.CANCEL)
    async with world.uow(readonly=True) as uow:
        assert (await uow.config.load()).policy.daily_limit == 0  # not before Confirm
    assert await confirm(world, hana, preview)
    assert not await confirm(world, hana, preview)  # a second click changes nothing
    async with world.uow(readonly=True) as uow:
        assert (await uow.config.load()).policy.daily_limit == 30
    [entry] = [e for e in await audit(world) if e.action == "limits.set"]
    assert (entry.actor_id, entry.subject, entry.platform) == (hana.id, "limit:daily", "test")
    assert (entry.before, entry.after) == ({"daily_limit": 0}, {"daily_limit": 30})


async def test_cancel_changes_nothing_and_only_the_proposer_decides(world: Harness) -> None:
    hana, _, _ = await org(world)
    other = await world.person("omar", roles=HR)
    preview = await propose(world, hana, SetLimit(name="cap", value=50))
    with pytest.raises(NotTheProposer):
        await confirm(world, other, preview)
    assert await confirm(world, hana, preview, yes=False)
    async with world.uow(readonly=True) as uow:
        assert (await uow.config.load()).policy.per_gift_cap == 100
    assert not [e for e in await audit(world) if e.action == "limits.set"]


async def test_a_non_admin_is_refused_changes_nothing_and_the_refusal_is_audited(
    world: Harness,
) -> None:
    _, ana, _ = await org(world)
    result = await world.bus.handle(
        ProposeChange(actor_id=ana.id, change=SetLimit(name="daily", value=1), platform="slack")
    )
    assert result == Refused(action="limits.set")
    [refusal] = [e for e in await audit(world) if e.action == REFUSED]
    assert (refusal.actor_id, refusal.subject, refusal.platform) == (ana.id, "limits.set", "slack")
    async with world.uow(readonly=True) as uow:
        assert (await uow.config.load()).policy.daily_limit == 0


async def test_an_admin_who_lost_the_role_cannot_confirm(world: Harness) -> None:
    hana, _, _ = await org(world)
    omar = await world.person("omar", roles=HR)
    preview = await propose(world, hana, SetLimit(name="daily", value=9))
    async with world.uow() as uow:
        await uow.people.set_roles(hana.id, frozenset({Role.EMPLOYEE}))
        await uow.commit()
    with pytest.raises(Exception) as refused:
        await confirm(world, hana, preview)
    assert type(refused.value).__name__ == "NotAnAdmin"
    assert omar  # another admin remains; the change stays unapplied
    async with world.uow(readonly=True) as uow:
        assert (await uow.config.load()).policy.daily_limit == 0


async def test_a_department_budget_applies_to_the_rest_of_the_period_too(world: Harness) -> None:
    hana, ana, ben = await org(world)
    preview = await propose(
        world, hana, SetAllowance(scope=Scope.DEPARTMENT, subject="engineering", amount=150)
    )
    texts = [line.key.value for line in preview.lines]
    assert texts == ["admin.change", "admin.affects", "admin.from_now"]
    assert preview.lines[1].count == 2
    assert await allowance(world, ana) == (70, 100)
    await confirm(world, hana, preview)
    assert await allowance(world, ana) == (120, 150)  # 50 more now
    assert await allowance(world, ben) == (150, 150)  # opens with the new amount
    assert await allowance(world, hana) == (100, 100)  # another department
    cut = await propose(
        world, hana, SetAllowance(scope=Scope.DEPARTMENT, subject="Engineering", amount=10)
    )
    await world.give(ana, hana, amount=100)  # 20 left
    await confirm(world, hana, cut)
    assert await allowance(world, ana) == (0, 130)  # takes back only what is unspent
    with pytest.raises(UnknownDepartment):
        await propose(world, hana, SetAllowance(scope=Scope.DEPARTMENT, subject="Nope", amount=5))


async def test_a_person_topup_adds_to_this_period_once(world: Harness) -> None:
    hana, ana, _ = await org(world)
    issued = await world.account(AccountKind.ISSUANCE)
    preview = await propose(
        world, hana, TopUp(scope=Scope.PERSON, subject=str(ana.id), amount=25, reason="launch")
    )
    await asyncio.gather(*(confirm(world, hana, preview) for _ in range(5)))
    assert await allowance(world, ana) == (95, 125)
    assert await world.account(AccountKind.ISSUANCE) == issued - 25


async def test_values_tiers_catalog_roles_and_settings(world: Harness) -> None:
    hana, ana, _ = await org(world)
    await world.values("ownership")

    async def apply(change: Change) -> None:
        await confirm(world, hana, await propose(world, hana, change))

    await apply(AddValue(name="Customer Obsession"))
    with pytest.raises(ValueExists):
        await propose(world, hana, AddValue(name="customer-obsession"))
    await apply(RenameValue(name="ownership", new_name="accountability"))
    await apply(RetireValue(name="customer-obsession"))
    async with world.uow(readonly=True) as uow:
        config = await uow.config.load()
    assert config.active_values() == ("accountability",)
    await apply(SetTier(name="Gold", threshold=1500, bonus=10))
    await apply(SetTier(name="Diamond", threshold=5000, badge="💠"))
    await apply(RemoveTier(name="bronze"))
    with pytest.raises(UnknownTier):
        await propose(world, hana, RemoveTier(name="Bronze"))
    async with world.uow(readonly=True) as uow:
        tiers = {t.name: t for t in (await uow.config.load()).tiers}
    assert tiers["Gold"].threshold == 1500 and tiers["Gold"].allowance_bonus == 10
    assert tiers["Diamond"].badge == "💠" and "Bronze" not in tiers
    await apply(PutItem(slug="lunch", name="Team lunch", price=200, kind="experience", new=True))
    with pytest.raises(ItemExists):
        await propose(world, hana, PutItem(slug="lunch", name="Lunch", price=1, new=True))
    await apply(PutItem(slug="lunch", stock=3, approval_needed=False))
    async with world.uow(readonly=True) as uow:
        lunch = await uow.catalog.get("lunch")
    assert lunch == CatalogItem(
        slug="lunch",
        name="Team lunch",
        kind=ItemKind.EXPERIENCE,
        price=200,
        stock=3,
        approval_needed=False,
    )
    await apply(RetireItem(slug="lunch"))
    await apply(GrantRole(person_id=ana.id, role="finance"))
    with pytest.raises(NoChange):
        await propose(world, hana, GrantRole(person_id=ana.id, role="finance"))
    with pytest.raises(LastAdmin):
        await propose(world, hana, RevokeRole(person_id=hana.id, role="hr_admin"))
    await apply(ChangeSetting(key="reminders", value="2"))
    await apply(ChangeSetting(key="channel", value="<#C0RECOG|kudos>"))
    await apply(ChangeSetting(key="reaction", value=":tada: 3"))
    with pytest.raises(UnknownSetting):
        await propose(world, hana, ChangeSetting(key="colour", value="blue"))
    with pytest.raises(BadSetting):
        await propose(world, hana, ChangeSetting(key="digest", value="maybe"))
    async with world.uow(readonly=True) as uow:
        config = await uow.config.load()
        ana_now = await uow.people.get(ana.id)
        lunch = await uow.catalog.get("lunch")
    assert config.policy.reminder_days == 2
    assert config.chat.recognition_channel == "C0RECOG"
    assert config.chat.reactions == {"star": 1, "tada": 3}
    assert ana_now is not None and Role.FINANCE in ana_now.roles
    assert lunch is not None and not lunch.active
    actions = [e.action for e in await audit(world)]
    for action in ("values.add", "values.rename", "tiers.set", "tiers.remove", "catalog.put"):
        assert action in actions
    assert {"catalog.retire", "role.grant", "settings.set", "values.retire"} <= set(actions)


async def test_every_change_survives_its_trip_through_storage() -> None:
    for change in (
        SetAllowance(scope=Scope.ROLE, subject="manager", amount=5, period="week"),
        TopUp(scope=Scope.DEPARTMENT, subject="Sales", amount=5, reason="Q4 push"),
        PutItem(slug="mug", unlimited=True, approval_needed=False),
        ChangeSetting(key="reaction", value="star 2"),
    ):
        assert decode(encode(change)) == change


async def test_laurel_admins_hold_the_role_from_the_start(world: Harness) -> None:
    _, ana, _ = await org(world)
    granted = await world.bus.handle(EnsureAdmins(emails=(ana.email, "nobody@example.com")))
    again = await world.bus.handle(EnsureAdmins(emails=(ana.email,)))
    assert (granted, again) == (1, 0)
    async with world.uow(readonly=True) as uow:
        found = await uow.people.get(ana.id)
    assert found is not None and Role.HR_ADMIN in found.roles
    [entry] = [e for e in await audit(world) if e.action == "role.grant"]
    assert entry.actor_id is None and entry.platform == "config"


@pytest.fixture
def sql_world(sql_uow: object) -> Harness:
    return Harness(sql_uow)  # type: ignore[arg-type]


async def test_fifty_concurrent_confirms_apply_a_topup_once(sql_world: Harness) -> None:
    hana, ana, _ = await org(sql_world)
    preview = await propose(
        sql_world, hana, TopUp(scope=Scope.PERSON, subject=str(ana.id), amount=10, reason="x")
    )
    results = await asyncio.gather(
        *(confirm(sql_world, hana, preview) for _ in range(50)), return_exceptions=True
    )
    assert sum(r is True for r in results) == 1
    assert await allowance(sql_world, ana) == (80, 110)
    assert len([e for e in await audit(sql_world) if e.action == "budget.topup"]) == 1
