"""Stats and fairness insights as platform-neutral cards.

The lines say everything; a chart (adapters/charts.py) may go with a card for readers
whose platform shows pictures, and then replaces the week-by-week lines it draws.
"""

from __future__ import annotations

from datetime import timedelta

from core.analytics import (
    TOP_SHARE,
    InsightsView,
    Quiet,
    Ring,
    Scope,
    ScopeKind,
    StatsView,
    percent,
)
from core.messages import MsgId, Names, Text, points, text
from core.periods import PeriodKind

from .cards import Card, Section
from .images import Chart

DEPARTMENTS_LISTED = 10  # a card stays readable; the departments chart shows them all

_WINDOWS = {
    PeriodKind.WEEK: MsgId.WINDOW_WEEK,
    PeriodKind.MONTH: MsgId.WINDOW_MONTH,
    PeriodKind.QUARTER: MsgId.WINDOW_QUARTER,
    PeriodKind.YEAR: MsgId.WINDOW_YEAR,
}
_SCOPES = {
    ScopeKind.EVERYONE: MsgId.SCOPE_EVERYONE,
    ScopeKind.REPORTS: MsgId.SCOPE_REPORTS,
    ScopeKind.SELF: MsgId.SCOPE_SELF,
}
NO_MANAGER = "—"


def scope_text(scope: Scope) -> Text:
    whom = text(_SCOPES[scope.kind])
    if scope.department is None:
        return whom
    return text(MsgId.SCOPE_DEPARTMENT, scope=whom, department=scope.department)


def department_name(department: str | None) -> Text | str:
    return text(MsgId.STATS_NO_DEPARTMENT) if department is None else department


def people(n: int) -> Text:
    return Text(MsgId.PEOPLE_COUNT, {}, n)


def kudos(n: int) -> Text:
    return Text(MsgId.KUDOS_COUNT, {}, n)


def days(n: int) -> Text:
    return Text(MsgId.DAYS, {}, n)


# --------------------------------------------------------------------------- stats


def stats_card(view: StatsView, chart: Chart | None = None) -> Card:
    sections = [
        Section(_summary(view)),
        Section(_department_lines(view), heading=text(MsgId.STATS_DEPARTMENTS)),
    ]
    if view.top_values:
        values = [
            text(MsgId.STATS_VALUE_LINE, value=f"#{v.value}", kudos=kudos(v.kudos))
            for v in view.top_values
        ]
        sections.append(Section(values, heading=text(MsgId.STATS_VALUES)))
    sections.append(Section(_reward_lines(view), heading=text(MsgId.STATS_REWARDS)))
    if chart is None:
        sections.append(Section(_week_lines(view), heading=text(MsgId.STATS_TREND)))
    title = text(MsgId.STATS_TITLE, scope=scope_text(view.scope))
    return Card(sections, title=title, badge="📊", image=chart)


def _summary(view: StatsView) -> list[Text]:
    everyone = people(view.people_in_scope)
    return [
        text(
            MsgId.STATS_PERIOD,
            window=text(_WINDOWS[view.window]),
            start=view.period.start,
            end=view.period.end - timedelta(days=1),  # the last day, not the exclusive end
        ),
        text(
            MsgId.STATS_GAVE,
            givers=view.givers,
            people=everyone,
            percent=percent(view.participation_give),
        ),
        text(
            MsgId.STATS_RECEIVED,
            receivers=view.receivers,
            people=everyone,
            percent=percent(view.participation_receive),
        ),
        text(MsgId.STATS_TOTALS, kudos=kudos(view.kudos), points=points(view.points)),
    ]


def _department_lines(view: StatsView) -> list[Text]:
    lines = [
        text(
            MsgId.STATS_DEPARTMENT_LINE,
            department=department_name(row.department),
            people=people(row.people),
            kudos=kudos(row.kudos),
            points=points(row.points),
        )
        for row in view.departments[:DEPARTMENTS_LISTED]
    ]
    hidden = len(view.departments) - DEPARTMENTS_LISTED
    if hidden > 0:
        lines.append(text(MsgId.INSIGHTS_MORE, number=hidden))
    return lines


def _reward_lines(view: StatsView) -> list[Text]:
    r, lead = view.redemptions, view.lead_times
    lines = [
        text(
            MsgId.STATS_REDEMPTION_RATE,
            redeemers=r.redeemers,
            holders=people(r.holders),
            percent=percent(r.rate),
            points=points(r.points_redeemed),
        ),
        text(MsgId.STATS_LIABILITY, points=points(r.liability)),
    ]
    if lead.decided and lead.median_hours is not None and lead.p90_hours is not None:
        lines.append(
            text(
                MsgId.STATS_LEAD_TIME,
                median=lead.median_hours,
                p90=lead.p90_hours,
                decided=lead.decided,
            )
        )
    else:
        lines.append(text(MsgId.STATS_LEAD_TIME_NONE))
    return lines


def _week_lines(view: StatsView) -> list[Text]:
    return [
        text(MsgId.STATS_WEEK_LINE, date=w.start, kudos=kudos(w.kudos), points=points(w.points))
        for w in view.trend
    ]


# --------------------------------------------------------------------------- insights


def insights_card(view: InsightsView, chart: Chart | None = None) -> Card:
    sections = [
        Section(_quiet_lines(view), heading=text(MsgId.INSIGHTS_QUIET)),
        Section(_ring_lines(view.rings), heading=text(MsgId.INSIGHTS_RINGS)),
        Section(_spread_lines(view), heading=text(MsgId.INSIGHTS_SPREAD)),
    ]
    title = text(MsgId.INSIGHTS_TITLE, scope=scope_text(view.scope))
    return Card(sections, title=title, badge="⚖️", image=chart)


def _quiet_count(quiet: Quiet) -> Text:
    return text(MsgId.INSIGHTS_QUIET_COUNT, people=people(quiet.total), days=days(quiet.days))


def _quiet_lines(view: InsightsView) -> list[Text]:
    # The 30-day list comes longest-unrecognised first, so it leads with the 60-day people.
    quiet = view.not_recognised_30
    lines = [_quiet_count(quiet), _quiet_count(view.not_recognised_60)]
    for p in quiet.people:
        manager = p.manager or NO_MANAGER
        if p.last_recognised is None:
            lines.append(text(MsgId.INSIGHTS_QUIET_NEVER, name=p.name, manager=manager))
        else:
            lines.append(
                text(
                    MsgId.INSIGHTS_QUIET_LINE, name=p.name, manager=manager, date=p.last_recognised
                )
            )
    hidden = quiet.total - len(quiet.people)
    if hidden > 0:
        lines.append(text(MsgId.INSIGHTS_MORE, number=hidden))
    return lines


def _ring_lines(rings: list[Ring]) -> list[Text]:
    if not rings:
        return [text(MsgId.INSIGHTS_RINGS_NONE)]
    return [
        text(
            MsgId.INSIGHTS_RING_LINE,
            names=Names(tuple(m.name for m in ring.members)),
            # Rounded down: "at least" must stay true of every member.
            percent=int(ring.share * 100),
            points=points(ring.points),
        )
        for ring in rings
    ]


def _spread_lines(view: InsightsView) -> list[Text]:
    lines: list[Text] = []
    c = view.concentration
    if c.all_points:
        lines.append(
            text(
                MsgId.INSIGHTS_CONCENTRATION,
                top=TOP_SHARE,
                people=people(c.people),
                percent=percent(c.share),
                points=points(c.all_points),
            )
        )
    if view.kudos:
        lines.append(
            text(
                MsgId.INSIGHTS_CROSS_TEAM,
                percent=percent(view.cross_team),
                cross=view.cross_team_kudos,
                kudos=kudos(view.kudos),
            )
        )
    lines.append(text(MsgId.INSIGHTS_WINDOW, days=days(view.days)))
    return lines
