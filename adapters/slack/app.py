"""The Slack app: bolt's AsyncApp with laurel's listeners, and the HTTP entry point.

laurel answers Slack's HTTP requests itself instead of through bolt's aiohttp adapter,
because that adapter parses the body before checking the signature (a malformed body
would give 500): here a bad or stale signature gets 401 and a signed but malformed body
gets 400, before bolt sees anything.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.chat.commands import ChatCommands
from adapters.persistence.inbox import Inbox
from core.bus import MessageBus
from core.events import KudosGiven, TierReached
from core.ports import UnitOfWorkFactory

from . import decisions, giving, home, reactions
from .blocks import GIVE_BUTTON, GIVE_MODAL
from .client import web_client
from .context import SlackContext
from .directory import SlackDirectory
from .notifier import SlackNotifier

log = logging.getLogger("laurel.slack")

GLOBAL_SHORTCUT = "laurel_give_kudos"
MESSAGE_SHORTCUT = "laurel_give_kudos_message"


class SlackAdapter:
    def __init__(
        self,
        *,
        bus: MessageBus,
        uow: UnitOfWorkFactory,
        inbox: Inbox,
        token: str,
        signing_secret: str,
        api_url: str,
        default_language: str,
    ) -> None:
        client = web_client(token, api_url)
        directory = SlackDirectory(client=client, bus=bus, uow=uow)
        self.ctx = SlackContext(
            bus=bus,
            uow=uow,
            client=client,
            directory=directory,
            chat=ChatCommands(bus),
            default_language=default_language,
        )
        self.inbox = inbox
        self.verifier = SignatureVerifier(signing_secret)
        self.app = AsyncApp(
            client=client, signing_secret=signing_secret, raise_error_for_unhandled_request=False
        )
        self.notifier = SlackNotifier(self.ctx)
        bus.subscribe(KudosGiven, self.notifier)
        bus.subscribe(TierReached, self.notifier)
        self._register()

    def _register(self) -> None:
        app, ctx = self.app, self.ctx

        @app.command("/kudos")
        async def kudos(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await giving.kudos_command(ack, body, respond, ctx)

        @app.event("reaction_added")
        async def reaction_added(event: dict[str, Any], context: AsyncBoltContext) -> None:
            await _guard("reaction_added", reactions.reaction_added(event, ctx, _team(context)))

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
                await _guard("member_joined_channel", home.introduce(ctx, event))

        @app.event("message")
        async def message(event: dict[str, Any], context: AsyncBoltContext) -> None:
            await _guard("message", giving.direct_message(event, ctx, _team(context)))

        @app.event("app_mention")
        async def mentioned(event: dict[str, Any], context: AsyncBoltContext) -> None:
            await _guard(
                "app_mention",
                giving.app_mention(event, ctx, _team(context), context.bot_user_id or ""),
            )

        @app.shortcut(GLOBAL_SHORTCUT)
        async def global_shortcut(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            await _guard(
                "shortcut",
                giving.open_modal(
                    ctx,
                    trigger_id=body["trigger_id"],
                    team=body["team"]["id"],
                    user_id=body["user"]["id"],
                ),
            )

        @app.shortcut(MESSAGE_SHORTCUT)
        async def message_shortcut(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            await _guard(
                "message_shortcut",
                giving.open_modal(
                    ctx,
                    trigger_id=body["trigger_id"],
                    team=body["team"]["id"],
                    user_id=body["user"]["id"],
                    message=body.get("message"),
                    channel=body.get("channel", {}).get("id"),
                ),
            )

        @app.action(GIVE_BUTTON)
        async def give_button(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            await _guard(
                "give_button",
                giving.open_modal(
                    ctx,
                    trigger_id=body["trigger_id"],
                    team=body["team"]["id"],
                    user_id=body["user"]["id"],
                ),
            )

        @app.action(decisions.ACTION)
        async def decide(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
            await decisions.on_click(ack, body, respond, ctx)

        @app.view(GIVE_MODAL)
        async def give_modal(ack: AsyncAck, body: dict[str, Any]) -> None:
            await giving.submit_modal(ack, body, ctx)

        @app.error
        async def on_error(error: Exception, body: dict[str, Any]) -> None:
            log.error("unhandled Slack request %s", body.get("type"), exc_info=error)

    def socket_mode(self, app_token: str) -> Callable[[web.Application], AsyncIterator[None]]:
        """Socket Mode (SLACK_APP_TOKEN): Slack connects out over a websocket, no public URL."""

        async def connected(_: web.Application) -> AsyncIterator[None]:
            handler = AsyncSocketModeHandler(self.app, app_token)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack Socket Mode connected")
            yield
            await handler.close_async()  # type: ignore[no-untyped-call]

        return connected

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
        return web.Response(
            status=response.status,
            body=response.body,
            headers=response.first_headers_without_set_cookie(),
        )


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


async def _guard(name: str, work: Awaitable[None]) -> None:
    """A failing listener is logged with its trace; Slack already has its ack."""
    try:
        await work
    except Exception:
        log.exception("Slack %s listener failed", name)
