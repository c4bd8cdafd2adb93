"""The Slack app: bolt's AsyncApp with laurel's listeners, and the HTTP entry point.

laurel answers Slack's HTTP requests itself instead of through bolt's aiohttp adapter,
because that adapter parses the body before checking the signature (a malformed body
would give 500): here a bad or stale signature gets 401 and a signed but malformed body
gets 400, before bolt sees anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.chat.admin import ChatAdmin
from adapters.chat.commands import ChatCommands
from adapters.chat.routing import Routing
from adapters.chat.undelivered import Undelivered, ignore
from adapters.persistence.gift_cards import GiftCardVault
from adapters.persistence.inbox import Inbox
from adapters.persistence.outbox import Outbox
from core.bus import MessageBus
from core.messages import MsgId, text
from core.ports import UnitOfWorkFactory

from . import blocks, decisions, giving, home, reactions, shipping
from .admin import SlackAdmin
from .blocks import GIVE_BUTTON, GIVE_MODAL
from .clients import SlackClients
from .codes import is_codes_message
from .context import SlackContext
from .directory import SlackDirectory
from .installations import SqlInstallationStore, SqlOAuthStateStore
from .notifier import SlackNotifier

log = logging.getLogger("laurel.slack")

# The bot scopes an OAuth install asks for: the same list as app_manifest.yml.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "im:history",
    "app_mentions:read",
    "reactions:read",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "channels:read",
    "groups:read",
    "files:read",
    "files:write",
)
INSTALL_PATH, REDIRECT_PATH = "/slack/install", "/slack/oauth_redirect"
GLOBAL_SHORTCUT = "laurel_give_kudos"
MESSAGE_SHORTCUT = "laurel_give_kudos_message"


@dataclass(frozen=True)
class OAuth:
    """Multi-workspace install: the app's credentials and where installations are kept."""

    client_id: str
    client_secret: str
    installations: SqlInstallationStore
    states: SqlOAuthStateStore


class SlackAdapter:
    def __init__(
        self,
        *,
        bus: MessageBus,
        uow: UnitOfWorkFactory,
        inbox: Inbox,
        signing_secret: str,
        api_url: str,
        default_language: str,
        token: str | None = None,
        oauth: OAuth | None = None,
        routing: Routing | None = None,
        vault: GiftCardVault | None = None,
        admin: ChatAdmin | None = None,
        undelivered: Undelivered = ignore,
        outbox: Outbox | None = None,
    ) -> None:
        clients = SlackClients(
            base_url=api_url, token=token, installations=oauth.installations if oauth else None
        )
        directory = SlackDirectory(clients=clients, bus=bus, uow=uow)
        self.ctx = SlackContext(
            bus=bus,
            uow=uow,
            clients=clients,
            directory=directory,
            chat=ChatCommands(bus, vault.box.seal if vault else None),
            default_language=default_language,
            inbox=inbox,
        )
        self.inbox = inbox
        self.workers = giving.workers()  # gifts worked on at once, after their acks
        self.verifier = SignatureVerifier(signing_secret)
        settings = None
        if oauth is not None:
            settings = AsyncOAuthSettings(
                client_id=oauth.client_id,
                client_secret=oauth.client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=oauth.installations,
                state_store=oauth.states,
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
            )
        self.app = AsyncApp(
            client=clients.default,
            signing_secret=signing_secret,
            oauth_settings=settings,
            raise_error_for_unhandled_request=False,
        )
        self.notifier = SlackNotifier(self.ctx, routing or Routing(), vault, undelivered, outbox)
        self.admin = SlackAdmin(self.ctx, admin) if admin is not None else None
        for kind in self.notifier.EVENTS:
            bus.subscribe(kind, self.notifier)
        self._register()

    def _register(self) -> None:
        app, ctx = self.app, self.ctx

        @app.command("/kudos")
        async def kudos(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await giving.kudos_command(ack, body, respond, ctx, self.workers)

        @app.middleware
        async def keep_gifts(
            body: dict[str, Any], context: AsyncBoltContext, next_: Callable[[], Awaitable[Any]]
        ) -> Any:
            """Bolt acknowledges an event before any listener runs: a DM or @mention gift
            is kept here, after the signature check (an earlier middleware) and before
            that ack, so a crash right after the ack loses nothing."""
            if self._is_gift(body) and body.get("event_id"):  # its key in the inbox
                payload = giving.event_payload(body, _team(context), context.bot_user_id)
                context[giving.KEEPING] = await giving.keep_event(ctx, payload)
            return await next_()

        if self.admin is not None:
            admin = self.admin

            @app.command("/kudos-admin")
            async def kudos_admin(
                ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
            ) -> None:
                await _guard("/kudos-admin", admin.command(ack, body, respond))

        @app.event("reaction_added")
        async def reaction_added(event: dict[str, Any], context: AsyncBoltContext) -> None:
            await _guard(
                "reaction_added",
                reactions.reaction_added(event, ctx, _team(context)),
                _sorry(ctx, context, event),
            )

        @app.event("reaction_removed")
        async def reaction_removed(event: dict[str, Any], context: AsyncBoltContext) -> None:
            await _guard("reaction_removed", reactions.reaction_removed(event, ctx, _team(context)))

        @app.event("app_home_opened")
        async def home_opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
            if event.get("tab", "home") == "home":
                await _guard(
                    "app_home_opened", home.publish_home(ctx, _team(context), event["user"])
                )

        @app.event("member_joined_channel")
        async def joined(
            event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
        ) -> None:
            if event.get("user") == context.bot_user_id and await self.inbox.claim(
                "slack", body.get("event_id", "")
            ):
                await _guard("member_joined_channel", home.introduce(ctx, _team(context), event))

        @app.event("message")
        async def message(
            event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
        ) -> None:
            team = _team(context)
            if self.admin is not None and is_codes_message(event):
                work = self._shared_codes(self.admin, event, body.get("event_id", ""), team)
                await _guard("message", work, _sorry(ctx, context, event))
            elif self._is_gift(body):
                await self._gift(body, context)
            # Anything else (a channel's messages, edits, bots) asks for no answer.

        @app.event("app_mention")
        async def mentioned(body: dict[str, Any], context: AsyncBoltContext) -> None:
            if self._is_gift(body):
                await self._gift(body, context)

        async def open_modal(name: str, body: dict[str, Any], **about_message: Any) -> None:
            modal = giving.open_modal(
                ctx,
                trigger_id=body["trigger_id"],
                team=body["team"]["id"],
                user_id=body["user"]["id"],
                **about_message,
            )
            await _guard(name, modal)

        @app.shortcut(GLOBAL_SHORTCUT)
        async def global_shortcut(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            await open_modal("shortcut", body)

        @app.shortcut(MESSAGE_SHORTCUT)
        async def message_shortcut(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            await open_modal(
                "message_shortcut",
                body,
                message=body.get("message"),
                channel=body.get("channel", {}).get("id"),
            )

        @app.action(GIVE_BUTTON)
        async def give_button(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            await open_modal("give_button", body)

        @app.action(decisions.ACTION)
        async def decide(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await decisions.on_click(ack, body, respond, ctx)

        @app.view(decisions.DECLINE_MODAL)
        async def decline_reason(ack: AsyncAck, body: dict[str, Any]) -> None:
            await decisions.on_reason(ack, body, ctx)

        @app.action(re.compile(rf"^{blocks.OFFER}:\d+$"))
        async def offer(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await _guard("offer", shipping.on_offer(ack, body, respond, ctx))

        @app.action(blocks.SHIP_BUTTON)
        async def ship_button(ack: AsyncAck, body: dict[str, Any]) -> None:
            await _guard("ship_button", shipping.on_open(ack, body, ctx))

        @app.view(blocks.SHIP_MODAL)
        async def ship_modal(ack: AsyncAck, body: dict[str, Any]) -> None:
            await shipping.on_submit(ack, body, ctx)

        @app.view(GIVE_MODAL)
        async def give_modal(ack: AsyncAck, body: dict[str, Any]) -> None:
            await giving.submit_modal(ack, body, ctx)

        @app.error
        async def on_error(error: Exception, body: dict[str, Any]) -> None:
            log.error("unhandled Slack request %s", body.get("type"), exc_info=error)

    def _is_gift(self, body: dict[str, Any]) -> bool:
        """A DM or @mention for the chat grammar (a DM of gift-card codes is not one)."""
        codes = self.admin is not None and is_codes_message(body.get("event") or {})
        return giving.is_gift_event(body) and not codes

    async def _gift(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        payload = giving.event_payload(body, _team(context), context.bot_user_id)
        await giving.event_gift(self.ctx, payload, context.get(giving.KEEPING), self.workers)

    async def _shared_codes(
        self, admin: SlackAdmin, event: dict[str, Any], event_id: str, team: str
    ) -> None:
        """Slack retries an event it thinks was missed: the file of codes is read once."""
        if await self.inbox.claim("slack", event_id):
            await admin.shared_codes(event, team)

    RECOVERY_GRACE = 5.0  # seconds: what another replica is answering right now is left to it

    async def recovery(self, _: web.Application) -> AsyncIterator[None]:
        """While the server runs: soon after the start, answer the /kudos commands, DMs
        and @mentions that were acknowledged but not answered before a crash (tried again
        while the database is down)."""
        started = datetime.now(UTC)

        async def recover() -> None:
            await asyncio.sleep(self.RECOVERY_GRACE)
            while True:
                try:
                    if found := await giving.recover(self.ctx, started):
                        log.warning("answered %d gifts left from before the start", found)
                    return
                except Exception as error:
                    log.warning("gifts from before the start not answered yet: %r", error)
                    await asyncio.sleep(30)

        task = asyncio.create_task(recover())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def close(self) -> None:
        """Deliver what is in flight, then release the Web API connections."""
        await self.notifier.drain()
        if self.admin is not None:
            await self.admin.drain()
        await self.ctx.clients.close()
        await self.inbox.close()

    def socket_mode(self, app_token: str) -> Callable[[web.Application], AsyncIterator[None]]:
        """Socket Mode (SLACK_APP_TOKEN): Slack connects out over a websocket, no public URL."""

        async def connected(_: web.Application) -> AsyncIterator[None]:
            handler = AsyncSocketModeHandler(self.app, app_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack Socket Mode connected")
            yield
            await handler.close_async()  # type: ignore[no-untyped-call]

        return connected

    async def handle_oauth(self, request: web.Request) -> web.Response:
        """GET /slack/install and /slack/oauth_redirect: bolt's OAuth flow, our database."""
        flow = self.app.oauth_flow
        if flow is None:
            return web.json_response(
                {"error": "multi-workspace install is not enabled"}, status=404
            )
        bolt_request = AsyncBoltRequest(
            body="",
            query=request.query_string,
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        if request.path == flow.install_path:
            response = await flow.handle_installation(bolt_request)
        else:
            response = await flow.handle_callback(bolt_request)
        return await to_aiohttp_response(response)

    async def handle(self, request: web.Request) -> web.Response:
        """POST /slack/events: verify, validate, then let bolt dispatch."""
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not self.verifier.is_valid_request(raw, headers):
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            body = raw.decode("utf-8")
            _parse(body, headers.get("content-type", ""))
        except (UnicodeDecodeError, ValueError):
            return web.json_response({"error": "malformed request body"}, status=400)
        response = await self.app.async_dispatch(
            AsyncBoltRequest(body=body, query=request.query_string, headers={**headers})
        )
        return await to_aiohttp_response(response)


def _parse(body: str, content_type: str) -> None:
    """Raise ValueError unless the body is what Slack sends: JSON, or a form (maybe with a
    JSON `payload`)."""
    if content_type.startswith("application/json"):
        if not isinstance(json.loads(body), dict):
            raise ValueError("not an object")
        return
    form = parse_qs(body, strict_parsing=bool(body))
    if "payload" in form and not isinstance(json.loads(form["payload"][0]), dict):
        raise ValueError("payload is not an object")


def _team(context: AsyncBoltContext) -> str:
    return context.team_id or context.enterprise_id or ""


async def _guard(name: str, work: Awaitable[None], sorry: Sorry | None = None) -> None:
    """A failing listener is logged with its trace (Slack already has its ack), and the
    person who was waiting for an answer gets an apology instead of silence."""
    try:
        await work
    except Exception:
        log.exception("Slack %s listener failed", name)
        if sorry is not None:
            await sorry.send()


@dataclass(frozen=True)
class Sorry:
    ctx: SlackContext
    team: str
    channel: str
    user: str

    async def send(self) -> None:
        try:
            client = await self.ctx.client(self.team)
            await client.chat_postEphemeral(
                channel=self.channel,
                user=self.user,
                text=self.ctx.renderer(None)(text(MsgId.ERROR_INTERNAL)),
            )
        except Exception:
            log.exception("could not apologise to %s", self.user)


def _sorry(
    ctx: SlackContext, context: AsyncBoltContext, event: dict[str, Any], user: str | None = None
) -> Sorry | None:
    channel = event.get("channel") or event.get("item", {}).get("channel")
    who = user or event.get("user")
    return Sorry(ctx, _team(context), channel, who) if channel and who else None
