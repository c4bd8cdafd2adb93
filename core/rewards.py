"""Rewards: the catalog, and redemptions that hold points until someone decides.

A redemption holds its points at once (two-phase, `holds.py`), so they cannot be spent
twice; the approver's decision posts them (the reward is due) or voids the hold (an exact
refund). Stock is taken when the request is made and given back if it does not go ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ItemKind(StrEnum):
    GIFT_CARD = "gift_card"
    MERCHANDISE = "merchandise"
    EXPERIENCE = "experience"
    CHARITY = "charity"
    CASH_OUT = "cash_out"  # exported for payroll, never paid by laurel
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Variant:
    """A size or variant of an item; its own stock, or None when only the item's counts."""

    name: str
    stock: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogItem:
    slug: str
    name: str
    kind: ItemKind
    price: int  # points per unit
    approval_needed: bool = True
    stock: int | None = None  # None: unlimited
    min_tier: str | None = None
    per_person_limit: int | None = None  # units per calendar month
    available_from: date | None = None
    available_until: date | None = None
    owner_email: str | None = None  # who fulfils it (an experience; merchandise that ships)
    active: bool = True
    variants: tuple[Variant, ...] = ()  # sizes or variants: the requester picks one
    ships: bool = False  # the requester gives a shipping address (stored sealed)

    def variant(self, name: str | None) -> Variant | None:
        """The variant this name means (any case), or None."""
        wanted = (name or "").strip().casefold()
        return next((v for v in self.variants if v.name.casefold() == wanted), None)

    @property
    def sold_out(self) -> bool:
        if self.stock == 0:
            return True
        return bool(self.variants) and all(v.stock == 0 for v in self.variants)


class RedemptionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # nobody decided in time: refunded


@dataclass(frozen=True, slots=True, kw_only=True)
class Redemption:
    id: int
    key: str  # idempotency key of the request
    person_id: int
    item_slug: str
    quantity: int
    points: int
    status: RedemptionStatus
    hold_id: int
    approver_id: int | None
    created_at: datetime
    decided_at: datetime | None = None
    note: str = ""
    variant: str | None = None
    shipping: str | None = None  # the address, sealed by the adapter that took it: opaque here

    @property
    def decision_key(self) -> str:
        """The first decision (the manager's)."""
        return f"redemption:{self.id}"

    @property
    def finance_key(self) -> str:
        """The second decision, for requests above the finance threshold."""
        return f"redemption:{self.id}:finance"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShopLine:
    item: CatalogItem
    locked: str | None = None  # why not now: "tier", "stock", "window", "points"; None: open


@dataclass(frozen=True, slots=True, kw_only=True)
class ShopView:
    earned: int
    lines: list[ShopLine]


@dataclass(frozen=True, slots=True, kw_only=True)
class RedemptionsView:
    """A person's requests, or the requests waiting for an approver, newest first."""

    redemptions: list[Redemption]
    items: dict[str, CatalogItem]
    people: dict[int, str]  # person id -> display name


@dataclass(frozen=True, slots=True, kw_only=True)
class RedemptionResult:
    """What a request became, for the person who made it."""

    redemption: Redemption
    item: CatalogItem
    approver: str | None  # the approver's name while it waits for them
