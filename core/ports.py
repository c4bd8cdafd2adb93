"""The ports the core needs: repositories inside a unit of work, and outbound notifiers.

Persistence (adapters/persistence) and the in-memory fakes (tests/fakes) implement
them. Every method that changes a balance or a status is a guarded, single-statement
change whose success the caller can see (a bool or an exception), never a
read-then-write that a concurrent request could slip between.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from .decisions import Decision, Outcome
from .events import Event
from .ledger import (
    AccountKind,
    AccountRef,
    AllowanceAccount,
    Hold,
    HoldStatus,
    Opening,
    PostedTransfer,
    TransferRequest,
)
from .people import Identity, NewPerson, PeoplePage, Person, Role
from .policy import AllowanceRule, ChatSettings, CompanyValue, GivingPolicy, OrgConfig, Tier
from .recognition import Recognition, Standing, StatDelta, StatRole, StatRow
from .rewards import CatalogItem, Redemption, RedemptionStatus


class PeopleRepository(Protocol):
    async def get(self, person_id: int) -> Person | None: ...
    async def get_many(self, person_ids: list[int]) -> dict[int, Person]: ...
    async def by_email(self, email: str) -> Person | None: ...
    async def by_handle(self, handle: str) -> Person | None: ...
    async def by_identity(self, identity: Identity) -> Person | None: ...
    async def add(self, person: NewPerson, *, handle: str, manager_id: int | None) -> Person:
        """Insert the person and open their personal accounts at zero."""
        ...

    async def set_locale(self, person_id: int, locale: str | None) -> None: ...
    async def set_muted(self, person_id: int, muted: frozenset[str]) -> None: ...
    async def update(self, person: Person) -> None:
        """Store every changed field of a known person except roles and locale."""
        ...

    async def by_external_id(self, source: str, external_id: str) -> Person | None: ...
    async def ids_from_source(self, source: str) -> list[int]:
        """The people that directory source manages, active or not."""
        ...

    async def page(
        self, *, offset: int, limit: int, email: str | None, external_id: str | None
    ) -> PeoplePage:
        """People in id order, optionally only the one with that e-mail or external id."""
        ...

    async def link_identity(self, person_id: int, identity: Identity) -> None: ...
    async def identities(self, person_id: int, platform: str) -> list[Identity]: ...
    async def direct_report_count(self, manager_id: int) -> int: ...
    async def direct_report_counts(self) -> dict[int, int]:
        """Active direct reports per manager id, for everyone at once."""
        ...

    async def active_people(self) -> list[Person]:
        """Every active person, in a constant number of queries (the scheduler's read)."""
        ...

    async def lock(self, person_id: int) -> None:
        """Hold the person's row until the transaction ends: their concurrent requests
        then count each other (a per-person limit cannot be raced)."""
        ...

    async def with_role(self, role: Role) -> list[int]:
        """Active people holding the role, by id."""
        ...

    async def count(self) -> int: ...


class Ledger(Protocol):
    async def post(self, request: TransferRequest, *, at: datetime) -> PostedTransfer:
        """Apply all legs or none. A known key returns the first transfer with replayed=True.

        A debit that would take a non-issuance account below zero raises
        `InsufficientFunds`; the unit of work must then be rolled back.
        """
        ...

    async def find(self, key: str) -> PostedTransfer | None: ...
    async def balance(self, account: AccountRef) -> int: ...
    async def balances(self, owner: int) -> dict[AccountKind, int]: ...
    async def allowance_account(self, person_id: int) -> AllowanceAccount: ...

    async def open_period(self, person_id: int, period_key: str, granted: int) -> bool:
        """Move the allowance account to a later period; False if it is there already."""
        ...

    async def earned_flows(self, cutoffs: dict[int, datetime]) -> dict[int, tuple[int, int]]:
        """Per person: points credited to their earned account before their cutoff, and
        everything ever debited from it (spent, held, reversed, expired)."""
        ...

    async def allowance_accounts(self) -> dict[int, AllowanceAccount]:
        """Every allowance account, by person id (one read for the scheduler)."""
        ...

    async def open_periods(
        self, openings: list[Opening], *, rollover: bool, at: datetime
    ) -> list[Opening]:
        """Set-based `open_period` plus its transfers for many people: each account still
        behind moves to its period, lapses its rest (unless `rollover`) and gets its grant,
        exactly as the one-person path would. Returns the openings that took effect (an
        account opened meanwhile, by a gift or another replica, is left alone)."""
        ...

    async def add_hold(self, *, key: str, person_id: int, amount: int, at: datetime) -> Hold: ...
    async def get_hold(self, hold_id: int) -> Hold | None: ...
    async def hold_by_key(self, key: str) -> Hold | None: ...
    async def resolve_hold(self, hold_id: int, status: HoldStatus, *, at: datetime) -> bool:
        """Pending -> posted/voided, guarded: True for exactly one caller."""
        ...


class RecognitionRepository(Protocol):
    async def by_key(self, key: str) -> Recognition | None: ...
    async def add(self, recognition: Recognition) -> Recognition:
        """Store it (its id is ignored) and return it with the stored id."""
        ...

    async def mark_revoked(self, recognition_id: int, *, at: datetime) -> bool:
        """Guarded: True for exactly one caller."""
        ...

    async def history(self, person_id: int, *, limit: int) -> list[Recognition]: ...


class StatsRepository(Protocol):
    async def add(self, deltas: list[StatDelta]) -> None: ...
    async def lifetime_received(self, person_id: int) -> int: ...
    async def lifetimes(self) -> dict[int, int]:
        """Lifetime points received, for everyone who received any (one read)."""
        ...

    async def top(
        self, role: StatRole, bucket: str, value: str, *, limit: int
    ) -> list[Standing]: ...

    async def bucket(self, role: StatRole, bucket: str) -> list[StatRow]:
        """Every row of one leaderboard bucket (all values, all people)."""
        ...


class CatalogRepository(Protocol):
    async def put(self, item: CatalogItem) -> None: ...
    async def get(self, slug: str) -> CatalogItem | None: ...
    async def items(self) -> list[CatalogItem]: ...
    async def take_stock(self, slug: str, quantity: int) -> bool:
        """Guarded: False when fewer than `quantity` are left (unlimited items: True)."""
        ...

    async def return_stock(self, slug: str, quantity: int) -> None: ...


class GiftCardPool(Protocol):
    """Codes are opaque here: the core reserves, issues and releases them by request key;
    only the delivery adapter ever opens one."""

    async def available(self, item_slug: str) -> int: ...
    async def reserve(self, item_slug: str, request_key: str, quantity: int) -> bool:
        """Guarded: False (and nothing reserved) when fewer than `quantity` are available."""
        ...

    async def issue(self, request_key: str) -> None: ...
    async def release(self, request_key: str) -> None: ...


class RedemptionRepository(Protocol):
    async def add(self, redemption: Redemption) -> Redemption:
        """Store it (its id is ignored) and return it with the stored id."""
        ...

    async def get(self, redemption_id: int) -> Redemption | None: ...
    async def by_key(self, key: str) -> Redemption | None: ...
    async def close(
        self, redemption_id: int, status: RedemptionStatus, *, at: datetime, note: str
    ) -> bool:
        """Pending -> approved/declined/cancelled, guarded: True for exactly one caller."""
        ...

    async def units_since(self, person_id: int, item_slug: str, since: datetime) -> int:
        """Units of the item the person asked for since then, not declined or cancelled."""
        ...

    async def of_person(self, person_id: int, *, limit: int) -> list[Redemption]:
        """Newest first."""
        ...

    async def pending_for(self, approver_id: int) -> list[Redemption]:
        """Pending requests routed to this approver, oldest first."""
        ...

    async def pending(self) -> list[Redemption]:
        """Every pending request, oldest first."""
        ...

    async def approved(
        self, item_slugs: list[str], since: datetime, until: datetime
    ) -> list[Redemption]:
        """Approved requests for these items, decided in [since, until), oldest first."""
        ...

    async def reroute(self, redemption_id: int, approver_id: int) -> None: ...


class JobRuns(Protocol):
    async def claim(self, job: str, key: str, *, at: datetime) -> bool:
        """Record that `job` did `key` (a person's reminder for a period, a week's digest);
        False if it was done before. In the same transaction as the job's effects."""
        ...


class DailyGivingRepository(Protocol):
    async def consume(self, person_id: int, day: str, amount: int, *, limit: int) -> bool:
        """Add `amount` to the person's giving on `day` unless that exceeds `limit`."""
        ...

    async def given_on(self, person_id: int, day: str) -> int: ...
    async def release(self, person_id: int, day: str, amount: int) -> None: ...


class ConfigRepository(Protocol):
    async def load(self) -> OrgConfig: ...
    async def save_policy(self, policy: GivingPolicy) -> None: ...
    async def save_chat(self, chat: ChatSettings) -> None: ...
    async def put_value(self, value: CompanyValue) -> None: ...
    async def put_tier(self, tier: Tier) -> None: ...
    async def put_rule(self, rule: AllowanceRule) -> None: ...


class DecisionRepository(Protocol):
    async def add(self, decision: Decision) -> None:
        """Store a pending decision; a key that exists already is left as it is."""
        ...

    async def get(self, key: str) -> Decision | None: ...
    async def claim(
        self, key: str, outcome: Outcome, person_id: int | None, at: datetime, note: str
    ) -> bool:
        """Pending -> decided, guarded: True for exactly one caller."""
        ...


class UnitOfWork(abc.ABC):
    """One transaction. Events collected here are dispatched by the bus after commit."""

    people: PeopleRepository
    ledger: Ledger
    recognitions: RecognitionRepository
    stats: StatsRepository
    giving: DailyGivingRepository
    config: ConfigRepository
    decisions: DecisionRepository
    runs: JobRuns
    catalog: CatalogRepository
    redemptions: RedemptionRepository
    gift_cards: GiftCardPool

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    async def __aenter__(self) -> Self:
        await self.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    @abc.abstractmethod
    async def begin(self) -> None: ...

    @abc.abstractmethod
    async def commit(self) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Undo anything not committed; a no-op after commit."""


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, readonly: bool = False) -> UnitOfWork: ...


Subscriber = Callable[[Event], Awaitable[None]]
