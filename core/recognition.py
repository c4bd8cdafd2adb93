"""A recognition: one act of giving kudos, to one or more people, for a reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True, kw_only=True)
class Recognition:
    id: int
    key: str  # idempotency key of the request that created it
    giver_id: int
    receiver_ids: tuple[int, ...]
    amount: int  # per receiver
    reason: str
    values: tuple[str, ...]
    source: str  # "console", "slack", "teams", "reaction", …
    created_at: datetime
    context: Mapping[str, str] = field(default_factory=dict)  # channel, message link …
    revoked_at: datetime | None = None

    @property
    def total(self) -> int:
        return self.amount * len(self.receiver_ids)


class StatRole(StrEnum):
    RECEIVED = "received"
    GIVEN = "given"


ALL_VALUES = ""  # the value slug of the bucket that counts every recognition


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class StatDelta:
    """A change to one pre-aggregated leaderboard bucket."""

    role: StatRole
    bucket: str  # e.g. "month:2026-11-01" or "all"
    value: str  # a value slug, or ALL_VALUES
    person_id: int
    points: int
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Standing:
    person_id: int
    points: int
    count: int


@dataclass(frozen=True, slots=True)
class StatRow:
    """One row of a leaderboard bucket."""

    value: str
    person_id: int
    points: int
    count: int
