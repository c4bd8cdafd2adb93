"""The ports the core needs: repositories inside a unit of work, and outbound notifiers.

Persistence (adapters/persistence) and the in-memory fakes (tests/fakes) implement
them. Every method that changes a balance or a status is a guarded, single-statement
change whose success the caller can see (a bool or an exception), never a
read-then-write that a concurrent request could slip between.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from .admin import PendingChange
from .allowance_plan import AllowancePlan
from .analytics import (
    DepartmentRow,
    Flow,
    Giving,
    QuietPerson,
    RedemptionFigures,
    Scope,
    ValueCount,
)
from .audit import AuditEntry, AuditRecord
from .decisions import Decision, Outcome
from .events import Event
from .ledger import (
    AccountKind,
    AccountRef,
    AllowanceAccount,
    Hold,
    HoldStatus,
    OpenedPeriods,
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
    async def set_roles(self, person_id: int, roles: frozenset[Role]) -> None: ...
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
    async def identities_of(self, person_ids: Sequence[int]) -> dict[int, list[Identity]]:
        """Every platform's identities of these people, in one read (absent: none)."""
        ...

    async def direct_report_count(self, manager_id: int) -> int: ...
    async def direct_report_counts(self) -> dict[int, int]:
        """Active direct reports per manager id, for everyone at once."""
        ...

    async def time_zones(self) -> set[str]:
        """The distinct time zones of active people (the allowance refresh's periods)."""
        ...

    async def departments(self) -> set[str]:
        """The distinct departments of active people as stored, "" for none."""
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

    async def pseudonymise(self, person_id: int, *, name: str, email: str, handle: str) -> None:
        """Erasure: give the person these placeholders and clear every other personal field
        (directory ids, dates, department, manager, locale, mutes); they are left inactive,
        with no role but employee."""
        ...

    async def forget_identities(self, person_id: int) -> frozenset[str]:
        """Erasure: delete the person's chat identities on every platform (and what a
        platform adapter keeps to reach them); returns the platform ids they had."""
        ...


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

    async def add_granted(self, person_id: int, period_key: str, amount: int) -> bool:
        """Count `amount` more (or fewer) as granted in the person's open period, if that is
        still `period_key`; the points themselves move by transfer."""
        ...

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

    async def open_due_periods(self, plan: AllowancePlan, *, at: datetime) -> list[OpenedPeriods]:
        """The scheduler's refresh, set-based: every active person whose allowance account is
        behind the period `plan` puts them in moves to it, lapses its rest (unless
        `plan.rollover`) and gets its grant, as balanced transfers with their entries,
        exactly as `plan.opening` and the one-person path would. Returns who was opened
        now, by period and grant; an account opened meanwhile (a gift, another replica) is left
        alone, so a repeat grants nothing."""
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

    async def erase_reasons_by(self, giver_id: int) -> int:
        """Erasure: blank the reason and context (where it was given) of every recognition
        the person gave; amounts stay. Returns how many they gave."""
        ...

    async def erase_reasons_before(self, cutoff: datetime) -> int:
        """Retention: blank the reasons of recognitions given before `cutoff`."""
        ...


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
    async def take_stock(self, slug: str, quantity: int, variant: str | None = None) -> bool:
        """Guarded: False (and nothing taken) when fewer than `quantity` are left of the
        item or of the variant (unlimited ones: True)."""
        ...

    async def return_stock(self, slug: str, quantity: int, variant: str | None = None) -> None: ...


class GiftCardPool(Protocol):
    """Codes are opaque here: the core reserves, issues and releases them by request key;
    only the delivery adapter ever opens one."""

    async def available(self, item_slug: str) -> int: ...
    async def reserve(self, item_slug: str, request_key: str, quantity: int) -> bool:
        """Guarded: False (and nothing reserved) when fewer than `quantity` are available."""
        ...

    async def issue(self, request_key: str) -> None: ...
    async def release(self, request_key: str) -> None: ...
    async def destroy_codes_of(self, person_id: int) -> int:
        """Erasure: destroy the codes issued to the person's redemptions (their sealed
        values); the rows stay, so every count holds. Returns how many were destroyed."""
        ...


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
    async def erase_shipping(self, person_id: int) -> int:
        """Erasure: drop the sealed shipping addresses of the person's redemptions."""
        ...

    async def erase_note(self, redemption_id: int) -> None:
        """Erasure: blank the decider's note kept with the request."""
        ...


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
    async def remove_tier(self, name: str) -> None: ...
    async def save_policy(self, policy: GivingPolicy) -> None: ...
    async def save_chat(self, chat: ChatSettings) -> None: ...
    async def put_value(self, value: CompanyValue) -> None: ...
    async def put_tier(self, tier: Tier) -> None: ...
    async def put_rule(self, rule: AllowanceRule) -> None: ...


class AdminChanges(Protocol):
    async def add(self, *, proposer_id: int, change: str, platform: str, at: datetime) -> int:
        """Store an encoded change (core/admin.py) and return its id."""
        ...

    async def get(self, change_id: int) -> PendingChange | None: ...


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

    async def erase_notes_by(self, person_id: int) -> list[Decision]:
        """Erasure: blank the notes the person wrote when deciding; returns those
        decisions (as they were), so that the features owning them blank their copies."""
        ...


class PlatformRecords(Protocol):
    """What adapters keep about people besides the core's tables, for erasure."""

    async def forget(self, person_id: int) -> int:
        """Delete the messages queued for the person (delivered or not) and their
        provisioning records (SCIM user, group memberships); returns how many rows went."""
        ...

    async def scrub_ids(self, ids: frozenset[str], replacement: str) -> int:
        """Replace these platform ids where idempotency keys quote them (a Slack reaction's
        key names the reactor) and drop processed-event ids quoting them."""
        ...


class AuditLog(Protocol):
    """Append-only and hash-chained (core/audit.py); an entry is appended in the caller's
    transaction, so a change that is rolled back leaves no entry."""

    async def append(self, entry: AuditEntry) -> AuditRecord: ...
    async def since(self, at: datetime | None, *, limit: int) -> list[AuditRecord]:
        """Entries at or after `at` (every entry when None), newest first."""
        ...


class AnalyticsRepository(Protocol):
    """Set-based reads behind stats and insights (core/analytics.py defines the figures).
    Each method is a few aggregate statements whatever the organisation's size; windows
    are [since, until)."""

    async def departments(self, scope: Scope) -> list[str]:
        """The departments of the people in scope, sorted."""
        ...

    async def headcount(self, scope: Scope) -> int: ...
    async def department_rows(
        self, scope: Scope, since: datetime, until: datetime
    ) -> list[DepartmentRow]:
        """One row per department of the people in scope (None: no department)."""
        ...

    async def top_values(
        self, scope: Scope, since: datetime, until: datetime, *, limit: int
    ) -> list[ValueCount]:
        """Values named in kudos the people in scope received: most kudos first, then by slug."""
        ...

    async def redemption_figures(
        self, scope: Scope, since: datetime, until: datetime
    ) -> RedemptionFigures: ...

    async def lead_times(
        self, scope: Scope, since: datetime, until: datetime, *, percentiles: Sequence[int]
    ) -> tuple[int, dict[int, float]]:
        """How many redemptions of people in scope an approver approved or declined in the
        window (automatic approvals wait for nobody), and the nearest-rank percentiles of
        their request-to-decision times, in seconds."""
        ...

    async def weekly(self, scope: Scope, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        """Kudos and points the people in scope received in each [bounds[i], bounds[i+1])."""
        ...

    async def not_recognised(
        self, scope: Scope, since: datetime, *, limit: int
    ) -> tuple[int, list[QuietPerson]]:
        """People in scope who received nothing since then: how many, and the first `limit`
        (never recognised first, then by last recognition, then by id)."""
        ...

    async def rings(
        self, scope: Scope, since: datetime, until: datetime, *, min_kudos: int, share: int
    ) -> list[tuple[Giving, ...]]:
        """Every group of two or three people in scope in which each gave at least
        `min_kudos` recognitions in the window and at least `share` % of all the points
        they gave to the others in the group. A group may be listed more than once."""
        ...

    async def concentration(
        self, scope: Scope, since: datetime, until: datetime, *, top: int
    ) -> tuple[int, int]:
        """Points received by the `top` people in scope who received most, and by everyone."""
        ...

    async def flows(self, scope: Scope, since: datetime, until: datetime) -> list[Flow]:
        """Kudos received by people in scope, per (giver's, receiver's) department."""
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
    admin_changes: AdminChanges
    analytics: AnalyticsRepository
    audit: AuditLog
    platform_records: PlatformRecords

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
