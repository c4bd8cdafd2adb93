"""The Teams entry point: POST /api/messages through the Bot Framework's CloudAdapter.

laurel calls `process_activity` itself instead of `CloudAdapter.process`: the latter
re-serializes an invoke's body, which turns every Adaptive Card `Action.Execute` answer
into HTTP 500 (botbuilder 4.17.1). Here the invoke's plain dict body goes out as JSON.
Every botbuilder import stays in this folder, so a move to the Microsoft 365 Agents SDK
touches adapters/teams/ only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity
from requests import RequestException
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.chat.admin import ChatAdmin
from adapters.chat.cards import lines_card
from adapters.chat.commands import ChatCommands
from adapters.chat.routing import Routing
from adapters.chat.undelivered import Undelivered, ignore
from adapters.persistence.gift_cards import GiftCardVault
from adapters.persistence.inbox import Inbox
from adapters.persistence.outbox import Outbox
from adapters.persistence.pending_files import PendingFiles
from core.bus import MessageBus
from core.messages import MsgId, text
from core.ports import UnitOfWorkFactory

from . import cards
from .admin import TeamsAdmin
from .bot import LaurelTeamsBot
from .delivery import Sender
from .directory import PLATFORM, TeamsDirectory, tenant_of
from .files import TeamsFiles
from .members import MemberStore
from .notifier import TeamsNotifier

log = logging.getLogger("laurel.teams")


@dataclass(frozen=True)
class Credentials:
    """The Azure Bot registration; an empty app id means no authentication (Emulator, tests)."""

    app_id: str = ""
    password: str = ""
    app_type: str = "MultiTenant"
    tenant_id: str = ""
    allowed_tenants: frozenset[str] = field(default_factory=frozenset)


class TeamsAdapter:
    def __init__(
        self,
        *,
        bus: MessageBus,
        uow: UnitOfWorkFactory,
        engine: AsyncEngine,
        credentials: Credentials,
        default_language: str,
        routing: Routing | None = None,
        vault: GiftCardVault | None = None,
        admin: ChatAdmin | None = None,
        undelivered: Undelivered = ignore,
        outbox: Outbox | None = None,
    ) -> None:
        self.credentials = credentials
        self.adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_config(credentials)))
        self.adapter.on_turn_error = self._on_turn_error
        members = MemberStore(engine)
        self.notifier = TeamsNotifier(
            sender=Sender(self.adapter, credentials.app_id),
            uow=uow,
            members=members,
            outbox=outbox or Outbox(engine, PLATFORM),
            default_language=default_language,
            routing=routing or Routing(),
            vault=vault,
            undelivered=undelivered,
        )
        directory = TeamsDirectory(bus=bus, uow=uow, members=members)
        box = vault.box if vault else None
        self.files = TeamsFiles(store=PendingFiles(engine, box), notifier=self.notifier)
        self.admin = TeamsAdmin(admin, directory, self.notifier, self.files) if admin else None
        self.bot = LaurelTeamsBot(
            bus=bus,
            uow=uow,
            directory=directory,
            notifier=self.notifier,
            inbox=Inbox(engine),
            default_language=default_language,
            chat=ChatCommands(bus, vault.box.seal if vault else None),
            admin=self.admin,
            files=self.files,
        )
        for kind in self.notifier.EVENTS:
            bus.subscribe(kind, self.notifier)

    async def handle(self, request: web.Request) -> web.Response:
        """POST /api/messages: authenticate, check the tenant, then let the bot take its turn."""
        if not request.content_type.startswith("application/json"):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = await request.json()
            activity = Activity().deserialize(body) if isinstance(body, dict) else None
        except ValueError:
            activity = None
        if activity is None or not activity.type:
            return web.json_response({"error": "malformed activity"}, status=400)
        auth = self.adapter.bot_framework_authentication
        try:
            verified = await auth.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except RequestException as error:  # the signing keys could not be fetched
            log.error("Bot Framework signing keys unavailable: %s", error)
            return web.json_response({"error": "cannot verify the token now"}, status=503)
        except Exception as error:  # PermissionError, jwt errors or a bare Exception
            log.warning("Teams activity refused: %s", error)
            return web.json_response({"error": "unauthorized"}, status=401)
        allowed = self.credentials.allowed_tenants
        if allowed and tenant_of(activity) not in allowed:
            log.warning("Teams activity from tenant %r refused", tenant_of(activity))
            return web.json_response({"error": "tenant not allowed"}, status=403)
        answer = await self.adapter.process_activity(verified, activity, self.bot.on_turn)
        if answer is None:
            return web.Response(status=200)
        return web.json_response(answer.body, status=answer.status)

    async def _on_turn_error(self, turn: TurnContext, error: Exception) -> None:
        """A failing turn is logged with its trace, and the person gets an apology."""
        log.error("Teams %s activity failed", turn.activity.type, exc_info=error)
        if turn.activity.type != "message":
            return
        try:
            render = self.bot.renderer(None)
            card = lines_card(text(MsgId.ERROR_INTERNAL))
            body = cards.message(
                cards.render_card(card, render), render(text(MsgId.ERROR_INTERNAL))
            )
            await turn.send_activity(Activity().deserialize(body))
        except Exception:
            log.exception("could not apologise in Teams")

    async def close(self) -> None:
        if self.admin is not None:
            await self.admin.drain()  # its follow-ups send through the notifier
        await self.notifier.drain()


def _config(credentials: Credentials) -> SimpleNamespace:
    """The configuration object the SDK reads its settings from, by attribute name."""
    return SimpleNamespace(
        APP_ID=credentials.app_id,
        APP_PASSWORD=credentials.password,
        APP_TYPE=credentials.app_type,
        APP_TENANTID=credentials.tenant_id,
    )
