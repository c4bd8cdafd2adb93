"""What an HR admin can change, as data: each change is previewed first and applied only
when its proposer confirms it (a `Decision` of kind "admin"), exactly once.

A change names people by id, departments and roles by name. It is stored between the
preview and the click (any replica may take the click), so every field is plain JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar

KIND = "admin"  # the decision kind


class Scope(StrEnum):
    EVERYONE = "everyone"  # the organisation's default
    PERSON = "person"
    DEPARTMENT = "department"
    ROLE = "role"


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    ACTION: ClassVar[str]  # the audit log's action, and the key in the registry below


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAllowance(Change):
    ACTION = "budget.set"
    scope: Scope
    subject: str = ""  # person id as text, department or role name; "" for everyone
    amount: int
    period: str | None = None  # week, month, quarter, year; None keeps the current one


@dataclass(frozen=True, slots=True, kw_only=True)
class TopUp(Change):
    ACTION = "budget.topup"
    scope: Scope  # PERSON or DEPARTMENT
    subject: str
    amount: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetLimit(Change):
    ACTION = "limits.set"
    name: str  # daily, cap, default, reason
    value: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AddValue(Change):
    ACTION = "values.add"
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RetireValue(Change):
    ACTION = "values.retire"
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameValue(Change):
    ACTION = "values.rename"
    name: str
    new_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequireValues(Change):
    ACTION = "values.required"
    on: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SetTier(Change):
    ACTION = "tiers.set"
    name: str
    threshold: int
    badge: str = ""
    bonus: int | None = None  # allowance bonus; None keeps the tier's current one


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveTier(Change):
    ACTION = "tiers.remove"
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PutItem(Change):
    """`catalog add` (every field given) or `catalog edit` (None keeps what the item has)."""

    ACTION = "catalog.put"
    slug: str
    name: str | None = None
    price: int | None = None
    kind: str | None = None
    stock: int | None = None
    unlimited: bool = False  # `stock none`: no stock count
    min_tier: str | None = None
    approval_needed: bool | None = None
    new: bool = False  # `add`: the slug must be free


@dataclass(frozen=True, slots=True, kw_only=True)
class RetireItem(Change):
    ACTION = "catalog.retire"
    slug: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GrantRole(Change):
    ACTION = "role.grant"
    person_id: int
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeRole(Change):
    ACTION = "role.revoke"
    person_id: int
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeSetting(Change):
    ACTION = "settings.set"
    key: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EraseSomeone(Change):
    ACTION = "person.erase"
    person_id: int


CHANGES: dict[str, type[Change]] = {
    c.ACTION: c
    for c in (
        SetAllowance,
        TopUp,
        SetLimit,
        AddValue,
        RetireValue,
        RenameValue,
        RequireValues,
        SetTier,
        RemoveTier,
        PutItem,
        RetireItem,
        GrantRole,
        RevokeRole,
        ChangeSetting,
        EraseSomeone,
    )
}


def encode(change: Change) -> str:
    return json.dumps({"action": change.ACTION, **asdict(change)}, sort_keys=True)


def decode(stored: str) -> Change:
    data: dict[str, Any] = json.loads(stored)
    kind = CHANGES[data.pop("action")]
    known = {f.name for f in fields(kind)}
    values = {k: v for k, v in data.items() if k in known}
    if "scope" in values:
        values["scope"] = Scope(values["scope"])
    return kind(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingChange:
    """A change between its preview and its proposer's click."""

    id: int
    proposer_id: int
    change: Change
    platform: str

    @property
    def decision_key(self) -> str:
        return f"admin:{self.id}"
