"""Events laurel emits (past tense). They reach notifiers only after the commit."""

from __future__ import annotations

from dataclasses import dataclass

from .recognition import Recognition


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
class DecisionMade(Event):
    key: str
    kind: str
    subject: str
    outcome: str
    person_id: int


@dataclass(frozen=True, kw_only=True)
class PersonDeactivated(Event):
    person_id: int
