"""Giving allowances: opening a person's period in their own time zone, and reading it."""

from __future__ import annotations

from datetime import datetime

from .. import ledger
from ..allowance_plan import allowance_plan
from ..clock import Clock
from ..commands import RefreshAllowance, RefreshAllowances
from ..errors import UnknownPerson
from ..events import AllowanceOpened, AllowancesOpened
from ..ledger import AllowanceAccount, TransferKind, transfer
from ..people import Person
from ..periods import Period, local_day, period_containing
from ..policy import Allowance, OrgConfig, RuleScope, allowance_for, tier_bonuses, tier_for
from ..ports import UnitOfWork
from ..views import AllowanceState


async def entitlement(uow: UnitOfWork, person: Person, config: OrgConfig) -> Allowance:
    reports = 0
    if config.policy.manager_bonus_per_report:
        reports = await uow.people.direct_report_count(person.id)
    tier = None
    if tier_bonuses(config.tiers):
        tier = tier_for(await uow.stats.lifetime_received(person.id), config.tiers)
    return allowance_for(person, config.policy, config.rules, reports, tier)


async def entitlements(
    uow: UnitOfWork, people: list[Person], config: OrgConfig
) -> dict[int, Allowance]:
    """What each person is due per period, with a constant number of reads."""
    reports = (
        await uow.people.direct_report_counts() if config.policy.manager_bonus_per_report else {}
    )
    lifetimes = await uow.stats.lifetimes() if tier_bonuses(config.tiers) else {}
    due = {}
    for person in people:
        tier = tier_for(lifetimes[person.id], config.tiers) if person.id in lifetimes else None
        due[person.id] = allowance_for(
            person, config.policy, config.rules, reports.get(person.id, 0), tier
        )
    return due


async def open_current_period(
    uow: UnitOfWork, person: Person, config: OrgConfig, now: datetime
) -> AllowanceState:
    """Grant this period's allowance once (per person and period), lapsing the last one's rest."""
    due, period, account = await _standing(uow, person, config, now)
    if _is_behind(account, period.key) and await uow.ledger.open_period(
        person.id, period.key, due.amount
    ):
        await _lapse_and_grant(uow, person.id, period.key, due.amount, config, now)
        account = await uow.ledger.allowance_account(person.id)
    return AllowanceState(period=period, total=account.granted, left=account.balance)


async def _standing(
    uow: UnitOfWork, person: Person, config: OrgConfig, now: datetime
) -> tuple[Allowance, Period, AllowanceAccount]:
    """What the person is due, the period they are in now, and their account as stored."""
    due = await entitlement(uow, person, config)
    period = period_containing(local_day(now, person.tz), due.period)
    return due, period, await uow.ledger.allowance_account(person.id)


def _is_behind(account: AllowanceAccount, period_key: str) -> bool:
    return account.period_key is None or account.period_key < period_key


async def _lapse_and_grant(
    uow: UnitOfWork, person_id: int, key: str, amount: int, config: OrgConfig, now: datetime
) -> None:
    account = ledger.allowance(person_id)
    rest = await uow.ledger.balance(account)
    if rest and not config.policy.rollover:
        lapse = transfer(
            f"allowance-lapse:{person_id}:{key}",
            TransferKind.ALLOWANCE_LAPSE,
            (account, ledger.ISSUANCE, rest),
        )
        await uow.ledger.post(lapse, at=now)
    if amount:
        grant = transfer(
            f"allowance:{person_id}:{key}",
            TransferKind.ALLOWANCE_GRANT,
            (ledger.ISSUANCE, account, amount),
        )
        await uow.ledger.post(grant, at=now)
    uow.emit(AllowanceOpened(person_id=person_id, period_key=key, amount=amount))


async def current_allowance(
    uow: UnitOfWork, person: Person, config: OrgConfig, now: datetime
) -> AllowanceState:
    """The allowance as it stands now, without writing: an unopened period shows its grant."""
    due, period, account = await _standing(uow, person, config, now)
    if not _is_behind(account, period.key):
        return AllowanceState(period=period, total=account.granted, left=account.balance)
    carried = account.balance if config.policy.rollover else 0
    return AllowanceState(period=period, total=due.amount, left=carried + due.amount)


async def refresh_allowance(
    cmd: RefreshAllowance, uow: UnitOfWork, *, clock: Clock
) -> AllowanceState:
    person = await uow.people.get(cmd.person_id)
    if person is None:
        raise UnknownPerson(str(cmd.person_id))
    return await open_current_period(uow, person, await uow.config.load(), clock.now())


async def refresh_allowances(cmd: RefreshAllowances, uow: UnitOfWork, *, clock: Clock) -> int:
    """Open every active person's current period (in their own time zone); returns how
    many were opened now.

    The rule is compiled into a plan (a few rows whatever the headcount) that persistence
    runs set-based; nobody is read into Python. The same guard as a gift's lazy opening
    (only accounts still behind move) makes a second run, a concurrent gift or another
    replica grant nothing more.
    """
    config, now = await uow.config.load(), clock.now()
    departments = await uow.people.departments() if _has_department_rules(config) else set()
    plan = allowance_plan(config, now, zones=await uow.people.time_zones(), departments=departments)
    opened = await uow.ledger.open_due_periods(plan, at=now)
    for group in opened:
        uow.emit(
            AllowancesOpened(
                period_key=group.period_key, amount=group.granted, person_ids=group.person_ids
            )
        )
    return sum(len(group.person_ids) for group in opened)


def _has_department_rules(config: OrgConfig) -> bool:
    return any(rule.scope is RuleScope.DEPARTMENT for rule in config.rules)
