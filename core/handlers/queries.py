"""Read-only queries: balance, history, leaderboard, values."""

from __future__ import annotations

from ..clock import Clock
from ..commands import GetBalance, GetHistory, GetLeaderboard, ListValues
from ..errors import UnknownPerson, UnknownValue
from ..ledger import AccountKind
from ..people import Person
from ..periods import PeriodKind, Window, bucket_key, local_day, period_containing
from ..policy import CompanyValue, next_tier, tier_for, value_slug
from ..ports import UnitOfWork
from ..recognition import ALL_VALUES, StatRole
from ..views import BalanceView, HistoryView, LeaderboardView, Ranked, ValuesView
from .allowance import current_allowance


async def _person(uow: UnitOfWork, person_id: int) -> Person:
    person = await uow.people.get(person_id)
    if person is None:
        raise UnknownPerson(str(person_id))
    return person


async def get_balance(cmd: GetBalance, uow: UnitOfWork, *, clock: Clock) -> BalanceView:
    person = await _person(uow, cmd.person_id)
    config = await uow.config.load()
    balances = await uow.ledger.balances(person.id)
    lifetime = await uow.stats.lifetime_received(person.id)
    return BalanceView(
        person=person,
        earned=balances.get(AccountKind.EARNED, 0),
        held=balances.get(AccountKind.HELD, 0),
        allowance=await current_allowance(uow, person, config, clock.now()),
        lifetime=lifetime,
        tier=tier_for(lifetime, config.tiers),
        next_tier=next_tier(lifetime, config.tiers),
    )


async def get_history(cmd: GetHistory, uow: UnitOfWork, *, clock: Clock) -> HistoryView:
    person = await _person(uow, cmd.person_id)
    items = await uow.recognitions.history(person.id, limit=cmd.limit)
    ids = {i for r in items for i in (r.giver_id, *r.receiver_ids)}
    return HistoryView(person=person, items=items, people=await uow.people.get_many(sorted(ids)))


async def get_leaderboard(cmd: GetLeaderboard, uow: UnitOfWork, *, clock: Clock) -> LeaderboardView:
    config = await uow.config.load()
    value = _value(cmd.value, config.values)
    day = local_day(clock.now(), config.policy.timezone)
    bucket = bucket_key(cmd.window, day)
    slug = value.slug if value else ALL_VALUES
    tops = {role: await uow.stats.top(role, bucket, slug, limit=cmd.limit) for role in StatRole}
    people = await uow.people.get_many(sorted({s.person_id for t in tops.values() for s in t}))
    period = None
    if cmd.window is not Window.ALL:
        period = period_containing(day, PeriodKind(cmd.window.value))

    def ranked(role: StatRole) -> list[Ranked]:
        return [
            Ranked(person=people[s.person_id], standing=s)
            for s in tops[role]
            if s.person_id in people
        ]

    return LeaderboardView(
        window=cmd.window,
        value=value,
        period=period,
        receivers=ranked(StatRole.RECEIVED),
        givers=ranked(StatRole.GIVEN),
    )


def _value(name: str | None, values: list[CompanyValue]) -> CompanyValue | None:
    if name is None:
        return None
    slug = value_slug(name)
    for value in values:  # retired values stay searchable: their history is kept
        if value.slug == slug:
            return value
    raise UnknownValue(name.lstrip("#"), tuple(v.slug for v in values if v.active))


async def list_values(cmd: ListValues, uow: UnitOfWork, *, clock: Clock) -> ValuesView:
    config = await uow.config.load()
    return ValuesView(
        values=[v for v in config.values if v.active], required=config.policy.values_required
    )
