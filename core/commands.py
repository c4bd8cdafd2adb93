"""Commands laurel accepts (imperative names). Queries are commands that change nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from .admin import Change
from .decisions import Outcome
from .directory import DirectoryRecord
from .people import Identity, NewPerson
from .periods import PeriodKind, Window
from .policy import CompanyValue, GivingPolicy, Tier
from .rewards import CatalogItem


class Command:
    """Base of everything the bus accepts."""


class Query(Command):
    """A command that only reads; stores may run it without a write lock."""


@dataclass(frozen=True, kw_only=True)
class GiveKudos(Command):
    giver_id: int
    receiver_ids: tuple[int, ...]
    reason: str
    amount: int | None = None  # None: the organisation's default amount
    values: tuple[str, ...] = ()
    source: str = "console"
    idempotency_key: str | None = None  # e.g. the Slack event id; None: a fresh one
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RevokeKudos(Command):
    recognition_key: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RefreshAllowance(Command):
    person_id: int


@dataclass(frozen=True, kw_only=True)
class RefreshAllowances(Command):
    """Open the current period's allowance for every active person whose period has turned."""


@dataclass(frozen=True, kw_only=True)
class RegisterPerson(Command):
    person: NewPerson


@dataclass(frozen=True, kw_only=True)
class LinkIdentity(Command):
    person_id: int
    identity: Identity


@dataclass(frozen=True, kw_only=True)
class SyncChatProfile(Command):
    """What a chat platform says about one of its users: link them to a person, or add one."""

    identity: Identity
    email: str | None
    display_name: str
    tz: str | None = None
    is_bot: bool = False
    active: bool = True


@dataclass(frozen=True, kw_only=True)
class SetLocale(Command):
    person_id: int
    locale: str


@dataclass(frozen=True, kw_only=True)
class ConfigureOrganisation(Command):
    """Replace policy, and add values and tiers (used by seeding; admin previews come later)."""

    policy: GivingPolicy | None = None
    values: tuple[CompanyValue, ...] = ()
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True, kw_only=True)
class GetBalance(Query):
    person_id: int


@dataclass(frozen=True, kw_only=True)
class GetHistory(Query):
    person_id: int
    limit: int = 10


@dataclass(frozen=True, kw_only=True)
class GetLeaderboard(Query):
    window: Window = Window.MONTH
    value: str | None = None
    limit: int = 10


@dataclass(frozen=True, kw_only=True)
class ListValues(Query):
    pass


@dataclass(frozen=True, kw_only=True)
class OpenDecision(Command):
    key: str
    kind: str
    subject: str
    options: tuple[Outcome, ...] = (Outcome.APPROVE, Outcome.DECLINE)


@dataclass(frozen=True, kw_only=True)
class Decide(Command):
    key: str
    outcome: Outcome
    person_id: int
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class SyncDirectory(Command):
    """Take in what a directory source says about many people (CSV file, HRMS pull).

    `complete`: the records are everyone the source knows, so its people who are missing
    have left. `dry_run`: report what would change and change nothing.
    """

    records: tuple[DirectoryRecord, ...]
    source: str
    complete: bool = False
    dry_run: bool = False
    progress: Callable[[int, int], None] | None = None  # (done, total), for a progress bar
    # E-mails of rows the source could not read: listed, so never taken for leavers.
    unreadable: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class UpsertDirectoryPerson(Command):
    """One person from a provisioning source (SCIM). `person_id` names whom to replace;
    without it the person is found by external id or e-mail, or added."""

    record: DirectoryRecord
    source: str
    person_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class DeactivatePerson(Command):
    """The person left: no more kudos or allowance; their points follow the leaver policy."""

    person_id: int


@dataclass(frozen=True, kw_only=True)
class ListPeople(Query):
    offset: int = 0
    limit: int = 100
    email: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RemindUnusedAllowance(Command):
    """Tell people who still have allowance, near their period's end, at a sensible hour."""


@dataclass(frozen=True, kw_only=True)
class CelebrateMilestones(Command):
    """Birthdays (with consent) and work anniversaries, in each person's local morning."""


@dataclass(frozen=True, kw_only=True)
class PostDigest(Command):
    """Last week's recognition digest, on Monday morning in the organisation's time zone."""


@dataclass(frozen=True, kw_only=True)
class SetMuted(Command):
    """A person mutes (or unmutes) one kind of reminder."""

    person_id: int
    kind: str
    muted: bool


@dataclass(frozen=True, kw_only=True)
class PutCatalogItem(Command):
    """Add or replace a catalog item (seeding now; the admin commands later)."""

    item: CatalogItem


@dataclass(frozen=True, kw_only=True)
class Redeem(Command):
    person_id: int
    item: str  # the item's slug
    quantity: int = 1
    idempotency_key: str | None = None
    variant: str | None = None  # a size or variant, for items that have them
    shipping: str | None = None  # the shipping address, already sealed by the adapter


@dataclass(frozen=True, kw_only=True)
class CancelRedemption(Command):
    person_id: int
    redemption_id: int


@dataclass(frozen=True, kw_only=True)
class GetShop(Query):
    person_id: int


@dataclass(frozen=True, kw_only=True)
class GetRedemptions(Query):
    """The person's own requests; with `approver`, the ones waiting for their decision."""

    person_id: int
    approver: bool = False
    limit: int = 20


@dataclass(frozen=True, kw_only=True)
class ChaseApprovals(Command):
    """Undecided redemptions: remind, escalate to the approver's manager, then refund."""


@dataclass(frozen=True, kw_only=True)
class ExpirePoints(Command):
    """Earned points older than the policy's months expire, oldest first; a warning comes
    `expiry_warning_days` before."""


@dataclass(frozen=True, kw_only=True)
class ErasePerson(Command):
    """Pseudonymise a person for good (GDPR art. 17); only an HR admin may. Chat shows a
    preview and asks for Confirm before sending it: nothing undoes it."""

    person_id: int
    actor_id: int | None  # None: the operator at the command line, not a person
    platform: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordExport(Command):
    """Log an export in the audit log; only an HR admin may export, so an adapter sends
    this before it hands the file over (it is the permission check too)."""

    actor_id: int | None  # None: the operator at the command line, not a person
    kind: str  # one of core.privacy.EXPORT_KINDS
    subject: str  # "person:42" for a person's export; the kind otherwise
    since: date | None = None
    until: date | None = None  # the day after the last one
    platform: str = ""


@dataclass(frozen=True, kw_only=True)
class PurgeOldReasons(Command):
    """Blank the reasons of recognitions older than the policy's retention (if it has one)."""


@dataclass(frozen=True, kw_only=True)
class GetStats(Query):
    """Recognition figures for the current week, month or quarter, in the viewer's scope
    (see core/analytics.py): everyone for HR admins, a manager's reports, else their own."""

    viewer_id: int
    window: PeriodKind = PeriodKind.MONTH
    department: str | None = None  # only this department (any case), if the viewer may see it


@dataclass(frozen=True, kw_only=True)
class GetInsights(Query):
    """Fairness insights in the viewer's scope: who goes unrecognised, rings, concentration."""

    viewer_id: int


@dataclass(frozen=True, kw_only=True)
class ProposeChange(Command):
    """An HR admin's change: answered with a preview (or a refusal); applied only when the
    proposer confirms it (core/handlers/admin.py)."""

    actor_id: int
    change: Change
    platform: str


@dataclass(frozen=True, kw_only=True)
class EnsureAdmins(Command):
    """LAUREL_ADMINS: the people with these e-mail addresses hold the HR-admin role."""

    emails: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CheckAdmin(Command):
    """Whether the actor may run an admin command that changes nothing (exports, audit,
    budgets); a refusal is audited, hence a command and not a query."""

    actor_id: int
    action: str
    platform: str


@dataclass(frozen=True, kw_only=True)
class GetAudit(Query):
    actor_id: int
    since: datetime | None = None
    limit: int = 50


@dataclass(frozen=True, kw_only=True)
class GetAllowances(Query):
    """The allowance rules in force; with `person_id`, what that person gets now."""

    actor_id: int
    person_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class GetCodePool(Query):
    """A gift card's pool of codes, for an HR admin about to add codes to it."""

    actor_id: int
    item: str  # the slug


@dataclass(frozen=True, kw_only=True)
class RecordCodes(Command):
    """Log gift-card codes an HR admin added (counts only: never a code) and answer with
    the pool as it is now. The adapter sealed them into the pool already: the core never
    sees a code."""

    actor_id: int
    item: str  # the slug
    added: int
    skipped: int  # already in the pool, or twice in the file
    platform: str
