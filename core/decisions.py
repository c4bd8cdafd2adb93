"""Decisions behind buttons: Approve / Decline, Confirm / Cancel, taken exactly once.

A decision is opened when laurel shows the buttons (a redemption to approve, an admin
change to confirm). The first click claims it with a guarded update and applies its
effect in the same unit of work; every later click, on any platform, learns who decided
and when. The effect of each kind of decision is registered by the feature that owns it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ports import UnitOfWork


class Outcome(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    CONFIRM = "confirm"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    key: str
    kind: str  # which feature owns it, e.g. "redemption"
    subject: str  # what is decided, in that feature's terms (an id)
    options: tuple[Outcome, ...]
    outcome: Outcome | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionResult:
    decision: Decision
    first: bool  # False: it had been decided before this click


Effect = Callable[["UnitOfWork", Decision], Awaitable[None]]
Effects = Mapping[str, Effect]
