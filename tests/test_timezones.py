"""Days and months are the giver's own: Auckland and Los Angeles live on different calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.errors import DailyLimitReached

from .harness import Harness


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_daily_limit_follows_the_givers_local_day(world: Harness) -> None:
    await world.policy(daily_limit=10)
    akl = await world.person("kiri", tz="Pacific/Auckland")  # UTC+13 in November
    lax = await world.person("lee", tz="America/Los_Angeles")  # UTC-8 in November
    friend = await world.person("friend")

    world.at(utc(2026, 11, 16, 10, 30))  # Auckland 23:30 on the 16th, LA 02:30 on the 16th
    await world.give(akl, friend, amount=10)
    await world.give(lax, friend, amount=10)

    world.at(utc(2026, 11, 16, 11, 30))  # Auckland 00:30 on the 17th: a new day there only
    await world.give(akl, friend, amount=10)
    with pytest.raises(DailyLimitReached) as refused:
        await world.give(lax, friend, amount=1)
    assert refused.value.left == 0

    world.at(utc(2026, 11, 17, 8, 0))  # LA midnight: now LA has a new day too
    await world.give(lax, friend, amount=10)
    with pytest.raises(DailyLimitReached):
        await world.give(akl, friend, amount=1)  # Auckland is still on the 17th (21:00)


async def test_monthly_allowance_refreshes_at_local_midnight(world: Harness) -> None:
    akl = await world.person("kiri", tz="Pacific/Auckland")
    lax = await world.person("lee", tz="America/Los_Angeles")
    friend = await world.person("friend")

    world.at(utc(2026, 11, 20, 12, 0))
    await world.give(akl, friend, amount=30)
    await world.give(lax, friend, amount=40)

    world.at(utc(2026, 11, 30, 11, 0))  # Auckland: 1 December 00:00; LA: 30 November 03:00
    akl_now, lax_now = await world.balance(akl), await world.balance(lax)
    assert (akl_now.allowance.left, akl_now.allowance.period.start) == (100, date(2026, 12, 1))
    assert (lax_now.allowance.left, lax_now.allowance.period.start) == (60, date(2026, 11, 1))
    assert lax_now.allowance.refreshes_on == date(2026, 12, 1)

    await world.give(akl, friend, amount=5)  # opens Auckland's December; November's rest lapses
    assert (await world.balance(akl)).allowance.left == 95

    world.at(utc(2026, 12, 1, 7, 59))  # LA: still 30 November, 23:59
    assert (await world.balance(lax)).allowance.left == 60
    world.at(utc(2026, 12, 1, 8, 0))  # LA: 1 December 00:00
    await world.give(lax, friend, amount=1)
    assert (await world.balance(lax)).allowance.left == 99
