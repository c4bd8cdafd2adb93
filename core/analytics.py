"""Analytics and fairness insights: what HR admins and managers read about recognition.

Every figure describes the people of one `Scope`: everyone (HR admins, optionally one
department), a manager's reports (direct and indirect), or the viewer alone. People in a
scope are its active people who are not bots; the points liability also counts people who
left and kept their points, because the organisation still owes those.

Counting rules, the same on every store:
* a kudos is one receiver of one recognition (a recognition of three people is three
  kudos), dated when it was given; revoked recognitions do not count;
* figures about receiving (kudos, points, top values, trend, departments) count what the
  people in scope received, from anyone; giving rates count what they gave, to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from .periods import Period, PeriodKind

# --------------------------------------------------------------------------- thresholds

TREND_WEEKS = 12  # a quarter of weekly points: long enough to see a trend, short enough to read
TOP_VALUES = 5  # the values a card lists; the rest are a long tail nobody acts on
LEAD_TIME_PERCENTILES = (50, 90)  # median for the usual wait, p90 for the slow approvers

NOT_RECOGNISED_DAYS = (30, 60)  # a month is a nudge, two months a pattern to act on
NOT_RECOGNISED_LISTED = 10  # names a card can show; the count says how many more
INSIGHTS_DAYS = 90  # rings, concentration and cross-team share: a quarter smooths one-offs
# A ring: every member gives at least this share (%) of their points to the others. Above
# half means the group, not the wider organisation, gets most of their recognition.
RING_SHARE = 60
RING_MIN_KUDOS = 3  # gifts given in the window: one thank-you returned is not a ring
RING_MAX_SIZE = 3  # pairs and triads; larger closed groups are teams, not rings
RINGS_LISTED = 5
TOP_SHARE = 10  # concentration: the share of points received by the top 10 % of people


class ScopeKind(StrEnum):
    EVERYONE = "everyone"  # HR admins
    REPORTS = "reports"  # a manager: everyone below them in the reporting chain
    SELF = "self"  # anyone else: their own figures only


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    kind: ScopeKind
    viewer_id: int
    department: str | None = None  # only the people of this department (its stored name)


# --------------------------------------------------------------------------- stats


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartmentRow:
    department: str | None  # None: people without a department
    people: int
    givers: int  # people who gave at least once in the period
    receivers: int  # people who received at least once
    kudos: int  # received
    points: int  # received


@dataclass(frozen=True, slots=True)
class ValueCount:
    value: str  # the value's slug
    kudos: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RedemptionFigures:
    """`holders`: people in scope who could redeem in the period (points now, or a
    redemption approved in it); `redeemers`: those with a redemption approved in it."""

    holders: int
    redeemers: int
    points_redeemed: int  # approved in the period
    liability: int  # earned and held points not yet redeemed, now

    @property
    def rate(self) -> float:
        return _share(self.redeemers, self.holders)


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadTimes:
    """Hours from a redemption request to its approver's decision (approved or declined),
    for decisions taken in the period; nearest-rank percentiles."""

    decided: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekPoint:
    start: date  # the Monday, in the viewer's time zone
    kudos: int
    points: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StatsView:
    window: PeriodKind
    period: Period  # the current calendar period in the viewer's time zone
    scope: Scope
    departments: list[DepartmentRow]  # most points first; no department last
    top_values: list[ValueCount]
    redemptions: RedemptionFigures
    lead_times: LeadTimes
    trend: list[WeekPoint]  # the last TREND_WEEKS weeks, oldest first, this week last

    @property
    def people_in_scope(self) -> int:
        return sum(d.people for d in self.departments)

    @property
    def givers(self) -> int:
        return sum(d.givers for d in self.departments)

    @property
    def receivers(self) -> int:
        return sum(d.receivers for d in self.departments)

    @property
    def kudos(self) -> int:
        return sum(d.kudos for d in self.departments)

    @property
    def points(self) -> int:
        return sum(d.points for d in self.departments)

    @property
    def participation_give(self) -> float:
        return _share(self.givers, self.people_in_scope)

    @property
    def participation_receive(self) -> float:
        return _share(self.receivers, self.people_in_scope)


# --------------------------------------------------------------------------- insights


@dataclass(frozen=True, slots=True, kw_only=True)
class QuietPerson:
    person_id: int
    name: str
    manager: str | None
    last_recognised: datetime | None  # None: never


@dataclass(frozen=True, slots=True, kw_only=True)
class Quiet:
    """People in scope not recognised in the last `days` days: how many, and the first
    few (never recognised first, then the longest without)."""

    days: int
    total: int
    people: list[QuietPerson]


@dataclass(frozen=True, slots=True, kw_only=True)
class Giving:
    """What one member of a candidate ring gave in the window: in all, and to the group."""

    person_id: int
    given: int
    to_group: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RingMember:
    person_id: int
    name: str
    given: int
    to_group: int

    @property
    def share(self) -> float:
        return _share(self.to_group, self.given)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ring:
    members: tuple[RingMember, ...]  # by person id

    @property
    def points(self) -> int:
        """Points exchanged inside the group."""
        return sum(m.to_group for m in self.members)

    @property
    def share(self) -> float:
        """The smallest member's share: every member gives at least this much inside."""
        return min(m.share for m in self.members)


@dataclass(frozen=True, slots=True, kw_only=True)
class Concentration:
    people: int  # how many people make the top TOP_SHARE %
    top_points: int  # what they received
    all_points: int  # what everyone in scope received

    @property
    def share(self) -> float:
        return _share(self.top_points, self.all_points)


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    """Kudos received by people in scope, from one department to another."""

    source: str | None  # the giver's department
    target: str | None  # the receiver's department
    kudos: int
    points: int

    @property
    def crosses(self) -> bool:
        return self.source != self.target


@dataclass(frozen=True, slots=True, kw_only=True)
class InsightsView:
    scope: Scope
    as_of: date  # today in the viewer's time zone
    days: int  # the window of rings, concentration and flows
    people_in_scope: int
    not_recognised_30: Quiet
    not_recognised_60: Quiet
    rings: list[Ring]  # most points exchanged first
    concentration: Concentration
    flows: list[Flow]  # most kudos first

    @property
    def kudos(self) -> int:
        return sum(f.kudos for f in self.flows)

    @property
    def cross_team_kudos(self) -> int:
        return sum(f.kudos for f in self.flows if f.crosses)

    @property
    def cross_team(self) -> float:
        return _share(self.cross_team_kudos, self.kudos)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def percent(fraction: float) -> int:
    """A fraction as a whole percentage, halves rounded up (as people round)."""
    return int(fraction * 100 + 0.5)
