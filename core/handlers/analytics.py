"""Analytics queries: stats for a period, and fairness insights.

Who sees what is decided here: HR admins see everyone (optionally one department), a
manager sees their reports, direct and indirect, anyone else sees their own figures.
Periods and windows are calendar days in the viewer's own time zone.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, timedelta

from ..analytics import (
    INSIGHTS_DAYS,
    LEAD_TIME_PERCENTILES,
    NOT_RECOGNISED_DAYS,
    NOT_RECOGNISED_LISTED,
    RING_MIN_KUDOS,
    RING_SHARE,
    RINGS_LISTED,
    TOP_SHARE,
    TOP_VALUES,
    TREND_WEEKS,
    Concentration,
    DepartmentRow,
    Giving,
    InsightsView,
    LeadTimes,
    Quiet,
    Ring,
    RingMember,
    Scope,
    ScopeKind,
    StatsView,
    WeekPoint,
)
from ..clock import Clock
from ..commands import GetInsights, GetStats
from ..errors import DepartmentNotYours, UnknownDepartment, UnknownPerson
from ..people import Person, Role
from ..periods import PeriodKind, local_day, local_midnight, period_containing
from ..ports import AnalyticsRepository, UnitOfWork

SECONDS_PER_HOUR = 3600


async def get_stats(cmd: GetStats, uow: UnitOfWork, *, clock: Clock) -> StatsView:
    viewer = await _viewer(uow, cmd.viewer_id)
    scope = await resolve_scope(uow, viewer, cmd.department)
    today = local_day(clock.now(), viewer.tz)
    period = period_containing(today, cmd.window)
    since, until = local_midnight(period.start, viewer.tz), local_midnight(period.end, viewer.tz)
    figures = uow.analytics
    rows = await figures.department_rows(scope, since, until)
    return StatsView(
        window=cmd.window,
        period=period,
        scope=scope,
        departments=sorted(rows, key=_department_order),
        top_values=await figures.top_values(scope, since, until, limit=TOP_VALUES),
        redemptions=await figures.redemption_figures(scope, since, until),
        lead_times=await _lead_times(figures, scope, since, until),
        trend=await _trend(figures, scope, today, viewer.tz),
    )


async def get_insights(cmd: GetInsights, uow: UnitOfWork, *, clock: Clock) -> InsightsView:
    viewer = await _viewer(uow, cmd.viewer_id)
    scope = await resolve_scope(uow, viewer, None)
    today = local_day(clock.now(), viewer.tz)
    until = local_midnight(today + timedelta(days=1), viewer.tz)
    since = local_midnight(today - timedelta(days=INSIGHTS_DAYS), viewer.tz)
    figures = uow.analytics
    month, two_months = NOT_RECOGNISED_DAYS
    headcount = await figures.headcount(scope)
    flows = await figures.flows(scope, since, until)
    return InsightsView(
        scope=scope,
        as_of=today,
        days=INSIGHTS_DAYS,
        people_in_scope=headcount,
        not_recognised_30=await _quiet(figures, scope, month, today, viewer.tz),
        not_recognised_60=await _quiet(figures, scope, two_months, today, viewer.tz),
        rings=await _rings(uow, scope, since, until),
        concentration=await _concentration(figures, scope, since, until, headcount),
        flows=sorted(flows, key=lambda f: (-f.kudos, -f.points, f.source or "", f.target or "")),
    )


async def resolve_scope(uow: UnitOfWork, viewer: Person, department: str | None) -> Scope:
    """The viewer's scope, narrowed to a department they may see (matched in any case)."""
    scope = Scope(kind=await _scope_kind(uow, viewer), viewer_id=viewer.id)
    if department is None or not department.strip():
        return scope
    wanted = department.strip().casefold()
    known = await uow.analytics.departments(scope)
    match = next((d for d in known if d.casefold() == wanted), None)
    if match is not None:
        return replace(scope, department=match)
    if scope.kind is ScopeKind.EVERYONE:
        raise UnknownDepartment(department.strip())
    raise DepartmentNotYours(department.strip())


async def _scope_kind(uow: UnitOfWork, viewer: Person) -> ScopeKind:
    if Role.HR_ADMIN in viewer.roles:
        return ScopeKind.EVERYONE
    # The directory decides who manages whom: a manager is someone with reports.
    if await uow.people.direct_report_count(viewer.id):
        return ScopeKind.REPORTS
    return ScopeKind.SELF


async def _viewer(uow: UnitOfWork, person_id: int) -> Person:
    person = await uow.people.get(person_id)
    if person is None:
        raise UnknownPerson(str(person_id))
    return person


def _department_order(row: DepartmentRow) -> tuple[bool, int, int, str]:
    return (row.department is None, -row.points, -row.kudos, row.department or "")


async def _lead_times(
    figures: AnalyticsRepository, scope: Scope, since: datetime, until: datetime
) -> LeadTimes:
    decided, seconds = await figures.lead_times(
        scope, since, until, percentiles=LEAD_TIME_PERCENTILES
    )
    median, p90 = (_hours(seconds.get(p)) for p in LEAD_TIME_PERCENTILES)
    return LeadTimes(decided=decided, median_hours=median, p90_hours=p90)


def _hours(seconds: float | None) -> float | None:
    """One decimal of an hour. Whole seconds first: a store's time arithmetic may be off
    by microseconds (SQLite counts in fractional days), which must not tip the rounding."""
    if seconds is None:
        return None
    return round(round(seconds) / SECONDS_PER_HOUR, 1)


async def _trend(
    figures: AnalyticsRepository, scope: Scope, today: date, tz: str
) -> list[WeekPoint]:
    this_week = period_containing(today, PeriodKind.WEEK).start
    starts = [this_week - timedelta(weeks=TREND_WEEKS - 1 - i) for i in range(TREND_WEEKS)]
    # Local midnights, so a week keeps its own Monday across a daylight-saving change.
    bounds = [local_midnight(d, tz) for d in [*starts, this_week + timedelta(weeks=1)]]
    weeks = await figures.weekly(scope, bounds)
    return [
        WeekPoint(start=start, kudos=kudos, points=points)
        for start, (kudos, points) in zip(starts, weeks, strict=True)
    ]


async def _quiet(
    figures: AnalyticsRepository, scope: Scope, days: int, today: date, tz: str
) -> Quiet:
    since = local_midnight(today - timedelta(days=days), tz)
    total, people = await figures.not_recognised(scope, since, limit=NOT_RECOGNISED_LISTED)
    return Quiet(days=days, total=total, people=people)


async def _concentration(
    figures: AnalyticsRepository, scope: Scope, since: datetime, until: datetime, headcount: int
) -> Concentration:
    top = math.ceil(headcount * TOP_SHARE / 100)  # at least one person when anyone is in scope
    top_points, all_points = await figures.concentration(scope, since, until, top=top)
    return Concentration(people=top, top_points=top_points, all_points=all_points)


async def _rings(uow: UnitOfWork, scope: Scope, since: datetime, until: datetime) -> list[Ring]:
    found = await uow.analytics.rings(
        scope, since, until, min_kudos=RING_MIN_KUDOS, share=RING_SHARE
    )
    groups = {frozenset(g.person_id for g in group): group for group in found}
    # Only the smallest rings: a triad around a ringed pair only adds someone who gives to
    # the pair, and the pair is what a manager should look at.
    smallest = [group for key, group in groups.items() if not any(k < key for k in groups)]
    ids = sorted({g.person_id for group in smallest for g in group})
    people = await uow.people.get_many(ids)
    rings = [_ring(group, people) for group in smallest]
    rings.sort(key=lambda r: (-r.points, [m.person_id for m in r.members]))
    return rings[:RINGS_LISTED]


def _ring(group: tuple[Giving, ...], people: dict[int, Person]) -> Ring:
    members = (
        RingMember(
            person_id=g.person_id,
            name=people[g.person_id].display_name if g.person_id in people else "?",
            given=g.given,
            to_group=g.to_group,
        )
        for g in sorted(group, key=lambda g: g.person_id)
    )
    return Ring(members=tuple(members))
