"""Events laurel emits (past tense). They reach notifiers only after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .recognition import Recognition
from .rewards import Redemption
from .views import DigestView


class Event:
    """Base of everything the bus dispatches to subscribers."""


@dataclass(frozen=True, kw_only=True)
class KudosGiven(Event):
    recognition: Recognition


@dataclass(frozen=True, kw_only=True)
class KudosRevoked(Event):
    recognition: Recognition
    reason: str


@dataclass(frozen=True, kw_only=True)
class TierReached(Event):
    person_id: int
    tier: str
    badge: str
    lifetime: int


@dataclass(frozen=True, kw_only=True)
class AllowanceOpened(Event):
    person_id: int
    period_key: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class AllowancesOpened(Event):
    """The scheduler's refresh opened these people's period with this grant: one event per
    period and amount rather than one per person (100,000 events cost more than the SQL)."""

    period_key: str
    amount: int
    person_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class DecisionMade(Event):
    key: str
    kind: str
    subject: str
    outcome: str
    person_id: int


@dataclass(frozen=True, kw_only=True)
class PersonDeactivated(Event):
    person_id: int


@dataclass(frozen=True, kw_only=True)
class AllowanceReminder(Event):
    person_id: int
    left: int
    ends_on: date  # the last day of the period


@dataclass(frozen=True, kw_only=True)
class Celebrated(Event):
    person_id: int
    kind: str  # "birthday" or "anniversary"
    years: int  # 0 for a birthday
    points: int


@dataclass(frozen=True, kw_only=True)
class DigestReady(Event):
    digest: DigestView


@dataclass(frozen=True, kw_only=True)
class RedemptionPlaced(Event):
    """A new request: its points are held (once per request, whether it needs an approval
    or is approved at once; reminders and reroutes are RedemptionRequested only)."""

    redemption: Redemption


@dataclass(frozen=True, kw_only=True)
class RedemptionRequested(Event):
    redemption: Redemption  # its approver has a decision to take
    decision_key: str  # the decision the approver takes (the first, or the finance one)
    reminder: bool = False  # asked before, still undecided


@dataclass(frozen=True, kw_only=True)
class RedemptionApproved(Event):
    redemption: Redemption


@dataclass(frozen=True, kw_only=True)
class RedemptionDeclined(Event):
    redemption: Redemption  # declined or cancelled: the points are back


@dataclass(frozen=True, kw_only=True)
class GiftCardsLow(Event):
    """A gift card's pool runs low: admins should upload codes."""

    item: str
    left: int


@dataclass(frozen=True, kw_only=True)
class PointsExpiring(Event):
    person_id: int
    points: int
    on: date  # the day they expire
