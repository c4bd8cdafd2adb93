"""Run an admin line (Slack `/kudos-admin`, Teams and console `admin`) and answer with a
card, and with files when it exports something.

Changes go to the core as `ProposeChange` and come back as a preview whose card carries
the Confirm / Cancel decision; the platform draws the buttons (the console asks for a
typed `confirm`). Reads that only admins may do (audit, budgets, exports) are checked
first with `CheckAdmin`, which audits a refusal. Exports run after the answer (`later`):
the card says the export started, the file follows when it is ready.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters import exports
from adapters.persistence.gift_cards import GiftCardVault
from adapters.secrets import SecretBox
from core import admin as change
from core.bus import MessageBus
from core.commands import (
    CheckAdmin,
    EnsureAdmins,
    GetAllowances,
    GetAudit,
    GetInsights,
    GetStats,
    ListPeople,
    ProposeChange,
    RecordExport,
)
from core.errors import AdminUsage, DomainError, NotAnAdmin, TransientStoreError, UnknownPerson
from core.handlers.admin import Preview, Refused
from core.messages import MsgId, Text, text
from core.people import Person, Role
from core.periods import PeriodKind
from core.policy import value_slug

from . import admin_cards, cards
from .admin_grammar import (
    AdminHelp,
    AdminRequest,
    AuditRequest,
    BudgetSet,
    BudgetShow,
    CatalogCodes,
    CatalogPut,
    CatalogRetire,
    Confirm,
    ExportRequest,
    InsightsRequest,
    LimitSet,
    PersonErase,
    PersonExport,
    RoleChange,
    SettingSet,
    StatsRequest,
    TargetRef,
    TierRemove,
    TierSet,
    TopUpRequest,
    ValuesChange,
)
from .analytics_cards import insights_card, stats_card
from .cards import Card, Tone
from .codes import GiftCodes, SharedFile
from .commands import Resolver
from .images import Chart

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileOut:
    """A file for the admin's eyes: an export."""

    name: str
    content: bytes
    mime: str
    title: Text


@dataclass
class AdminAnswer:
    card: Card
    files: list[FileOut] = field(default_factory=list)
    later: Callable[[], Awaitable[AdminAnswer]] | None = None  # long work, after the answer


class ChatAdmin:
    def __init__(
        self,
        bus: MessageBus,
        engine: AsyncEngine,
        box: SecretBox | None = None,
        *,
        pictures: bool = True,  # False where no image can be shown (the terminal)
        admins: tuple[str, ...] = (),  # LAUREL_ADMINS
    ) -> None:
        self._bus = bus
        self._admins = admins
        self._engine = engine
        self._box = box
        self._pictures = pictures
        self._codes = GiftCodes(bus, GiftCardVault(engine, box) if box else None)

    async def answer(
        self,
        actor: Person,
        request: AdminRequest,
        resolve: Resolver,
        *,
        platform: str,
        files: Sequence[SharedFile] = (),  # shared with the line (gift-card codes)
    ) -> AdminAnswer:
        """Never raises for a person's mistake or a store hiccup: every outcome is a card."""
        try:
            if actor.email.casefold() in self._admins and Role.HR_ADMIN not in actor.roles:
                await self._bus.handle(EnsureAdmins(emails=(actor.email,)))  # joined since start
                actor = replace(actor, roles=actor.roles | {Role.HR_ADMIN})
            if isinstance(request, CatalogCodes):
                return AdminAnswer(await self._codes.answer(actor, request.name, files, platform))
            return await self._answer(actor, request, resolve, platform)
        except DomainError as error:
            return AdminAnswer(cards.error_card(error))
        except TransientStoreError:
            log.warning("store busy after retries", exc_info=True)
            return AdminAnswer(cards.lines_card(text(MsgId.ERROR_BUSY), tone=Tone.ERROR))

    async def _answer(
        self, actor: Person, request: AdminRequest, resolve: Resolver, platform: str
    ) -> AdminAnswer:
        match request:
            case AdminHelp():
                return AdminAnswer(admin_cards.help_card())
            case StatsRequest():
                return AdminAnswer(await self._stats(actor, request))
            case InsightsRequest():
                view = await self._bus.handle(GetInsights(viewer_id=actor.id))
                wanted = self._pictures and view.flows
                chart = await _draw("network_chart", view) if wanted else None
                return AdminAnswer(insights_card(view, chart))
            case AuditRequest() | BudgetShow() | ExportRequest() | PersonExport():
                return await self._read(actor, request, resolve, platform)
            case Confirm():
                raise AdminUsage("the Confirm and Cancel buttons of the preview")
        if isinstance(request, PersonErase | RoleChange | TopUpRequest | BudgetSet):
            # These look people up first: a non-admin must not learn who exists.
            action = _LOOKUP_ACTIONS[type(request)]
            checked = CheckAdmin(actor_id=actor.id, action=action, platform=platform)
            if await self._bus.handle(checked) is not None:
                return AdminAnswer(cards.error_card(NotAnAdmin()))
        proposed = await self._change(request, resolve)
        result = await self._bus.handle(
            ProposeChange(actor_id=actor.id, change=proposed, platform=platform)
        )
        return AdminAnswer(self._preview(result))

    def _preview(self, result: Preview | Refused) -> Card:
        if isinstance(result, Refused):
            return cards.error_card(NotAnAdmin())
        return admin_cards.preview_card(result)

    async def _change(self, request: AdminRequest, resolve: Resolver) -> change.Change:
        """The core's change for a parsed request, with people resolved to ids."""
        match request:
            case BudgetSet(target=target, amount=amount, period=period):
                scope, subject = await self._scope(target, resolve)
                return change.SetAllowance(
                    scope=scope, subject=subject, amount=amount, period=period
                )
            case TopUpRequest(target=target, amount=amount, reason=reason):
                scope, subject = await self._scope(target, resolve)
                return change.TopUp(scope=scope, subject=subject, amount=amount, reason=reason)
            case LimitSet(name=name, value=value):
                return change.SetLimit(name=name, value=value)
            case ValuesChange():
                return _value_change(request)
            case TierSet(name=name, threshold=threshold, badge=badge, bonus=bonus):
                return change.SetTier(name=name, threshold=threshold, badge=badge, bonus=bonus)
            case TierRemove(name=name):
                return change.RemoveTier(name=name)
            case CatalogPut():
                return _item_change(request)
            case CatalogRetire(name=name):
                return change.RetireItem(slug=value_slug(name))
            case RoleChange(mention=mention, role=role, grant=grant):
                person = await _one(resolve, mention)
                kind = change.GrantRole if grant else change.RevokeRole
                return kind(person_id=person.id, role=role)
            case SettingSet(key=key, value=value):
                return change.ChangeSetting(key=key, value=value)
            case PersonErase(email=email):
                return change.EraseSomeone(person_id=(await self._by_email(email)).id)
        raise TypeError(f"{type(request).__name__} is not an admin change")

    async def _scope(self, target: TargetRef, resolve: Resolver) -> tuple[change.Scope, str]:
        if target.kind == "person":
            return change.Scope.PERSON, str((await _one(resolve, target.value)).id)
        return change.Scope(target.kind), target.value

    async def _by_email(self, email: str) -> Person:
        page = await self._bus.handle(ListPeople(email=email.strip(), limit=1))
        if not page.people:
            raise UnknownPerson(email)
        person: Person = page.people[0]
        return person

    async def _read(
        self, actor: Person, request: AdminRequest, resolve: Resolver, platform: str
    ) -> AdminAnswer:
        action = _READ_ACTIONS[type(request)]
        refused = await self._bus.handle(
            CheckAdmin(actor_id=actor.id, action=action, platform=platform)
        )
        if refused is not None:
            return AdminAnswer(cards.error_card(NotAnAdmin()))
        match request:
            case AuditRequest(since=since):
                start = _midnight(since, actor.tz) if since else None
                view = await self._bus.handle(GetAudit(actor_id=actor.id, since=start))
                return AdminAnswer(admin_cards.audit_card(view, actor.tz))
            case BudgetShow(target=target):
                person = await _one(resolve, target.value) if target else None
                view = await self._bus.handle(
                    GetAllowances(actor_id=actor.id, person_id=person.id if person else None)
                )
                return AdminAnswer(admin_cards.allowances_card(view))
            case ExportRequest():
                return self._export(actor, request, platform)
            case PersonExport(email=email):
                return await self._person_export(actor, await self._by_email(email), platform)
        raise TypeError(type(request).__name__)

    def _export(self, actor: Person, request: ExportRequest, platform: str) -> AdminAnswer:
        first, last = request.since, request.until
        if request.kind == "balances" and first is not None and last is None:
            last = first + timedelta(days=1)  # balances as they were at the end of that day
            first = None
        since = _midnight(first, actor.tz) if first else None
        until = _midnight(last, actor.tz) if last else None
        try:
            exports.check_range(request.kind, since, until)
        except exports.BadRange:
            raise AdminUsage(f"export {request.kind}" + _RANGE_USAGE[request.kind]) from None
        label = text(_EXPORT_LABELS[request.kind])

        async def build() -> AdminAnswer:
            rows = [row async for row in exports.rows(self._engine, request.kind, since, until)]
            await self._bus.handle(
                RecordExport(
                    actor_id=actor.id,
                    kind=request.kind,
                    subject=request.kind,
                    since=request.since,
                    until=request.until,
                    platform=platform,
                )
            )
            content = exports.to_csv(rows, exports.COLUMNS[request.kind])
            name = f"laurel-{request.kind}-{date.today().isoformat()}.csv"
            ready = text(MsgId.ADMIN_EXPORT_READY, kind=label, rows=len(rows))
            return AdminAnswer(
                cards.lines_card(ready, tone=Tone.OK),
                [FileOut(name, content, "text/csv", label)],
            )

        started = cards.lines_card(text(MsgId.ADMIN_EXPORT_STARTED, kind=label))
        return AdminAnswer(started, later=build)

    async def _person_export(self, actor: Person, person: Person, platform: str) -> AdminAnswer:
        data = await exports.person_export(self._engine, person.id, self._box)
        await self._bus.handle(
            RecordExport(
                actor_id=actor.id, kind="person", subject=f"person:{person.id}", platform=platform
            )
        )
        content = json.dumps(data, ensure_ascii=False, indent=2).encode()
        label = text(MsgId.ADMIN_EXPORT_PERSON)
        ready = text(MsgId.ADMIN_EXPORT_READY, kind=label, rows=1)
        name = f"laurel-person-{person.id}.json"
        return AdminAnswer(
            cards.lines_card(ready, tone=Tone.OK),
            [FileOut(name, content, "application/json", label)],
        )

    async def _stats(self, actor: Person, request: StatsRequest) -> Card:
        query = GetStats(
            viewer_id=actor.id, window=PeriodKind(request.window), department=request.department
        )
        view = await self._bus.handle(query)
        wanted = self._pictures and any(week.kudos for week in view.trend)
        chart = await _draw("trend_chart", view) if wanted else None
        return stats_card(view, chart)


async def _draw(name: str, view: object) -> Chart:
    """A chart, drawn off the event loop. matplotlib loads on the first one (a third of a
    second), not with every `laurel` command."""
    from adapters import charts

    draw: Callable[[object], Chart] = getattr(charts, name)
    return await charts.render(draw, view)


async def _one(resolve: Resolver, mention: str) -> Person:
    found = await resolve(mention)
    if len(found) != 1:
        raise UnknownPerson(mention)
    return found[0]


def _value_change(request: ValuesChange) -> change.Change:
    match request.verb:
        case "add":
            return change.AddValue(name=request.name)
        case "retire":
            return change.RetireValue(name=request.name)
        case "rename":
            return change.RenameValue(name=request.name, new_name=request.new_name)
    return change.RequireValues(on=request.on)


def _item_change(request: CatalogPut) -> change.PutItem:
    return change.PutItem(
        slug=value_slug(request.name),
        name=request.rename or (request.name if request.new else None),
        price=request.cost,
        kind=request.kind,
        stock=request.stock,
        unlimited=request.unlimited,
        min_tier=request.tier,
        approval_needed=request.approval,
        new=request.new,
    )


def _midnight(day: date, tz: str) -> datetime:
    """The start of the admin's day: dates they type are their own calendar's."""
    return datetime.combine(day, time(), ZoneInfo(tz)).astimezone(UTC)


_READ_ACTIONS: dict[type[AdminRequest], str] = {
    AuditRequest: "audit.read",
    BudgetShow: "budget.read",
    ExportRequest: "export",
    PersonExport: "export.person",
}
_LOOKUP_ACTIONS: dict[type[AdminRequest], str] = {
    PersonErase: change.EraseSomeone.ACTION,
    RoleChange: "role.change",
    TopUpRequest: change.TopUp.ACTION,
    BudgetSet: change.SetAllowance.ACTION,
}
_EXPORT_LABELS = {
    "recognitions": MsgId.ADMIN_EXPORT_RECOGNITIONS,
    "balances": MsgId.ADMIN_EXPORT_BALANCES,
    "redemptions": MsgId.ADMIN_EXPORT_REDEMPTIONS,
    "people": MsgId.ADMIN_EXPORT_PEOPLE,
}
_RANGE_USAGE = {
    "recognitions": " [FROM] [TO]",
    "redemptions": " [FROM] [TO]",
    "balances": " [DAY]",
    "people": "",
}
