"""The message bus: one unit of work per command, events to subscribers after commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

from .admin import KIND as ADMIN
from .clock import Clock
from .commands import (
    CancelRedemption,
    CelebrateMilestones,
    ChaseApprovals,
    CheckAdmin,
    Command,
    ConfigureOrganisation,
    DeactivatePerson,
    Decide,
    EnsureAdmins,
    ErasePerson,
    ExpirePoints,
    GetAllowances,
    GetAudit,
    GetBalance,
    GetCodePool,
    GetHistory,
    GetInsights,
    GetLeaderboard,
    GetRedemptions,
    GetShop,
    GetStats,
    GiveKudos,
    LinkIdentity,
    ListPeople,
    ListValues,
    OpenDecision,
    PostDigest,
    ProposeChange,
    PurgeOldReasons,
    PutCatalogItem,
    Query,
    RecordCodes,
    RecordExport,
    Redeem,
    RefreshAllowance,
    RefreshAllowances,
    RegisterPerson,
    RemindUnusedAllowance,
    RevokeKudos,
    SetLocale,
    SetMuted,
    SyncChatProfile,
    SyncDirectory,
    UpsertDirectoryPerson,
)
from .decisions import Effects
from .errors import StoreDisconnected, TransientStoreError
from .events import Event
from .handlers import (
    admin,
    admin_queries,
    allowance,
    analytics,
    decisions,
    directory,
    expiry,
    gift_cards,
    kudos,
    people,
    privacy,
    queries,
    rewards,
    schedule,
)
from .ports import Subscriber, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

Handler = Callable[[Any, UnitOfWork], Awaitable[Any]]


def default_handlers(clock: Clock, effects: Effects | None = None) -> dict[type[Command], Handler]:
    """Every command's handler; `effects` are what each kind of decision does when taken."""
    table: dict[type[Command], Callable[..., Awaitable[Any]]] = {
        GiveKudos: kudos.give_kudos,
        RevokeKudos: kudos.revoke_kudos,
        RefreshAllowance: allowance.refresh_allowance,
        RefreshAllowances: allowance.refresh_allowances,
        RegisterPerson: people.register_person,
        LinkIdentity: people.link_identity,
        SetLocale: people.set_locale,
        SyncChatProfile: people.sync_chat_profile,
        ConfigureOrganisation: people.configure_organisation,
        GetBalance: queries.get_balance,
        GetHistory: queries.get_history,
        GetLeaderboard: queries.get_leaderboard,
        ListValues: queries.list_values,
        OpenDecision: decisions.open_decision,
        SyncDirectory: directory.sync_directory,
        UpsertDirectoryPerson: directory.upsert_directory_person,
        DeactivatePerson: directory.deactivate_person,
        ListPeople: directory.list_people,
        RemindUnusedAllowance: schedule.remind_unused_allowance,
        CelebrateMilestones: schedule.celebrate_milestones,
        PostDigest: schedule.post_digest,
        SetMuted: schedule.set_muted,
        PutCatalogItem: rewards.put_catalog_item,
        Redeem: rewards.redeem,
        CancelRedemption: rewards.cancel_redemption,
        GetShop: rewards.get_shop,
        GetStats: analytics.get_stats,
        GetInsights: analytics.get_insights,
        GetRedemptions: rewards.get_redemptions,
        ChaseApprovals: rewards.chase_approvals,
        ExpirePoints: expiry.expire_points,
        ErasePerson: privacy.erase_person,
        RecordExport: privacy.record_export,
        PurgeOldReasons: privacy.purge_old_reasons,
        ProposeChange: admin.propose_change,
        EnsureAdmins: admin.ensure_admins,
        CheckAdmin: admin_queries.check_admin,
        GetAudit: admin_queries.get_audit,
        GetAllowances: admin_queries.get_allowances,
        GetCodePool: gift_cards.get_code_pool,
        RecordCodes: gift_cards.record_codes,
    }
    handlers: dict[type[Command], Handler] = {
        kind: partial(handler, clock=clock) for kind, handler in table.items()
    }
    owned = {
        rewards.KIND: rewards.decide_redemption,
        ADMIN: admin.decide_change,
    }  # the core's own kinds of decision
    handlers[Decide] = partial(
        decisions.decide, clock=clock, effects={**owned, **dict(effects or {})}
    )
    return handlers


class MessageBus:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        handlers: Mapping[type[Command], Handler],
        subscribers: Mapping[type[Event], Sequence[Subscriber]] | None = None,
        retries: int = 5,
    ) -> None:
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._subscribers = {k: list(v) for k, v in (subscribers or {}).items()}
        self._retries = retries

    def subscribe(self, kind: type[Event], subscriber: Subscriber) -> None:
        self._subscribers.setdefault(kind, []).append(subscriber)

    async def handle(self, command: Command) -> Any:
        handler = self._handlers[type(command)]
        for attempt in range(self._retries + 1):
            uow = self._uow_factory(readonly=isinstance(command, Query))
            try:
                async with uow:
                    result = await handler(command, uow)
                    await uow.commit()
            except StoreDisconnected:
                # The commit may have landed: only a keyed command can find out by
                # running again. The waits (0.1 + 0.3 + 0.9 s) ride out a backend that
                # was killed or restarted, not an outage, which gets its apology.
                if attempt >= min(self._retries, 3) or not _keyed(command):
                    raise
                await asyncio.sleep(0.1 * 3**attempt)
                continue
            except TransientStoreError:
                if attempt == self._retries:
                    raise
                await asyncio.sleep(0.01 * 2**attempt)
                continue
            await self._dispatch(uow.events)
            return result
        raise AssertionError("unreachable")

    async def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            for subscriber in self._subscribers.get(type(event), ()):
                try:
                    await subscriber(event)
                except Exception:  # a failed notification must not undo a committed command
                    log.exception("subscriber %r failed on %s", subscriber, type(event).__name__)


def _keyed(command: Command) -> bool:
    """A command that carries its idempotency key replays, instead of repeating, its work."""
    return getattr(command, "idempotency_key", None) is not None
