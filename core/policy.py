"""The organisation's giving rules: allowances, limits, values and tiers. All of it is data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from .people import Person
from .periods import PeriodKind


@dataclass(frozen=True, slots=True, kw_only=True)
class GivingPolicy:
    """Organisation-wide defaults (CONTRACT.md "Defaults")."""

    allowance: int = 100
    period: PeriodKind = PeriodKind.MONTH
    rollover: bool = False
    manager_bonus_per_report: int = 0
    daily_limit: int = 0  # points per local day; 0 = no limit
    per_gift_cap: int = 100
    default_amount: int = 5
    min_reason_length: int = 10
    values_required: bool = False
    timezone: str = "UTC"  # the organisation's calendar, used for leaderboards
    leaver_points: str = "keep"  # LeaverPoints: what a leaver's earned points become
    # The scheduler's programme: reminders, celebrations, the weekly digest.
    reminder_days: int = 3  # remind of unused allowance this many days before the period ends
    celebrations: bool = True
    birthday_points: int = 10
    anniversary_points: int = 25
    digest: bool = True
    # Undecided redemptions: remind the approver, then their manager, then give up (refund).
    approval_remind_days: int = 2
    approval_escalate_days: int = 5
    approval_expire_days: int = 10
    gift_card_low_water: int = 5  # warn the admins when a pool has this many codes or fewer
    finance_approval_points: int = 0  # requests this large also need finance; 0: never
    points_expire_months: int = 0  # earned points expire this long after they came; 0: never
    expiry_warning_days: int = 14  # warn this many days before points expire
    point_value_cents: int = 0  # what a point is worth, for donation and payroll reports
    currency: str = "EUR"
    reason_retention_years: int = 0  # blank kudos reasons older than this; 0: keep them


def policy_with(policy: GivingPolicy, field: str, value: object) -> GivingPolicy:
    """The policy with one field changed, named at run time (admin settings and limits)."""
    changes: dict[str, Any] = {field: value}
    return replace(policy, **changes)


class RuleScope(StrEnum):
    PERSON = "person"
    DEPARTMENT = "department"
    ROLE = "role"


@dataclass(frozen=True, slots=True, kw_only=True)
class AllowanceRule:
    """An override of the default allowance for one person, department or role."""

    scope: RuleScope
    subject: str  # person id as text, department name, or role name
    amount: int
    period: PeriodKind | None = None  # None keeps the organisation's period


@dataclass(frozen=True, slots=True)
class Allowance:
    amount: int
    period: PeriodKind


def allowance_for(
    person: Person,
    policy: GivingPolicy,
    rules: list[AllowanceRule],
    direct_reports: int,
    tier: Tier | None = None,
) -> Allowance:
    """The most specific rule wins: person, then department, then the largest role rule;
    a manager's bonus per report and the tier's bonus come on top."""
    chosen = _most_specific(person, rules)
    base = chosen.amount if chosen else policy.allowance
    period = (chosen.period if chosen else None) or policy.period
    bonus = policy.manager_bonus_per_report * direct_reports
    return Allowance(base + bonus + (tier.allowance_bonus if tier else 0), period)


def tier_bonuses(tiers: list[Tier]) -> bool:
    """Whether any tier adds to the allowance (else nobody's lifetime needs reading)."""
    return any(t.allowance_bonus for t in tiers)


def _most_specific(person: Person, rules: list[AllowanceRule]) -> AllowanceRule | None:
    for rule in rules:
        if rule.scope is RuleScope.PERSON and rule.subject == str(person.id):
            return rule
    department = (person.department or "").casefold()
    for rule in rules:
        if rule.scope is RuleScope.DEPARTMENT and department == rule.subject.casefold():
            return rule
    role_rules = [r for r in rules if r.scope is RuleScope.ROLE and r.subject in person.roles]
    return max(role_rules, key=lambda r: r.amount, default=None)


_SLUG = re.compile(r"[^a-z0-9]+")


def value_slug(name: str) -> str:
    """`#Customer Obsession` and `#customer-obsession` name the same value."""
    return _SLUG.sub("-", name.casefold().lstrip("#")).strip("-")


@dataclass(frozen=True, slots=True, kw_only=True)
class CompanyValue:
    slug: str
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    name: str
    threshold: int  # lifetime earned points needed
    badge: str = ""
    perks: str = ""  # what the tier brings, in words (items also unlock by `min_tier`)
    allowance_bonus: int = 0  # extra points to give each period while holding the tier


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(name="Bronze", threshold=50, badge="🥉"),
    Tier(name="Silver", threshold=250, badge="🥈"),
    Tier(name="Gold", threshold=1000, badge="🥇"),
    Tier(name="Platinum", threshold=2500, badge="💎"),
)


def tier_for(lifetime: int, tiers: list[Tier]) -> Tier | None:
    reached = [t for t in tiers if lifetime >= t.threshold]
    return max(reached, key=lambda t: t.threshold, default=None)


def next_tier(lifetime: int, tiers: list[Tier]) -> Tier | None:
    ahead = [t for t in tiers if t.threshold > lifetime]
    return min(ahead, key=lambda t: t.threshold, default=None)


DEFAULT_REACTIONS: dict[str, int] = {"star": 1}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatSettings:
    """How recognition shows up in chat (CONTRACT.md `settings KEY VALUE`)."""

    recognition_channel: str | None = None  # a channel id; None: where the kudos was given
    reactions: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_REACTIONS))


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgConfig:
    """Everything a command needs to know about the organisation's rules, read once."""

    policy: GivingPolicy
    values: list[CompanyValue]
    tiers: list[Tier]
    rules: list[AllowanceRule]
    chat: ChatSettings = field(default_factory=ChatSettings)

    def active_values(self) -> tuple[str, ...]:
        return tuple(v.slug for v in self.values if v.active)
