"""Typed domain errors. Each one knows the message that explains it to a person."""

from __future__ import annotations

from .messages import MsgId, Names, Text, points


class DomainError(Exception):
    """A rule said no. Nothing was changed; `text()` tells the person why."""

    key: MsgId = MsgId.ERROR_INTERNAL

    def params(self) -> dict[str, object]:
        return {}

    def text(self) -> Text:
        return Text(self.key, self.params())

    def __str__(self) -> str:
        return f"{self.key.value} {self.params()}"


class SelfKudos(DomainError):
    key = MsgId.ERROR_SELF_KUDOS


class _NamedPersonError(DomainError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def params(self) -> dict[str, object]:
        return {"name": self.name}


class BotReceiver(_NamedPersonError):
    key = MsgId.ERROR_BOT_RECEIVER


class InactivePerson(_NamedPersonError):
    key = MsgId.ERROR_INACTIVE_PERSON


class GiverInactive(DomainError):
    key = MsgId.ERROR_GIVER_INACTIVE


class AmountOutOfRange(DomainError):
    key = MsgId.ERROR_AMOUNT_RANGE

    def __init__(self, amount: int, cap: int) -> None:
        super().__init__(amount, cap)
        self.amount, self.cap = amount, cap

    def params(self) -> dict[str, object]:
        return {"cap": points(self.cap)}


class ReasonTooShort(DomainError):
    key = MsgId.ERROR_REASON_TOO_SHORT

    def __init__(self, minimum: int) -> None:
        super().__init__(minimum)
        self.minimum = minimum

    def params(self) -> dict[str, object]:
        return {"min": Text(MsgId.CHARACTERS, {}, self.minimum)}


class ValuesRequired(DomainError):
    key = MsgId.ERROR_VALUES_REQUIRED

    def __init__(self, available: tuple[str, ...]) -> None:
        super().__init__(available)
        self.available = available

    def params(self) -> dict[str, object]:
        return {"values": Names(tuple(f"#{v}" for v in self.available))}


class UnknownValue(DomainError):
    key = MsgId.ERROR_UNKNOWN_VALUE

    def __init__(self, value: str, available: tuple[str, ...]) -> None:
        super().__init__(value, available)
        self.value, self.available = value, available

    def params(self) -> dict[str, object]:
        return {"value": self.value, "values": Names(tuple(f"#{v}" for v in self.available))}


class DailyLimitReached(DomainError):
    key = MsgId.ERROR_DAILY_LIMIT

    def __init__(self, limit: int, left: int) -> None:
        super().__init__(limit, left)
        self.limit, self.left = limit, left

    def params(self) -> dict[str, object]:
        return {"limit": points(self.limit), "left": points(self.left)}


class InsufficientAllowance(DomainError):
    key = MsgId.ERROR_INSUFFICIENT_ALLOWANCE

    def __init__(self, left: int, needed: int) -> None:
        super().__init__(left, needed)
        self.left, self.needed = left, needed

    def params(self) -> dict[str, object]:
        return {"left": points(self.left), "needed": points(self.needed)}


class NoReceivers(DomainError):
    key = MsgId.ERROR_NO_RECEIVERS


class UnknownPerson(DomainError):
    key = MsgId.ERROR_UNKNOWN_PERSON

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference

    def params(self) -> dict[str, object]:
        return {"mention": self.reference}


class DirectoryUnavailable(DomainError):
    """The chat platform's directory could not be asked who a person is (an outage, a rate
    limit, a dropped connection): unlike `UnknownPerson` it says nothing about the person.
    A domain error all the same, so every surface answers it as it answers a refusal."""

    key = MsgId.ERROR_DIRECTORY_UNAVAILABLE

    def __init__(self, platform: str) -> None:
        super().__init__(platform)
        self.platform = platform  # the product's name, as people know it: "Slack"

    def params(self) -> dict[str, object]:
        return {"platform": self.platform}


class AlreadyRevoked(DomainError):
    key = MsgId.ERROR_ALREADY_REVOKED


class RecognitionNotFound(DomainError):
    key = MsgId.ERROR_RECOGNITION_NOT_FOUND


class DecisionNotFound(DomainError):
    key = MsgId.ERROR_DECISION_NOT_FOUND


class OutcomeNotOffered(DomainError):
    key = MsgId.ERROR_DECISION_NOT_FOUND


class UnknownLanguage(DomainError):
    key = MsgId.ERROR_UNKNOWN_LANGUAGE

    def __init__(self, code: str, available: tuple[str, ...]) -> None:
        super().__init__(code, available)
        self.code, self.available = code, available

    def params(self) -> dict[str, object]:
        return {"code": self.code, "codes": Names(self.available)}


class UnknownReminderKind(DomainError):
    key = MsgId.ERROR_UNKNOWN_REMINDER

    def __init__(self, kind: str, known: frozenset[str]) -> None:
        super().__init__(kind)
        self.kind, self.known = kind, known

    def params(self) -> dict[str, object]:
        return {"kind": self.kind, "kinds": Names(tuple(sorted(self.known)))}


class InvalidDirectoryRecord(DomainError):
    """A directory record that cannot be taken in; `problem` says why."""

    def __init__(self, problem: Text) -> None:
        super().__init__(problem.key.value)
        self.problem = problem

    def text(self) -> Text:
        return self.problem


class _ItemError(DomainError):
    def __init__(self, item: str) -> None:
        super().__init__(item)
        self.item = item

    def params(self) -> dict[str, object]:
        return {"item": self.item}


class UnknownItem(_ItemError):
    key = MsgId.ERROR_UNKNOWN_ITEM


class ItemUnavailable(_ItemError):
    key = MsgId.ERROR_ITEM_UNAVAILABLE


class OutOfStock(_ItemError):
    key = MsgId.ERROR_OUT_OF_STOCK


class VariantNeeded(DomainError):
    """No variant, or one the item does not have: the choices are in the message."""

    key = MsgId.ERROR_VARIANT_NEEDED

    def __init__(self, item: str, slug: str, variants: tuple[str, ...]) -> None:
        super().__init__(item, slug, variants)
        self.item, self.slug, self.variants = item, slug, variants

    def params(self) -> dict[str, object]:
        names = Names(self.variants)
        return {
            "item": self.item,
            "slug": self.slug,
            "variants": names,
            "example": self.variants[0],
        }


class NoVariants(DomainError):
    key = MsgId.ERROR_NO_VARIANTS

    def __init__(self, item: str, slug: str) -> None:
        super().__init__(item, slug)
        self.item, self.slug = item, slug

    def params(self) -> dict[str, object]:
        return {"item": self.item, "slug": self.slug}


class ShippingNeeded(DomainError):
    """The item ships and no address came with the request: adapters that can offer a
    form (a Slack modal, inputs on a Teams card) do so from what this carries."""

    key = MsgId.ERROR_SHIPPING_NEEDED

    def __init__(
        self, item: str, slug: str, *, variants: tuple[str, ...], variant: str | None, quantity: int
    ) -> None:
        super().__init__(item, slug)
        self.item, self.slug, self.variants = item, slug, variants
        self.variant, self.quantity = variant, quantity

    def params(self) -> dict[str, object]:
        example = f"{self.slug} {self.variant or self.variants[0]}" if self.variants else self.slug
        return {"item": self.item, "slug": example}


class BadAddress(DomainError):
    key = MsgId.ERROR_BAD_ADDRESS


class ShippingUnavailable(DomainError):
    """No key to seal an address with: an operator's setting, told politely."""

    key = MsgId.ERROR_SHIPPING_UNAVAILABLE


class NotAGiftCard(_ItemError):
    """Codes were offered for an item that does not take its stock from a pool of codes."""

    key = MsgId.ERROR_NOT_A_GIFT_CARD


class CodesUnavailable(DomainError):
    """No key to seal gift-card codes with: an operator's setting, told politely."""

    key = MsgId.ERROR_CODES_UNAVAILABLE


class TierTooLow(DomainError):
    key = MsgId.ERROR_TIER_TOO_LOW

    def __init__(self, item: str, tier: str) -> None:
        super().__init__(item, tier)
        self.item, self.tier = item, tier

    def params(self) -> dict[str, object]:
        return {"item": self.item, "tier": self.tier}


class ItemLimitReached(DomainError):
    key = MsgId.ERROR_ITEM_LIMIT

    def __init__(self, item: str, limit: int) -> None:
        super().__init__(item, limit)
        self.item, self.limit = item, limit

    def params(self) -> dict[str, object]:
        return {"item": self.item, "limit": self.limit}


class NotEnoughPoints(DomainError):
    key = MsgId.ERROR_NOT_ENOUGH_POINTS

    def __init__(self, needed: int, available: int) -> None:
        super().__init__(needed, available)
        self.needed, self.available = needed, available

    def params(self) -> dict[str, object]:
        return {"needed": points(self.needed), "available": points(self.available)}


class BadQuantity(DomainError):
    key = MsgId.ERROR_BAD_QUANTITY


class NoApprover(DomainError):
    key = MsgId.ERROR_NO_APPROVER


class SelfApproval(DomainError):
    key = MsgId.ERROR_SELF_APPROVAL


class NotTheApprover(DomainError):
    key = MsgId.ERROR_NOT_THE_APPROVER


class UnknownRedemption(DomainError):
    key = MsgId.ERROR_UNKNOWN_REDEMPTION


class RedemptionClosed(DomainError):
    key = MsgId.ERROR_REDEMPTION_CLOSED


class _DepartmentError(DomainError):
    def __init__(self, department: str) -> None:
        super().__init__(department)
        self.department = department

    def params(self) -> dict[str, object]:
        return {"department": self.department}


class UnknownDepartment(_DepartmentError):
    """Nobody active works in a department of that name."""

    key = MsgId.ERROR_UNKNOWN_DEPARTMENT


class DepartmentNotYours(_DepartmentError):
    """Figures of a department none of the viewer's reports (or the viewer) belongs to."""

    key = MsgId.ERROR_DEPARTMENT_NOT_YOURS


class InsufficientFunds(Exception):
    """Raised by a ledger when a guarded debit would take an account below zero.

    Not user-facing: handlers translate it into the rule that was broken
    (e.g. `InsufficientAllowance`) with the numbers the person needs.
    """

    def __init__(self, account: object) -> None:
        super().__init__(account)
        self.account = account


class TransientStoreError(Exception):
    """A storage conflict that is safe to retry (deadlock, serialization failure)."""


class StoreDisconnected(TransientStoreError):
    """The connection to the database was lost during a unit of work, perhaps as it
    committed: whether the work landed is unknown. Only a command that names its
    idempotency key may be run again (it replays what landed); others fail."""


class ResolvedHold(Exception):
    """A hold that was already posted or voided; it resolves at most once."""


# --- HR admin ---


class NotAnAdmin(DomainError):
    key = MsgId.ERROR_NOT_ADMIN


class NotTheProposer(DomainError):
    key = MsgId.ERROR_NOT_PROPOSER


class LastAdmin(DomainError):
    key = MsgId.ERROR_LAST_ADMIN


class NoChange(DomainError):
    key = MsgId.ERROR_NO_CHANGE


class TooLong(DomainError):
    """A name or a text longer than its column: PostgreSQL refuses it (SQLite keeps it)."""

    key = MsgId.ERROR_TOO_LONG


class AdminUsage(DomainError):
    """An admin command in the wrong shape: the message shows the right one (as typed)."""

    key = MsgId.ERROR_ADMIN_USAGE

    def __init__(self, usage: str) -> None:
        super().__init__(usage)
        self.usage = usage

    def params(self) -> dict[str, object]:
        return {"usage": self.usage}


class UnknownSetting(DomainError):
    key = MsgId.ERROR_UNKNOWN_SETTING

    def __init__(self, key: str, keys: tuple[str, ...]) -> None:
        super().__init__(key, keys)
        self.setting, self.keys = key, keys

    def params(self) -> dict[str, object]:
        return {"key": self.setting, "keys": Names(self.keys)}


class BadSetting(DomainError):
    key = MsgId.ERROR_BAD_SETTING

    def __init__(self, key: str, value: str, expected: MsgId) -> None:
        super().__init__(key, value, expected)
        self.setting, self.value, self.expected = key, value, expected

    def params(self) -> dict[str, object]:
        return {"key": self.setting, "value": self.value, "expected": Text(self.expected)}


class _NameError(DomainError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def params(self) -> dict[str, object]:
        return {"name": self.name}


class UnknownTier(_NameError):
    key = MsgId.ERROR_UNKNOWN_TIER


class TierThresholdTaken(DomainError):
    key = MsgId.ERROR_TIER_THRESHOLD_TAKEN

    def __init__(self, name: str, threshold: int) -> None:
        super().__init__(name, threshold)
        self.name, self.threshold = name, threshold

    def params(self) -> dict[str, object]:
        return {"name": self.name, "points": points(self.threshold)}


class UnknownRole(_NameError):
    key = MsgId.ERROR_UNKNOWN_ROLE


class ValueExists(_NameError):
    key = MsgId.ERROR_VALUE_EXISTS


class ItemExists(DomainError):
    key = MsgId.ERROR_ITEM_EXISTS

    def __init__(self, slug: str) -> None:
        super().__init__(slug)
        self.slug = slug

    def params(self) -> dict[str, object]:
        return {"slug": self.slug}
