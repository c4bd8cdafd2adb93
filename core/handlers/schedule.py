"""What the scheduler asks for: reminders, celebrations and the weekly digest.

Every job looks at the time in each person's own zone and decides who is due; the
scheduler only says "now". Each thing done is claimed in `uow.runs` in the same
transaction as its effect, so a second run, a catch-up after downtime or another
replica never does it twice.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .. import ledger
from ..clock import Clock
from ..commands import CelebrateMilestones, PostDigest, RemindUnusedAllowance, SetMuted
from ..errors import UnknownPerson, UnknownReminderKind
from ..events import AllowanceReminder, Celebrated, DigestReady
from ..ledger import AccountKind, AccountRef, TransferKind, transfer
from ..people import REMINDER_KINDS, Person
from ..periods import MORNING, PeriodKind, Window, bucket_key, daytime, local_day, period_containing
from ..policy import OrgConfig, allowance_for, tier_for
from ..ports import UnitOfWork
from ..recognition import ALL_VALUES, Standing, StatRole
from ..views import DigestView, Ranked

REMINDER_HOUR = 10  # allowance reminders: from 10:00 local time
LATE_DAYS = 3  # a celebration missed while laurel was down is still made this late


async def remind_unused_allowance(
    cmd: RemindUnusedAllowance, uow: UnitOfWork, *, clock: Clock
) -> int:
    config, now = await uow.config.load(), clock.now()
    accounts = await uow.ledger.allowance_accounts()
    reports = await uow.people.direct_report_counts()
    sent = 0
    for person in await uow.people.active_people():
        if "allowance" in person.muted or not daytime(now, person.tz, REMINDER_HOUR):
            continue
        due = allowance_for(person, config.policy, config.rules, reports.get(person.id, 0))
        today = local_day(now, person.tz)
        period = period_containing(today, due.period)
        last_day = period.end - timedelta(days=1)
        if (last_day - today).days >= config.policy.reminder_days:
            continue
        account = accounts.get(person.id)
        if account is None or account.period_key != period.key or account.balance <= 0:
            continue  # a period not opened yet has not been used at all: nothing to remind
        if await uow.runs.claim("reminder:allowance", f"{person.id}:{period.key}", at=now):
            uow.emit(AllowanceReminder(person_id=person.id, left=account.balance, ends_on=last_day))
            sent += 1
    return sent


async def celebrate_milestones(cmd: CelebrateMilestones, uow: UnitOfWork, *, clock: Clock) -> int:
    config, now = await uow.config.load(), clock.now()
    if not config.policy.celebrations:
        return 0
    made = 0
    for person in await uow.people.active_people():
        if person.is_bot:
            continue
        if not daytime(now, person.tz, MORNING):
            continue
        today = local_day(now, person.tz)
        for kind, day, years in _milestones(person, today):
            if 0 <= (today - day).days <= LATE_DAYS:
                made += await _celebrate(uow, config, person, kind, day, years, now)
    return made


def _milestones(person: Person, today: date) -> list[tuple[str, date, int]]:
    """This year's birthday and work anniversary (29 February: the 28th in other years)."""
    found = []
    if person.birthday:
        month, day = (int(part) for part in person.birthday.split("-"))
        found.append(("birthday", _on(today.year, month, day), 0))
    if person.hire_date:
        years = today.year - person.hire_date.year
        if years >= 1:
            found.append(
                (
                    "anniversary",
                    _on(today.year, person.hire_date.month, person.hire_date.day),
                    years,
                )
            )
    return found


def _on(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, 2, 28)


async def _celebrate(
    uow: UnitOfWork,
    config: OrgConfig,
    person: Person,
    kind: str,
    day: date,
    years: int,
    now: datetime,
) -> int:
    key = f"{person.id}:{day.year}"
    if not await uow.runs.claim(f"celebration:{kind}", key, at=now):
        return 0
    amount = (
        config.policy.birthday_points if kind == "birthday" else config.policy.anniversary_points
    )
    if amount:
        earned = AccountRef(AccountKind.EARNED, person.id)
        award = transfer(
            f"celebration:{kind}:{key}", TransferKind.AWARD, (ledger.ISSUANCE, earned, amount)
        )
        await uow.ledger.post(award, at=now)
    if "celebrations" not in person.muted:  # muted: the points, without the fuss
        uow.emit(Celebrated(person_id=person.id, kind=kind, years=years, points=amount))
    return 1


async def post_digest(cmd: PostDigest, uow: UnitOfWork, *, clock: Clock) -> bool:
    """From Monday 9:00 (organisation time), last week's digest, once."""
    config, now = await uow.config.load(), clock.now()
    zone = config.policy.timezone
    if not config.policy.digest or not daytime(now, zone, MORNING):
        return False
    this_week = period_containing(local_day(now, zone), PeriodKind.WEEK)
    week_start = this_week.start - timedelta(days=7)
    if not await uow.runs.claim("digest", week_start.isoformat(), at=now):
        return False
    uow.emit(DigestReady(digest=await _digest(uow, config, week_start)))
    return True


async def _digest(uow: UnitOfWork, config: OrgConfig, week_start: date) -> DigestView:
    bucket = bucket_key(Window.WEEK, week_start)
    given = await uow.stats.bucket(StatRole.GIVEN, bucket)
    received = await uow.stats.bucket(StatRole.RECEIVED, bucket)
    overall = [r for r in given if r.value == ALL_VALUES]
    named: dict[str, int] = {}
    for row in given:
        if row.value != ALL_VALUES:
            named[row.value] = named.get(row.value, 0) + row.count
    values = {v.slug: v for v in config.values}
    top_values = sorted(
        ((values[slug], n) for slug, n in named.items() if slug in values), key=lambda x: -x[1]
    )[:3]
    week_points = {r.person_id: r.points for r in received if r.value == ALL_VALUES}
    people = await uow.people.get_many(list(week_points))
    ranked = sorted(
        (r for r in received if r.value == ALL_VALUES and r.person_id in people),
        key=lambda r: (-r.points, r.person_id),
    )[:5]
    new_tiers = []
    for person_id, points in week_points.items():
        lifetime = await uow.stats.lifetime_received(person_id)
        now_tier = tier_for(lifetime, config.tiers)
        if now_tier is not None and now_tier != tier_for(lifetime - points, config.tiers):
            new_tiers.append((people[person_id], now_tier))
    return DigestView(
        week_start=week_start,
        kudos=sum(r.count for r in overall),
        points=sum(r.points for r in overall),
        top_values=top_values,
        top_receivers=[
            Ranked(
                person=people[r.person_id],
                standing=Standing(person_id=r.person_id, points=r.points, count=r.count),
            )
            for r in ranked
        ],
        new_tiers=new_tiers,
    )


async def set_muted(cmd: SetMuted, uow: UnitOfWork, *, clock: Clock) -> frozenset[str]:
    kinds = REMINDER_KINDS if cmd.kind == "all" else frozenset({cmd.kind})
    if not kinds <= REMINDER_KINDS:
        raise UnknownReminderKind(cmd.kind, REMINDER_KINDS)
    person = await uow.people.get(cmd.person_id)
    if person is None:
        raise UnknownPerson(str(cmd.person_id))
    muted = person.muted | kinds if cmd.muted else person.muted - kinds
    await uow.people.set_muted(person.id, muted)
    return muted
