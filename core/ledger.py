"""The double-entry ledger's vocabulary: accounts, legs, transfers and holds.

Every movement of points is a transfer whose legs sum to zero. Accounts are
addressed by (kind, owner); owner 0 is the organisation. Only the issuance
account may go below zero: it is where points come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

ORGANISATION = 0


class AccountKind(StrEnum):
    ALLOWANCE = "allowance"  # points a person may give this period; not redeemable
    EARNED = "earned"  # points a person received; redeemable
    HELD = "held"  # earned points held by a pending redemption
    ISSUANCE = "issuance"  # organisation: source of every point
    REDEEMED = "redeemed"  # organisation: sink of posted redemptions
    EXPIRED = "expired"  # organisation: sink of expired points


PERSONAL_ACCOUNTS: tuple[AccountKind, ...] = (
    AccountKind.ALLOWANCE,
    AccountKind.EARNED,
    AccountKind.HELD,
)
ORGANISATION_ACCOUNTS: tuple[AccountKind, ...] = (
    AccountKind.ISSUANCE,
    AccountKind.REDEEMED,
    AccountKind.EXPIRED,
)


@dataclass(frozen=True, slots=True, order=True)
class AccountRef:
    kind: AccountKind
    owner: int = ORGANISATION

    @property
    def may_go_negative(self) -> bool:
        return self.kind is AccountKind.ISSUANCE


def allowance(person_id: int) -> AccountRef:
    return AccountRef(AccountKind.ALLOWANCE, person_id)


def earned(person_id: int) -> AccountRef:
    return AccountRef(AccountKind.EARNED, person_id)


def held(person_id: int) -> AccountRef:
    return AccountRef(AccountKind.HELD, person_id)


ISSUANCE = AccountRef(AccountKind.ISSUANCE)
REDEEMED = AccountRef(AccountKind.REDEEMED)
EXPIRED = AccountRef(AccountKind.EXPIRED)


@dataclass(frozen=True, slots=True)
class AllowanceAccount:
    """A person's allowance account: the period it is in, what that period granted, the rest."""

    period_key: str | None
    granted: int
    balance: int


@dataclass(frozen=True, slots=True)
class Opening:
    """One allowance account to move into a new period with this grant."""

    person_id: int
    period_key: str
    granted: int


@dataclass(frozen=True, slots=True)
class OpenedPeriods:
    """Allowance accounts the scheduler's refresh moved into one period with one grant:
    one value per (period, grant), however many people."""

    period_key: str
    granted: int
    person_ids: tuple[int, ...]


class TransferKind(StrEnum):
    ALLOWANCE_GRANT = "allowance_grant"
    ALLOWANCE_LAPSE = "allowance_lapse"
    ALLOWANCE_TOPUP = "allowance_topup"
    ALLOWANCE_ADJUST = "allowance_adjust"  # an admin changed the allowance mid-period
    KUDOS = "kudos"
    KUDOS_REVERSAL = "kudos_reversal"
    HOLD = "hold"
    HOLD_POST = "hold_post"
    HOLD_VOID = "hold_void"
    AWARD = "award"
    EXPIRY = "expiry"


@dataclass(frozen=True, slots=True)
class Leg:
    account: AccountRef
    amount: int  # positive credits the account, negative debits it


class UnbalancedTransfer(ValueError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferRequest:
    key: str  # idempotency key: a second post with the same key changes nothing
    kind: TransferKind
    legs: tuple[Leg, ...]
    memo: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            raise UnbalancedTransfer("a transfer needs an idempotency key")
        if len(self.legs) < 2 or any(leg.amount == 0 for leg in self.legs):
            raise UnbalancedTransfer(f"{self.key}: needs two or more non-zero legs")
        if sum(leg.amount for leg in self.legs) != 0:
            raise UnbalancedTransfer(f"{self.key}: legs do not sum to zero")
        if len({leg.account for leg in self.legs}) != len(self.legs):
            raise UnbalancedTransfer(f"{self.key}: an account appears twice")

    def ordered_legs(self) -> tuple[Leg, ...]:
        """Legs in one global account order, so concurrent transfers lock rows alike."""
        return tuple(sorted(self.legs, key=lambda leg: leg.account))


@dataclass(frozen=True, slots=True, kw_only=True)
class PostedTransfer:
    id: int
    key: str
    kind: TransferKind
    legs: tuple[Leg, ...]
    created_at: datetime
    replayed: bool = False  # True when the key had been posted before


class HoldStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    id: int
    key: str
    person_id: int
    amount: int
    status: HoldStatus
    created_at: datetime
    resolved_at: datetime | None = None


def transfer(
    key: str, kind: TransferKind, *moves: tuple[AccountRef, AccountRef, int]
) -> TransferRequest:
    """Build a transfer from (from, to, amount) moves, merging legs per account."""
    totals: dict[AccountRef, int] = {}
    for source, target, amount in moves:
        totals[source] = totals.get(source, 0) - amount
        totals[target] = totals.get(target, 0) + amount
    legs = tuple(Leg(account, amount) for account, amount in totals.items() if amount)
    return TransferRequest(key=key, kind=kind, legs=legs)
