"""What the scheduler asks the core for: reminders, celebrations and the weekly digest.

Every case runs on the fakes and on both engines, with a fake clock in several zones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.commands import (
    CelebrateMilestones,
    PostDigest,
    RemindUnusedAllowance,
    SetMuted,
    SyncDirectory,
)
from core.directory import DirectoryRecord
from core.errors import UnknownReminderKind
from core.events import AllowanceReminder, Celebrated, DigestReady
from core.ledger import AccountKind, AccountRef

from .harness import Harness


def events(world: Harness, kind: type) -> list:
    return [e for e in world.notifier.events if isinstance(e, kind)]


async def staff(world: Harness, *records: DirectoryRecord) -> None:
    await world.bus.handle(SyncDirectory(records=records, source="csv"))


async def by_email(world: Harness, email: str):  # type: ignore[no-untyped-def]
    async with world.uow(readonly=True) as uow:
        return await uow.people.by_email(email)


async def test_unused_allowance_is_reminded_once_near_the_end_at_a_local_hour(
    world: Harness,
) -> None:
    await world.policy(min_reason_length=1)
    tokyo = await world.person("kenji", tz="Asia/Tokyo")
    ana = await world.person("ana", tz="Europe/Lisbon")
    world.clock.set(datetime(2026, 11, 10, 12, tzinfo=UTC))
    await world.give(tokyo, ana, amount=60, reason="thanks")  # Kenji has 40 left
    await world.give(ana, tokyo, amount=100, reason="thanks")  # Ana has nothing left
    world.clock.set(datetime(2026, 11, 26, 3, tzinfo=UTC))  # noon in Tokyo, too early: 4 days left
    assert await world.bus.handle(RemindUnusedAllowance()) == 0
    world.clock.set(datetime(2026, 11, 27, 18, tzinfo=UTC))  # 3:00 on the 28th in Tokyo: night
    assert await world.bus.handle(RemindUnusedAllowance()) == 0
    world.clock.set(datetime(2026, 11, 28, 1, 30, tzinfo=UTC))  # 10:30 on the 28th in Tokyo
    assert await world.bus.handle(RemindUnusedAllowance()) == 1
    assert await world.bus.handle(RemindUnusedAllowance()) == 0
    [reminder] = events(world, AllowanceReminder)
    assert (reminder.person_id, reminder.left, reminder.ends_on) == (
        tokyo.id,
        40,
        date(2026, 11, 30),
    )


async def test_a_muted_kind_is_not_sent(world: Harness) -> None:
    kenji = await world.person("kenji", tz="Asia/Tokyo")
    world.clock.set(datetime(2026, 11, 10, 12, tzinfo=UTC))
    await world.bus.handle(RemindUnusedAllowance())  # nothing yet; opens nothing either
    await world.give(kenji, await world.person("ana"), amount=5, reason="thanks a lot")
    muted = await world.bus.handle(SetMuted(person_id=kenji.id, kind="allowance", muted=True))
    assert muted == frozenset({"allowance"})
    world.clock.set(datetime(2026, 11, 28, 1, 30, tzinfo=UTC))
    assert await world.bus.handle(RemindUnusedAllowance()) == 0
    with pytest.raises(UnknownReminderKind):
        await world.bus.handle(SetMuted(person_id=kenji.id, kind="spam", muted=True))
    everything = await world.bus.handle(SetMuted(person_id=kenji.id, kind="all", muted=True))
    assert "celebrations" in everything
    none = await world.bus.handle(SetMuted(person_id=kenji.id, kind="all", muted=False))
    assert none == frozenset()


async def test_birthdays_and_anniversaries_in_the_local_morning_once(world: Harness) -> None:
    await staff(
        world,
        DirectoryRecord(
            email="aroha@example.com", display_name="Aroha", tz="Pacific/Auckland", birthday="11-28"
        ),
        DirectoryRecord(
            email="liam@example.com",
            display_name="Liam",
            tz="Europe/London",
            hire_date=date(2021, 11, 27),
        ),
        DirectoryRecord(email="quiet@example.com", display_name="Quiet", tz="UTC"),
    )
    aroha, liam = (
        await by_email(world, "aroha@example.com"),
        await by_email(world, "liam@example.com"),
    )
    # 19:00 UTC on the 27th is 8:00 on the 28th in Auckland: not yet morning there.
    world.clock.set(datetime(2026, 11, 27, 19, tzinfo=UTC))
    assert await world.bus.handle(CelebrateMilestones()) == 0
    world.clock.set(datetime(2026, 11, 27, 20, 30, tzinfo=UTC))
    assert await world.bus.handle(CelebrateMilestones()) == 1  # Aroha's birthday, 9:30 there
    # Liam's anniversary was on the 27th; at 20:30 London it is evening: tomorrow morning.
    world.clock.set(datetime(2026, 11, 28, 9, 30, tzinfo=UTC))
    assert await world.bus.handle(CelebrateMilestones()) == 1
    assert await world.bus.handle(CelebrateMilestones()) == 0
    made = {(e.person_id, e.kind, e.years, e.points) for e in events(world, Celebrated)}
    assert made == {(aroha.id, "birthday", 0, 10), (liam.id, "anniversary", 5, 25)}
    async with world.uow(readonly=True) as uow:
        assert await uow.ledger.balance(AccountRef(AccountKind.EARNED, aroha.id)) == 10


async def test_a_celebration_missed_for_days_is_not_made_late_forever(world: Harness) -> None:
    await staff(world, DirectoryRecord(email="b@example.com", display_name="B", birthday="11-01"))
    world.clock.set(datetime(2026, 11, 20, 10, tzinfo=UTC))
    assert await world.bus.handle(CelebrateMilestones()) == 0


async def test_celebrations_respect_the_opt_out_and_the_switch(world: Harness) -> None:
    await staff(world, DirectoryRecord(email="b@example.com", display_name="B", birthday="11-27"))
    person = await by_email(world, "b@example.com")
    await world.bus.handle(SetMuted(person_id=person.id, kind="celebrations", muted=True))
    world.clock.set(datetime(2026, 11, 27, 10, tzinfo=UTC))
    assert await world.bus.handle(CelebrateMilestones()) == 1  # the points, without the fuss
    assert events(world, Celebrated) == []
    async with world.uow(readonly=True) as uow:
        assert await uow.ledger.balance(AccountRef(AccountKind.EARNED, person.id)) == 10
    await world.bus.handle(SetMuted(person_id=person.id, kind="celebrations", muted=False))
    await world.policy(celebrations=False)
    assert await world.bus.handle(CelebrateMilestones()) == 0


async def test_the_weekly_digest_on_monday_morning_once(world: Harness) -> None:
    await world.policy(min_reason_length=1, timezone="Europe/Berlin")
    await world.values("ownership")
    ana, ben, cleo = (
        await world.person("ana"),
        await world.person("ben"),
        await world.person("cleo"),
    )
    world.clock.set(datetime(2026, 11, 18, 12, tzinfo=UTC))  # Wednesday of the week of the 16th
    await world.give(ana, ben, amount=30, reason="release", values=("ownership",))
    await world.give(cleo, ben, amount=25, reason="review")
    await world.give(ben, ana, amount=5, reason="coffee")
    world.clock.set(datetime(2026, 11, 23, 7, 30, tzinfo=UTC))  # Monday 8:30 in Berlin
    assert await world.bus.handle(PostDigest()) is False
    world.clock.set(datetime(2026, 11, 23, 8, 5, tzinfo=UTC))  # 9:05 in Berlin
    assert await world.bus.handle(PostDigest()) is True
    assert await world.bus.handle(PostDigest()) is False
    [ready] = events(world, DigestReady)
    digest = ready.digest
    assert digest.week_start == date(2026, 11, 16)
    assert (digest.kudos, digest.points) == (3, 60)
    assert [(v.slug, n) for v, n in digest.top_values] == [("ownership", 1)]
    assert [r.person.id for r in digest.top_receivers] == [ben.id, ana.id]
    assert [(p.id, t.name) for p, t in digest.new_tiers] == [(ben.id, "Bronze")]
