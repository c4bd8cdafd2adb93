"""What queries and commands return to adapters: plain data, ready to render."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .people import Person
from .periods import Period, Window
from .policy import CompanyValue, Tier
from .recognition import Recognition, Standing


@dataclass(frozen=True, slots=True, kw_only=True)
class AllowanceState:
    period: Period
    total: int  # granted for this period (plus top-ups)
    left: int

    @property
    def refreshes_on(self) -> date:
        return self.period.end


@dataclass(frozen=True, slots=True, kw_only=True)
class KudosResult:
    recognition: Recognition
    giver: Person
    receivers: tuple[Person, ...]
    allowance: AllowanceState
    replayed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeResult:
    recognition: Recognition
    refunded_to_allowance: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceView:
    person: Person
    earned: int
    held: int
    allowance: AllowanceState
    lifetime: int
    tier: Tier | None
    next_tier: Tier | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryView:
    person: Person
    items: list[Recognition]
    people: dict[int, Person]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ranked:
    person: Person
    standing: Standing


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderboardView:
    window: Window
    value: CompanyValue | None
    period: Period | None  # None for all time
    receivers: list[Ranked]
    givers: list[Ranked]


@dataclass(frozen=True, slots=True, kw_only=True)
class ValuesView:
    values: list[CompanyValue]
    required: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestView:
    """A week of recognition, for the recognition channel."""

    week_start: date
    kudos: int  # recognitions given
    points: int
    top_values: list[tuple[CompanyValue, int]]  # value, how many recognitions named it
    top_receivers: list[Ranked]
    new_tiers: list[tuple[Person, Tier]]
