"""In-memory implementations of the core's ports, faithful to their guarded semantics.

A FakeStore is the "database"; each FakeUnitOfWork takes its lock for the whole
transaction (like SQLite's BEGIN IMMEDIATE), works on the live state, and restores
a snapshot on rollback.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from core.admin import PendingChange, decode
from core.allowance_plan import AllowancePlan
from core.analytics import (
    DepartmentRow,
    Flow,
    Giving,
    QuietPerson,
    RedemptionFigures,
    Scope,
    ScopeKind,
    ValueCount,
)
from core.audit import GENESIS, AuditEntry, AuditRecord, chain_hash
from core.decisions import Decision, Outcome
from core.errors import InsufficientFunds
from core.events import Event
from core.ledger import (
    ISSUANCE,
    ORGANISATION,
    ORGANISATION_ACCOUNTS,
    PERSONAL_ACCOUNTS,
    AccountKind,
    AccountRef,
    AllowanceAccount,
    Hold,
    HoldStatus,
    OpenedPeriods,
    Opening,
    PostedTransfer,
    TransferKind,
    TransferRequest,
    transfer,
)
from core.people import Identity, NewPerson, PeoplePage, Person, Role
from core.policy import (
    DEFAULT_TIERS,
    AllowanceRule,
    ChatSettings,
    CompanyValue,
    GivingPolicy,
    OrgConfig,
    Tier,
)
from core.ports import UnitOfWork
from core.privacy import scrub_key
from core.recognition import ALL_VALUES, Recognition, Standing, StatDelta, StatRole, StatRow
from core.rewards import CatalogItem, Redemption, RedemptionStatus


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 16, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class Account:
    balance: int = 0
    period_key: str | None = None
    period_granted: int = 0


@dataclass
class State:
    people: dict[int, Person] = field(default_factory=dict)
    identities: dict[Identity, int] = field(default_factory=dict)
    accounts: dict[AccountRef, Account] = field(default_factory=dict)
    transfers: dict[str, PostedTransfer] = field(default_factory=dict)
    holds: dict[int, Hold] = field(default_factory=dict)
    recognitions: dict[int, Recognition] = field(default_factory=dict)
    totals: dict[tuple[str, str, str, int], list[int]] = field(default_factory=dict)
    daily: dict[tuple[int, str], int] = field(default_factory=dict)
    policy: GivingPolicy = field(default_factory=GivingPolicy)
    chat: ChatSettings = field(default_factory=ChatSettings)
    values: dict[str, CompanyValue] = field(default_factory=dict)
    tiers: dict[str, Tier] = field(default_factory=lambda: {t.name: t for t in DEFAULT_TIERS})
    rules: dict[tuple[str, str], AllowanceRule] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)
    runs: dict[tuple[str, str], datetime] = field(default_factory=dict)
    catalog: dict[str, CatalogItem] = field(default_factory=dict)
    redemptions: dict[int, Redemption] = field(default_factory=dict)
    gift_cards: list[list[str | None]] = field(default_factory=list)  # [item, state, key]
    audit: list[AuditRecord] = field(default_factory=list)  # in id order
    destroyed_codes: set[int] = field(default_factory=set)  # gift_cards positions (erasure)
    admin_changes: dict[int, PendingChange] = field(default_factory=dict)
    next_id: int = 1

    def __post_init__(self) -> None:
        for kind in ORGANISATION_ACCOUNTS:
            self.accounts.setdefault(AccountRef(kind, ORGANISATION), Account())

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class FakeStore:
    def __init__(self) -> None:
        self.state = State()
        self.lock = asyncio.Lock()
        self.commits = 0


class _Repo:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def s(self) -> State:
        return self._uow.store.state


class FakePeople(_Repo):
    async def get(self, person_id: int) -> Person | None:
        return self.s.people.get(person_id)

    async def get_many(self, person_ids: list[int]) -> dict[int, Person]:
        return {i: self.s.people[i] for i in person_ids if i in self.s.people}

    async def by_email(self, email: str) -> Person | None:
        wanted = email.strip().casefold()
        return next((p for p in self.s.people.values() if p.email == wanted), None)

    async def by_handle(self, handle: str) -> Person | None:
        return next((p for p in self.s.people.values() if p.handle == handle.casefold()), None)

    async def by_identity(self, identity: Identity) -> Person | None:
        person_id = self.s.identities.get(identity)
        return None if person_id is None else self.s.people.get(person_id)

    async def add(self, person: NewPerson, *, handle: str, manager_id: int | None) -> Person:
        if await self.by_email(person.email) or await self.by_handle(handle):
            raise ValueError("unique constraint")
        new = Person(
            id=self.s.new_id(),
            email=person.email,
            display_name=person.display_name,
            handle=handle,
            tz=person.tz,
            locale=person.locale,
            department=person.department,
            manager_id=manager_id,
            hire_date=person.hire_date,
            birthday=person.birthday,
            roles=person.roles,
            active=person.active,
            is_bot=person.is_bot,
            external_id=person.external_id,
            employee_number=person.employee_number,
            source=person.source,
        )
        self.s.people[new.id] = new
        for kind in PERSONAL_ACCOUNTS:
            self.s.accounts[AccountRef(kind, new.id)] = Account()
        return new

    async def set_muted(self, person_id: int, muted: frozenset[str]) -> None:
        self.s.people[person_id] = replace(self.s.people[person_id], muted=muted)

    async def set_locale(self, person_id: int, locale: str | None) -> None:
        self.s.people[person_id] = replace(self.s.people[person_id], locale=locale)

    async def set_roles(self, person_id: int, roles: frozenset[Role]) -> None:
        self.s.people[person_id] = replace(self.s.people[person_id], roles=roles)

    async def update(self, person: Person) -> None:
        stored = self.s.people[person.id]  # roles, locale, mutes have commands of their own
        self.s.people[person.id] = replace(
            person, roles=stored.roles, locale=stored.locale, muted=stored.muted
        )

    async def by_external_id(self, source: str, external_id: str) -> Person | None:
        return next(
            (
                p
                for p in self.s.people.values()
                if p.source == source and p.external_id == external_id
            ),
            None,
        )

    async def ids_from_source(self, source: str) -> list[int]:
        return sorted(i for i, p in self.s.people.items() if p.source == source)

    async def page(
        self, *, offset: int, limit: int, email: str | None, external_id: str | None
    ) -> PeoplePage:
        found = [
            p
            for _, p in sorted(self.s.people.items())
            if (email is None or p.email == email.strip().casefold())
            and (external_id is None or p.external_id == external_id)
        ]
        return PeoplePage(total=len(found), people=found[offset : offset + limit])

    async def link_identity(self, person_id: int, identity: Identity) -> None:
        self.s.identities[identity] = person_id

    async def identities(self, person_id: int, platform: str) -> list[Identity]:
        return [
            i for i, p in self.s.identities.items() if p == person_id and i.platform == platform
        ]

    async def identities_of(self, person_ids: Sequence[int]) -> dict[int, list[Identity]]:
        found: dict[int, list[Identity]] = {}
        for identity, person_id in self.s.identities.items():
            if person_id in person_ids:
                found.setdefault(person_id, []).append(identity)
        return found

    async def direct_report_count(self, manager_id: int) -> int:
        return sum(1 for p in self.s.people.values() if p.manager_id == manager_id and p.active)

    async def direct_report_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for p in self.s.people.values():
            if p.manager_id is not None and p.active:
                counts[p.manager_id] = counts.get(p.manager_id, 0) + 1
        return counts

    async def time_zones(self) -> set[str]:
        return {p.tz for p in self.s.people.values() if p.active}

    async def departments(self) -> set[str]:
        return {p.department or "" for p in self.s.people.values() if p.active}

    async def active_people(self) -> list[Person]:
        return [p for _, p in sorted(self.s.people.items()) if p.active]

    async def lock(self, person_id: int) -> None:
        """One fake unit of work runs at a time: nothing to lock."""

    async def with_role(self, role: Role) -> list[int]:
        return sorted(i for i, p in self.s.people.items() if p.active and role in p.roles)

    async def count(self) -> int:
        return len(self.s.people)

    async def pseudonymise(self, person_id: int, *, name: str, email: str, handle: str) -> None:
        old = self.s.people[person_id]
        self.s.people[person_id] = Person(  # every other field back to its default
            id=person_id,
            email=email,
            display_name=name,
            handle=handle,
            active=False,
            is_bot=old.is_bot,
        )

    async def forget_identities(self, person_id: int) -> frozenset[str]:
        mine = [i for i, p in self.s.identities.items() if p == person_id]
        for identity in mine:
            del self.s.identities[identity]
        return frozenset(i.user_id for i in mine)


class FakeLedger(_Repo):
    async def post(self, request: TransferRequest, *, at: datetime) -> PostedTransfer:
        if request.key in self.s.transfers:
            return replace(self.s.transfers[request.key], replayed=True)
        legs = request.ordered_legs()
        for leg in legs:
            account = self.s.accounts[leg.account]
            if leg.amount < 0 and not leg.account.may_go_negative and account.balance < -leg.amount:
                raise InsufficientFunds(leg.account)  # the unit of work rolls the rest back
            account.balance += leg.amount
        posted = PostedTransfer(
            id=len(self.s.transfers) + 1,
            key=request.key,
            kind=request.kind,
            legs=legs,
            created_at=at,
        )
        self.s.transfers[request.key] = posted
        return posted

    async def find(self, key: str) -> PostedTransfer | None:
        return self.s.transfers.get(key)

    async def balance(self, account: AccountRef) -> int:
        found = self.s.accounts.get(account)
        return found.balance if found else 0

    async def balances(self, owner: int) -> dict[AccountKind, int]:
        return {ref.kind: a.balance for ref, a in self.s.accounts.items() if ref.owner == owner}

    async def allowance_account(self, person_id: int) -> AllowanceAccount:
        found = self.s.accounts.get(AccountRef(AccountKind.ALLOWANCE, person_id))
        if found is None:
            return AllowanceAccount(None, 0, 0)
        return AllowanceAccount(found.period_key, found.period_granted, found.balance)

    async def add_granted(self, person_id: int, period_key: str, amount: int) -> bool:
        account = self.s.accounts[AccountRef(AccountKind.ALLOWANCE, person_id)]
        if account.period_key != period_key:
            return False
        account.period_granted += amount
        return True

    async def open_period(self, person_id: int, period_key: str, granted: int) -> bool:
        account = self.s.accounts[AccountRef(AccountKind.ALLOWANCE, person_id)]
        if account.period_key is not None and account.period_key >= period_key:
            return False
        account.period_key, account.period_granted = period_key, granted
        return True

    async def earned_flows(self, cutoffs: dict[int, datetime]) -> dict[int, tuple[int, int]]:
        flows: dict[int, tuple[int, int]] = {}
        for posted in self.s.transfers.values():
            for leg in posted.legs:
                owner = leg.account.owner
                if leg.account.kind is not AccountKind.EARNED or owner not in cutoffs:
                    continue
                came, left = flows.get(owner, (0, 0))
                if leg.amount > 0 and posted.created_at < cutoffs[owner]:
                    came += leg.amount
                elif leg.amount < 0:
                    left -= leg.amount
                flows[owner] = (came, left)
        return flows

    async def allowance_accounts(self) -> dict[int, AllowanceAccount]:
        return {
            ref.owner: AllowanceAccount(a.period_key, a.period_granted, a.balance)
            for ref, a in self.s.accounts.items()
            if ref.kind is AccountKind.ALLOWANCE
        }

    async def open_due_periods(self, plan: AllowancePlan, *, at: datetime) -> list[OpenedPeriods]:
        """The plan person by person, through the one-person path: what the SQL must equal."""
        reports = await FakePeople(self._uow).direct_report_counts()
        lifetimes = await FakeStats(self._uow).lifetimes()
        opened: dict[tuple[str, int], list[int]] = {}
        for person in await FakePeople(self._uow).active_people():
            account = AccountRef(AccountKind.ALLOWANCE, person.id)
            stored = self.s.accounts.get(account)
            if stored is None:
                continue
            standing = AllowanceAccount(stored.period_key, stored.period_granted, stored.balance)
            due = plan.opening(
                person,
                standing,
                reports=reports.get(person.id, 0),
                lifetime=lifetimes.get(person.id, 0),
            )
            if due is not None and await self._open(due, plan.rollover, at):
                opened.setdefault((due.period_key, due.granted), []).append(person.id)
        return [OpenedPeriods(k, g, tuple(ids)) for (k, g), ids in opened.items()]

    async def _open(self, o: Opening, rollover: bool, at: datetime) -> bool:
        account = AccountRef(AccountKind.ALLOWANCE, o.person_id)
        rest = self.s.accounts[account].balance
        if not await self.open_period(o.person_id, o.period_key, o.granted):
            return False
        if rest and not rollover:
            lapse = transfer(
                f"allowance-lapse:{o.person_id}:{o.period_key}",
                TransferKind.ALLOWANCE_LAPSE,
                (account, ISSUANCE, rest),
            )
            await self.post(lapse, at=at)
        if o.granted:
            grant = transfer(
                f"allowance:{o.person_id}:{o.period_key}",
                TransferKind.ALLOWANCE_GRANT,
                (ISSUANCE, account, o.granted),
            )
            await self.post(grant, at=at)
        return True

    async def add_hold(self, *, key: str, person_id: int, amount: int, at: datetime) -> Hold:
        hold = Hold(
            id=self.s.new_id(),
            key=key,
            person_id=person_id,
            amount=amount,
            status=HoldStatus.PENDING,
            created_at=at,
        )
        self.s.holds[hold.id] = hold
        return hold

    async def get_hold(self, hold_id: int) -> Hold | None:
        return self.s.holds.get(hold_id)

    async def hold_by_key(self, key: str) -> Hold | None:
        return next((h for h in self.s.holds.values() if h.key == key), None)

    async def resolve_hold(self, hold_id: int, status: HoldStatus, *, at: datetime) -> bool:
        hold = self.s.holds.get(hold_id)
        if hold is None or hold.status is not HoldStatus.PENDING:
            return False
        self.s.holds[hold_id] = replace(hold, status=status, resolved_at=at)
        return True


class FakeRecognitions(_Repo):
    async def by_key(self, key: str) -> Recognition | None:
        return next((r for r in self.s.recognitions.values() if r.key == key), None)

    async def add(self, recognition: Recognition) -> Recognition:
        if await self.by_key(recognition.key):
            raise ValueError("unique constraint")
        stored = replace(recognition, id=self.s.new_id())
        self.s.recognitions[stored.id] = stored
        return stored

    async def mark_revoked(self, recognition_id: int, *, at: datetime) -> bool:
        found = self.s.recognitions.get(recognition_id)
        if found is None or found.revoked_at is not None:
            return False
        self.s.recognitions[recognition_id] = replace(found, revoked_at=at)
        return True

    async def history(self, person_id: int, *, limit: int) -> list[Recognition]:
        mine = [
            r
            for r in self.s.recognitions.values()
            if r.giver_id == person_id or person_id in r.receiver_ids
        ]
        return sorted(mine, key=lambda r: r.id, reverse=True)[:limit]

    async def erase_reasons_by(self, giver_id: int) -> int:
        return self._blank(lambda r: r.giver_id == giver_id)

    async def erase_reasons_before(self, cutoff: datetime) -> int:
        return self._blank(lambda r: r.created_at < cutoff and bool(r.reason), keep_context=True)

    def _blank(self, wanted: Callable[[Recognition], bool], *, keep_context: bool = False) -> int:
        found = [r for r in self.s.recognitions.values() if wanted(r)]
        for r in found:
            context = r.context if keep_context else {}
            self.s.recognitions[r.id] = replace(r, reason="", context=context)
        return len(found)


class FakeStats(_Repo):
    async def add(self, deltas: list[StatDelta]) -> None:
        for d in deltas:
            row = self.s.totals.setdefault((d.role.value, d.bucket, d.value, d.person_id), [0, 0])
            row[0] += d.points
            row[1] += d.count

    async def lifetime_received(self, person_id: int) -> int:
        return self.s.totals.get((StatRole.RECEIVED.value, "all", ALL_VALUES, person_id), [0])[0]

    async def lifetimes(self) -> dict[int, int]:
        received = (StatRole.RECEIVED.value, "all", ALL_VALUES)
        return {k[3]: v[0] for k, v in self.s.totals.items() if k[:3] == received}

    async def bucket(self, role: StatRole, bucket: str) -> list[StatRow]:
        return [
            StatRow(k[2], k[3], v[0], v[1])
            for k, v in self.s.totals.items()
            if k[:2] == (role.value, bucket)
        ]

    async def top(self, role: StatRole, bucket: str, value: str, *, limit: int) -> list[Standing]:
        rows = [
            Standing(person_id=k[3], points=v[0], count=v[1])
            for k, v in self.s.totals.items()
            if k[:3] == (role.value, bucket, value) and v[0] > 0
        ]
        return sorted(rows, key=lambda s: (-s.points, s.person_id))[:limit]


class FakeCatalog(_Repo):
    async def put(self, item: CatalogItem) -> None:
        self.s.catalog[item.slug] = item

    async def get(self, slug: str) -> CatalogItem | None:
        return self.s.catalog.get(slug)

    async def items(self) -> list[CatalogItem]:
        return sorted(self.s.catalog.values(), key=lambda i: (i.price, i.slug))

    async def take_stock(self, slug: str, quantity: int, variant: str | None = None) -> bool:
        item = self.s.catalog[slug]
        chosen = item.variant(variant) if variant else None
        if any(s is not None and s < quantity for s in (item.stock, chosen and chosen.stock)):
            return False
        self.s.catalog[slug] = _restocked(item, -quantity, variant)
        return True

    async def return_stock(self, slug: str, quantity: int, variant: str | None = None) -> None:
        self.s.catalog[slug] = _restocked(self.s.catalog[slug], quantity, variant)


def _restocked(item: CatalogItem, change: int, variant: str | None) -> CatalogItem:
    """The item with `change` units more (or fewer) of its stock and the variant's."""
    variants = tuple(
        replace(v, stock=v.stock + change) if v.name == variant and v.stock is not None else v
        for v in item.variants
    )
    stock = None if item.stock is None else item.stock + change
    return replace(item, stock=stock, variants=variants)


class FakeAdminChanges(_Repo):
    async def add(self, *, proposer_id: int, change: str, platform: str, at: datetime) -> int:
        change_id = self.s.new_id()
        self.s.admin_changes[change_id] = PendingChange(
            id=change_id, proposer_id=proposer_id, change=decode(change), platform=platform
        )
        return change_id

    async def get(self, change_id: int) -> PendingChange | None:
        return self.s.admin_changes.get(change_id)


class FakeRedemptions(_Repo):
    async def add(self, redemption: Redemption) -> Redemption:
        stored = replace(redemption, id=self.s.new_id())
        self.s.redemptions[stored.id] = stored
        return stored

    async def get(self, redemption_id: int) -> Redemption | None:
        return self.s.redemptions.get(redemption_id)

    async def by_key(self, key: str) -> Redemption | None:
        return next((r for r in self.s.redemptions.values() if r.key == key), None)

    async def close(
        self, redemption_id: int, status: RedemptionStatus, *, at: datetime, note: str
    ) -> bool:
        found = self.s.redemptions.get(redemption_id)
        if found is None or found.status is not RedemptionStatus.PENDING:
            return False
        self.s.redemptions[redemption_id] = replace(found, status=status, decided_at=at, note=note)
        return True

    async def of_person(self, person_id: int, *, limit: int) -> list[Redemption]:
        mine = [r for r in self.s.redemptions.values() if r.person_id == person_id]
        return sorted(mine, key=lambda r: -r.id)[:limit]

    async def pending_for(self, approver_id: int) -> list[Redemption]:
        waiting = [
            r
            for r in self.s.redemptions.values()
            if r.approver_id == approver_id and r.status is RedemptionStatus.PENDING
        ]
        return sorted(waiting, key=lambda r: r.id)

    async def pending(self) -> list[Redemption]:
        waiting = [r for r in self.s.redemptions.values() if r.status is RedemptionStatus.PENDING]
        return sorted(waiting, key=lambda r: r.id)

    async def approved(
        self, item_slugs: list[str], since: datetime, until: datetime
    ) -> list[Redemption]:
        found = [
            r
            for r in self.s.redemptions.values()
            if r.status is RedemptionStatus.APPROVED
            and r.item_slug in item_slugs
            and r.decided_at is not None
            and since <= r.decided_at < until
        ]
        return sorted(found, key=lambda r: (r.decided_at, r.id))

    async def reroute(self, redemption_id: int, approver_id: int) -> None:
        found = self.s.redemptions[redemption_id]
        self.s.redemptions[redemption_id] = replace(found, approver_id=approver_id)

    async def erase_shipping(self, person_id: int) -> int:
        found = [r for r in self.s.redemptions.values() if r.person_id == person_id and r.shipping]
        for r in found:
            self.s.redemptions[r.id] = replace(r, shipping=None)
        return len(found)

    async def erase_note(self, redemption_id: int) -> None:
        self.s.redemptions[redemption_id] = replace(self.s.redemptions[redemption_id], note="")

    async def units_since(self, person_id: int, item_slug: str, since: datetime) -> int:
        counted = (RedemptionStatus.PENDING, RedemptionStatus.APPROVED)
        return sum(
            r.quantity
            for r in self.s.redemptions.values()
            if r.person_id == person_id
            and r.item_slug == item_slug
            and r.created_at >= since
            and r.status in counted
        )


class FakeGiftCards(_Repo):
    """The pool as the core sees it: codes are only slots with a state and a request."""

    def add(self, item_slug: str, count: int) -> None:
        self.s.gift_cards += [[item_slug, "available", None] for _ in range(count)]

    async def available(self, item_slug: str) -> int:
        return sum(1 for c in self.s.gift_cards if c[:2] == [item_slug, "available"])

    async def reserve(self, item_slug: str, request_key: str, quantity: int) -> bool:
        free = [c for c in self.s.gift_cards if c[:2] == [item_slug, "available"]][:quantity]
        if len(free) < quantity:
            return False
        for code in free:
            code[1:] = ["reserved", request_key]
        return True

    async def issue(self, request_key: str) -> None:
        for code in self.s.gift_cards:
            if code[1:] == ["reserved", request_key]:
                code[1] = "issued"

    async def release(self, request_key: str) -> None:
        for code in self.s.gift_cards:
            if code[1:] == ["reserved", request_key]:
                code[1:] = ["available", None]

    async def destroy_codes_of(self, person_id: int) -> int:
        """The fake keeps no code values: it remembers which slots were destroyed."""
        keys = {r.key for r in self.s.redemptions.values() if r.person_id == person_id}
        found = [
            n
            for n, code in enumerate(self.s.gift_cards)
            if code[1] == "issued" and code[2] in keys and n not in self.s.destroyed_codes
        ]
        self.s.destroyed_codes.update(found)
        return len(found)


class FakeJobRuns(_Repo):
    async def claim(self, job: str, key: str, *, at: datetime) -> bool:
        if (job, key) in self.s.runs:
            return False
        self.s.runs[(job, key)] = at
        return True


class FakeDailyGiving(_Repo):
    async def consume(self, person_id: int, day: str, amount: int, *, limit: int) -> bool:
        given = self.s.daily.get((person_id, day), 0)
        if given + amount > limit:
            return False
        self.s.daily[(person_id, day)] = given + amount
        return True

    async def given_on(self, person_id: int, day: str) -> int:
        return self.s.daily.get((person_id, day), 0)

    async def release(self, person_id: int, day: str, amount: int) -> None:
        if (person_id, day) in self.s.daily:
            self.s.daily[(person_id, day)] = max(0, self.s.daily[(person_id, day)] - amount)


class FakeConfig(_Repo):
    async def load(self) -> OrgConfig:
        return OrgConfig(
            policy=self.s.policy,
            values=list(self.s.values.values()),
            tiers=sorted(self.s.tiers.values(), key=lambda t: t.threshold),
            rules=list(self.s.rules.values()),
            chat=self.s.chat,
        )

    async def save_chat(self, chat: ChatSettings) -> None:
        self.s.chat = chat

    async def save_policy(self, policy: GivingPolicy) -> None:
        self.s.policy = policy

    async def put_value(self, value: CompanyValue) -> None:
        self.s.values[value.slug] = value

    async def put_tier(self, tier: Tier) -> None:
        self.s.tiers[tier.name] = tier

    async def remove_tier(self, name: str) -> None:
        self.s.tiers.pop(name, None)

    async def put_rule(self, rule: AllowanceRule) -> None:
        self.s.rules[(rule.scope.value, rule.subject)] = rule


class FakeDecisions(_Repo):
    async def add(self, decision: Decision) -> None:
        self.s.decisions.setdefault(decision.key, decision)

    async def get(self, key: str) -> Decision | None:
        return self.s.decisions.get(key)

    async def claim(
        self, key: str, outcome: Outcome, person_id: int | None, at: datetime, note: str
    ) -> bool:
        found = self.s.decisions.get(key)
        if found is None or found.outcome is not None:
            return False
        self.s.decisions[key] = replace(
            found, outcome=outcome, decided_by=person_id, decided_at=at, note=note
        )
        return True

    async def erase_notes_by(self, person_id: int) -> list[Decision]:
        found = [d for d in self.s.decisions.values() if d.decided_by == person_id and d.note]
        for d in found:
            self.s.decisions[d.key] = replace(d, note="")
        return found


class FakePlatformRecords(_Repo):
    """The fakes keep no outbox, SCIM or processed events: only keys can quote an id."""

    async def forget(self, person_id: int) -> int:
        return 0

    async def scrub_ids(self, ids: frozenset[str], replacement: str) -> int:
        changed = 0
        for r in list(self.s.recognitions.values()):
            key = scrub_key(r.key, ids, replacement)
            if key != r.key:
                self.s.recognitions[r.id] = replace(r, key=key)
                changed += 1
        for old in list(self.s.transfers):
            key = scrub_key(old, ids, replacement)
            if key != old:
                self.s.transfers[key] = replace(self.s.transfers.pop(old), key=key)
                changed += 1
        return changed


class FakeAuditLog(_Repo):
    async def append(self, entry: AuditEntry) -> AuditRecord:
        last = self.s.audit[-1] if self.s.audit else None
        prev_hash = last.hash if last else GENESIS
        record = AuditRecord(
            id=last.id + 1 if last else 1,
            entry=entry,
            prev_hash=prev_hash,
            hash=chain_hash(prev_hash, entry),
        )
        self.s.audit.append(record)
        return record

    async def since(self, at: datetime | None, *, limit: int) -> list[AuditRecord]:
        found = [r for r in reversed(self.s.audit) if at is None or r.entry.at >= at]
        return found[:limit]


class FakeAnalytics(_Repo):
    """The analytics figures computed from their definitions (core/analytics.py), person
    by person: the oracle that the SQL statements must agree with."""

    def _members(self, scope: Scope, *, active_only: bool = True) -> dict[int, Person]:
        if scope.kind is ScopeKind.SELF:
            ids = {scope.viewer_id}
        elif scope.kind is ScopeKind.REPORTS:
            ids = self._reports(scope.viewer_id)
        else:
            ids = set(self.s.people)
        found = {}
        for person_id in sorted(ids):
            p = self.s.people.get(person_id)
            if p is None or p.is_bot or (active_only and not p.active):
                continue
            if scope.department is None or p.department == scope.department:
                found[person_id] = p
        return found

    def _reports(self, manager_id: int) -> set[int]:
        found: set[int] = set()
        todo = [manager_id]
        while todo:
            boss = todo.pop()
            for p in self.s.people.values():
                if p.manager_id == boss and p.id not in found:
                    found.add(p.id)
                    todo.append(p.id)
        found.discard(manager_id)
        return found

    def _gifts(self, since: datetime, until: datetime) -> list[tuple[Recognition, int]]:
        """(recognition, receiver) per kudos given in [since, until), not revoked."""
        return [
            (r, receiver)
            for r in self.s.recognitions.values()
            if r.revoked_at is None and since <= r.created_at < until
            for receiver in r.receiver_ids
        ]

    def _redeemable(self, person_id: int) -> int:
        kinds = (AccountKind.EARNED, AccountKind.HELD)
        return sum(self.s.accounts[AccountRef(k, person_id)].balance for k in kinds)

    async def departments(self, scope: Scope) -> list[str]:
        return sorted({p.department for p in self._members(scope).values() if p.department})

    async def headcount(self, scope: Scope) -> int:
        return len(self._members(scope))

    async def department_rows(
        self, scope: Scope, since: datetime, until: datetime
    ) -> list[DepartmentRow]:
        gifts = self._gifts(since, until)
        givers = {r.giver_id for r, _ in gifts}
        rows: dict[str | None, list[int]] = {}
        for p in self._members(scope).values():
            got = [r.amount for r, receiver in gifts if receiver == p.id]
            row = rows.setdefault(p.department, [0, 0, 0, 0, 0])
            for i, n in enumerate((1, p.id in givers, bool(got), len(got), sum(got))):
                row[i] += n
        return [
            DepartmentRow(department=d, people=n, givers=g, receivers=r, kudos=k, points=pts)
            for d, (n, g, r, k, pts) in rows.items()
        ]

    async def top_values(
        self, scope: Scope, since: datetime, until: datetime, *, limit: int
    ) -> list[ValueCount]:
        members = self._members(scope)
        counts: dict[str, int] = {}
        for r, receiver in self._gifts(since, until):
            for value in r.values if receiver in members else ():
                counts[value] = counts.get(value, 0) + 1
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return [ValueCount(value, n) for value, n in ranked[:limit]]

    def _decided(
        self, scope: Scope, since: datetime, until: datetime, statuses: set[RedemptionStatus]
    ) -> list[Redemption]:
        members = self._members(scope)
        return [
            r
            for r in self.s.redemptions.values()
            if r.status in statuses
            and r.decided_at is not None
            and since <= r.decided_at < until
            and r.person_id in members
        ]

    async def redemption_figures(
        self, scope: Scope, since: datetime, until: datetime
    ) -> RedemptionFigures:
        approved = self._decided(scope, since, until, {RedemptionStatus.APPROVED})
        redeemers = {r.person_id for r in approved}
        holding = {i for i in self._members(scope) if self._redeemable(i) > 0}
        everyone = self._members(scope, active_only=False)
        return RedemptionFigures(
            holders=len(redeemers | holding),
            redeemers=len(redeemers),
            points_redeemed=sum(r.points for r in approved),
            liability=sum(self._redeemable(i) for i in everyone),
        )

    async def lead_times(
        self, scope: Scope, since: datetime, until: datetime, *, percentiles: Sequence[int]
    ) -> tuple[int, dict[int, float]]:
        decided = {RedemptionStatus.APPROVED, RedemptionStatus.DECLINED}
        waits = sorted(
            (r.decided_at - r.created_at).total_seconds()
            for r in self._decided(scope, since, until, decided)
            if r.decided_at is not None and r.approver_id is not None
        )
        if not waits:
            return 0, {}
        return len(waits), {p: waits[math.ceil(len(waits) * p / 100) - 1] for p in percentiles}

    async def weekly(self, scope: Scope, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        members = self._members(scope)
        weeks = []
        for start, end in itertools.pairwise(bounds):
            got = [r.amount for r, receiver in self._gifts(start, end) if receiver in members]
            weeks.append((len(got), sum(got)))
        return weeks

    async def not_recognised(
        self, scope: Scope, since: datetime, *, limit: int
    ) -> tuple[int, list[QuietPerson]]:
        last: dict[int, datetime] = {}
        for r in self.s.recognitions.values():
            for receiver in r.receiver_ids if r.revoked_at is None else ():
                last[receiver] = max(r.created_at, last.get(receiver, r.created_at))
        members = self._members(scope).values()
        quiet = [p for p in members if p.id not in last or last[p.id] < since]
        quiet.sort(key=lambda p: (p.id in last, last.get(p.id, since), p.id))
        return len(quiet), [
            QuietPerson(
                person_id=p.id,
                name=p.display_name,
                manager=self.s.people[p.manager_id].display_name if p.manager_id else None,
                last_recognised=last.get(p.id),
            )
            for p in quiet[:limit]
        ]

    async def rings(
        self, scope: Scope, since: datetime, until: datetime, *, min_kudos: int, share: int
    ) -> list[tuple[Giving, ...]]:
        members = self._members(scope)
        given: dict[int, int] = {}
        gifts: dict[int, set[int]] = {}
        edges: dict[tuple[int, int], int] = {}
        for r, receiver in self._gifts(since, until):
            if r.giver_id in members:
                given[r.giver_id] = given.get(r.giver_id, 0) + r.amount
                gifts.setdefault(r.giver_id, set()).add(r.id)
                edges[(r.giver_id, receiver)] = edges.get((r.giver_id, receiver), 0) + r.amount
        eligible = sorted(i for i in given if len(gifts[i]) >= min_kudos)
        found = []
        for size in (2, 3):  # every group, by brute force
            for group in itertools.combinations(eligible, size):
                giving = tuple(
                    Giving(
                        person_id=i,
                        given=given[i],
                        to_group=sum(edges.get((i, o), 0) for o in group if o != i),
                    )
                    for i in group
                )
                if all(g.to_group * 100 >= g.given * share for g in giving):
                    found.append(giving)
        return found

    async def concentration(
        self, scope: Scope, since: datetime, until: datetime, *, top: int
    ) -> tuple[int, int]:
        members = self._members(scope)
        received: dict[int, int] = {}
        for r, receiver in self._gifts(since, until):
            if receiver in members:
                received[receiver] = received.get(receiver, 0) + r.amount
        ranked = sorted(received.values(), reverse=True)
        return sum(ranked[:top]), sum(ranked)

    async def flows(self, scope: Scope, since: datetime, until: datetime) -> list[Flow]:
        members = self._members(scope)
        flows: dict[tuple[str | None, str | None], list[int]] = {}
        for r, receiver in self._gifts(since, until):
            if receiver in members:
                source = self.s.people[r.giver_id].department
                row = flows.setdefault((source, members[receiver].department), [0, 0])
                row[0] += 1
                row[1] += r.amount
        return [Flow(source=s, target=t, kudos=k, points=p) for (s, t), (k, p) in flows.items()]


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, store: FakeStore) -> None:
        super().__init__()
        self.store = store
        self._snapshot: State | None = None
        self.people = FakePeople(self)
        self.ledger = FakeLedger(self)
        self.recognitions = FakeRecognitions(self)
        self.stats = FakeStats(self)
        self.giving = FakeDailyGiving(self)
        self.config = FakeConfig(self)
        self.decisions = FakeDecisions(self)
        self.runs = FakeJobRuns(self)
        self.catalog = FakeCatalog(self)
        self.redemptions = FakeRedemptions(self)
        self.gift_cards = FakeGiftCards(self)
        self.analytics = FakeAnalytics(self)
        self.audit = FakeAuditLog(self)
        self.admin_changes = FakeAdminChanges(self)
        self.platform_records = FakePlatformRecords(self)

    async def begin(self) -> None:
        await self.store.lock.acquire()
        self._snapshot = copy.deepcopy(self.store.state)

    async def commit(self) -> None:
        self._snapshot = None
        self.store.commits += 1
        self.store.lock.release()

    async def rollback(self) -> None:
        if self._snapshot is not None:
            self.store.state = self._snapshot
            self._snapshot = None
            self.store.lock.release()


class FakeUnitOfWorkFactory:
    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()

    def __call__(self, *, readonly: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


class FakeNotifier:
    """Records every event the bus dispatches after commit."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]


def all_balances(state: State) -> dict[AccountRef, int]:
    return {ref: a.balance for ref, a in state.accounts.items()}


def entry_sums(state: State) -> dict[AccountRef, int]:
    sums: dict[AccountRef, int] = {}
    for posted in state.transfers.values():
        for leg in posted.legs:
            sums[leg.account] = sums.get(leg.account, 0) + leg.amount
    return sums
