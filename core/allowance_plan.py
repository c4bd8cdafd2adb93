"""The allowance rule as data, so the scheduler's refresh can run it set-based.

`allowance_for` decides one person at a time. Refreshing a whole organisation that way
means reading every person into Python; instead the refresh compiles the organisation's
rules into an `AllowancePlan` (a few small tables: rules in precedence order, the tier
bonuses, each time zone's current period) that persistence joins against everyone at
once. `AllowancePlan.opening` is the same plan evaluated for one person: the in-memory
fakes use it, and a test holds it equal to `allowance_for` and `period_containing`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .ledger import AllowanceAccount, Opening
from .people import Person
from .periods import PeriodKind, local_day, period_containing
from .policy import OrgConfig, RuleScope, Tier, tier_bonuses


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedRule:
    """One allowance rule as matched by the refresh: the first rule that matches wins."""

    scope: RuleScope
    subject: str  # person id as text, a department exactly as stored, or a role
    amount: int
    period: PeriodKind  # the organisation's period when the rule sets none


@dataclass(frozen=True, slots=True, kw_only=True)
class ZonePeriod:
    """The period a time zone is in now, for one period kind."""

    tz: str
    kind: PeriodKind
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TierBonus:
    threshold: int
    bonus: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AllowancePlan:
    """What every active person is due now, as data: see `opening` for the rule."""

    amount: int  # the organisation's default allowance…
    period: PeriodKind  # …and period
    rules: tuple[PlannedRule, ...]  # in precedence order
    bonus_per_report: int  # per active direct report
    tiers: tuple[TierBonus, ...]  # highest threshold first; empty when no tier adds
    zones: tuple[ZonePeriod, ...]  # every (time zone, period kind) the people need
    rollover: bool  # the rest of a period carries over instead of lapsing

    def rule_for(self, person: Person) -> PlannedRule | None:
        department = person.department or ""
        for rule in self.rules:
            if rule.scope is RuleScope.PERSON and rule.subject == str(person.id):
                return rule
            if rule.scope is RuleScope.DEPARTMENT and rule.subject == department:
                return rule
            if rule.scope is RuleScope.ROLE and rule.subject in person.roles:
                return rule
        return None

    def tier_bonus(self, lifetime: int) -> int:
        return next((t.bonus for t in self.tiers if lifetime >= t.threshold), 0)

    def key(self, tz: str, kind: PeriodKind) -> str | None:
        return next((z.key for z in self.zones if z.tz == tz and z.kind is kind), None)

    def opening(
        self, person: Person, account: AllowanceAccount, *, reports: int, lifetime: int
    ) -> Opening | None:
        """The opening an active person is due now, or None if their account is in it."""
        rule = self.rule_for(person)
        base, kind = (rule.amount, rule.period) if rule else (self.amount, self.period)
        amount = base + self.bonus_per_report * reports + self.tier_bonus(lifetime)
        key = self.key(person.tz, kind)
        if key is None or (account.period_key is not None and account.period_key >= key):
            return None
        return Opening(person.id, key, amount)


def allowance_plan(
    config: OrgConfig, now: datetime, *, zones: Iterable[str], departments: Iterable[str]
) -> AllowancePlan:
    """Compile the organisation's rules for the people's time zones and departments (as
    stored, "" for none): what `allowance_for` and `period_containing` decide per person."""
    policy = config.policy
    rules = _planned_rules(config, set(departments))
    kinds = {policy.period, *(r.period for r in rules)}
    return AllowancePlan(
        amount=policy.allowance,
        period=policy.period,
        rules=rules,
        bonus_per_report=policy.manager_bonus_per_report,
        tiers=_tier_bonuses(config.tiers) if tier_bonuses(config.tiers) else (),
        zones=tuple(
            ZonePeriod(tz=tz, kind=kind, key=period_containing(local_day(now, tz), kind).key)
            for tz in sorted(set(zones))
            for kind in sorted(kinds)
        ),
        rollover=policy.rollover,
    )


def _planned_rules(config: OrgConfig, departments: set[str]) -> tuple[PlannedRule, ...]:
    """Person rules, then department rules (one per stored spelling that matches without
    case), then role rules largest first: the first match is `allowance_for`'s choice."""
    default = config.policy.period

    def planned(
        scope: RuleScope, subject: str, amount: int, period: PeriodKind | None
    ) -> PlannedRule:
        return PlannedRule(scope=scope, subject=subject, amount=amount, period=period or default)

    by_scope = {scope: [r for r in config.rules if r.scope is scope] for scope in RuleScope}
    people = [planned(r.scope, r.subject, r.amount, r.period) for r in by_scope[RuleScope.PERSON]]
    stored = sorted(departments)
    teams = [
        planned(r.scope, d, r.amount, r.period)
        for r in by_scope[RuleScope.DEPARTMENT]
        for d in stored
        if d.casefold() == r.subject.casefold()
    ]
    # sorted() is stable: among equal amounts the first rule wins, as max() picks it
    roles = sorted(by_scope[RuleScope.ROLE], key=lambda r: -r.amount)
    return (*people, *teams, *(planned(r.scope, r.subject, r.amount, r.period) for r in roles))


def _tier_bonuses(tiers: list[Tier]) -> tuple[TierBonus, ...]:
    """Highest threshold first; among equal thresholds the first tier, as `tier_for`."""
    ordered = sorted(tiers, key=lambda t: -t.threshold)  # stable
    seen: set[int] = set()
    out = []
    for t in ordered:
        if t.threshold not in seen:
            seen.add(t.threshold)
            out.append(TierBonus(threshold=t.threshold, bonus=t.allowance_bonus))
    return tuple(out)
