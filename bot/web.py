"""The one aiohttp server of `laurel serve`: Slack, Teams, health and metrics on one port.

The Bot Framework SDK (Teams) and the SCIM models are imported only when Teams or SCIM is
configured: together they are about a fifth of the process's memory, and a Slack-only
installation never uses them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from aiohttp import web

from adapters.api import app as api
from adapters.chat.admin import ChatAdmin
from adapters.chat.routing import PLATFORMS, Routing
from adapters.chat.undelivered import Undelivered, ignore, redelivery
from adapters.persistence.gift_cards import GiftCardVault
from adapters.persistence.inbox import Inbox
from adapters.persistence.outbox import Outbox, Retries
from adapters.secrets import SecretBox
from adapters.slack.app import OAuth, SlackAdapter
from adapters.slack.installations import SqlInstallationStore, SqlOAuthStateStore

from .bootstrap import App
from .metrics import Metrics, healthz

if TYPE_CHECKING:  # imported by _teams, when Teams is configured
    from adapters.teams.app import TeamsAdapter

log = logging.getLogger("laurel.web")
SLACK = web.AppKey("slack", SlackAdapter)
TEAMS: web.AppKey[TeamsAdapter] = web.AppKey("teams")
METRICS = web.AppKey("metrics", Metrics)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _slack(
    app: App,
    routing: Routing,
    vault: GiftCardVault | None,
    metrics: Metrics | None,
    retries: Retries | None = None,
) -> SlackAdapter:
    settings = app.settings
    assert settings.slack_signing_secret
    oauth = None
    if settings.slack_oauth:
        assert settings.slack_client_id and settings.slack_client_secret
        oauth = OAuth(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            installations=SqlInstallationStore(
                app.engine, SecretBox.from_setting(settings.secret_keys)
            ),
            states=SqlOAuthStateStore(app.engine),
        )
    return SlackAdapter(
        bus=app.bus,
        uow=app.uow,
        inbox=Inbox(app.engine),
        signing_secret=settings.slack_signing_secret,
        api_url=settings.slack_api_url,
        default_language=settings.locale,
        token=settings.slack_bot_token,
        oauth=oauth,
        routing=routing,
        vault=vault,
        admin=admin_of(app, vault),
        undelivered=_counted(metrics, "slack"),
        outbox=Outbox(app.engine, "slack", retries),
    )


def _teams(
    app: App,
    routing: Routing,
    vault: GiftCardVault | None,
    metrics: Metrics | None,
    retries: Retries | None = None,
) -> TeamsAdapter:
    from adapters.teams.app import Credentials, TeamsAdapter  # botbuilder: only when on

    settings = app.settings
    if settings.teams_insecure_dev:
        log.warning(
            "LAUREL_TEAMS_INSECURE_DEV=1: Bot Framework traffic is NOT authenticated. "
            "Use this with the Bot Framework Emulator and in tests only."
        )
    return TeamsAdapter(
        bus=app.bus,
        uow=app.uow,
        engine=app.engine,
        credentials=Credentials(
            app_id=settings.microsoft_app_id or "",
            password=settings.microsoft_app_password or "",
            app_type=settings.microsoft_app_type,
            tenant_id=settings.microsoft_app_tenant_id or "",
            allowed_tenants=settings.allowed_tenants,
        ),
        default_language=settings.locale,
        routing=routing,
        vault=vault,
        admin=admin_of(app, vault),
        undelivered=_counted(metrics, "teams"),
        outbox=Outbox(app.engine, "teams", retries),
    )


def _mount_scim(web_app: web.Application, app: App, token: str) -> None:
    """/scim/v2, for the identity provider that holds LAUREL_SCIM_TOKEN."""
    from adapters.scim import app as scim  # scim2-models and its filter grammar: only when on

    scim_app = scim.build(bus=app.bus, uow=app.uow, engine=app.engine, token=token)
    web_app.add_subapp(scim.ROOT, scim_app)


def _counted(metrics: Metrics | None, platform: str) -> Undelivered:
    """What a notifier could not deliver goes to laurel_notifications_failed_total."""
    if metrics is None:
        return ignore
    return partial(metrics.notification_failed, platform)


def admin_of(app: App, vault: GiftCardVault | None) -> ChatAdmin:
    box = vault.box if vault else None
    return ChatAdmin(app.bus, app.engine, box, admins=app.settings.admins)


def vault_of(app: App) -> GiftCardVault | None:
    """Gift-card codes can be opened only with LAUREL_SECRET_KEYS."""
    keys = app.settings.secret_keys
    return GiftCardVault(app.engine, SecretBox.from_setting(keys)) if keys else None


@dataclass
class ChatAdapters:
    """The chat platforms that are configured; each subscribes its notifier to the bus."""

    slack: SlackAdapter | None
    teams: TeamsAdapter | None

    @classmethod
    def build(
        cls, app: App, metrics: Metrics | None = None, retries: Retries | None = None
    ) -> ChatAdapters:
        settings = app.settings
        on = {"slack": settings.slack_enabled, "teams": settings.teams_enabled}
        routing = Routing(tuple(p for p in PLATFORMS if on[p]))
        vault = vault_of(app)
        return cls(
            slack=_slack(app, routing, vault, metrics, retries) if on["slack"] else None,
            teams=_teams(app, routing, vault, metrics, retries) if on["teams"] else None,
        )

    async def close(self) -> None:
        """Deliver what is in flight, then let go of the platforms' connections."""
        for adapter in (self.slack, self.teams):
            if adapter is not None:
                await adapter.close()


def build(
    app: App, metrics: Metrics | None = None, *, retries: Retries | None = None
) -> web.Application:
    """The server's routes. `metrics` is the process's (shared with its scheduler); without
    it the app gets its own, subscribed to the bus."""
    if metrics is None:
        metrics = Metrics()
        metrics.subscribe(app.bus)
    web_app = web.Application(middlewares=[metrics.middleware])
    web_app[METRICS] = metrics
    chats = ChatAdapters.build(app, metrics, retries)
    web_app.router.add_get("/healthz", healthz(app.engine))
    web_app.router.add_get("/metrics", metrics.route)
    settings = app.settings
    if (slack := chats.slack) is not None:
        web_app.router.add_post("/slack/events", slack.handle)
        if settings.slack_oauth:
            web_app.router.add_get("/slack/install", slack.handle_oauth)
            web_app.router.add_get("/slack/oauth_redirect", slack.handle_oauth)
        web_app[SLACK] = slack
        web_app.cleanup_ctx.append(slack.recovery)  # /kudos a crash left unanswered
        if settings.slack_app_token:
            web_app.cleanup_ctx.append(slack.socket_mode(settings.slack_app_token))
    if (teams := chats.teams) is not None:
        web_app.router.add_post("/api/messages", teams.handle)
        web_app[TEAMS] = teams
    web_app.on_cleanup.append(lambda _: chats.close())
    # Every replica retries what an outage kept in the outbox (claimed: sent once).
    passes = [a.notifier.redeliver for a in (chats.slack, chats.teams) if a is not None]
    web_app.cleanup_ctx.append(redelivery(passes, (retries or Retries()).every))
    if settings.scim_token:
        _mount_scim(web_app, app, settings.scim_token)
    # Always on: it answers nothing without a token from `laurel api token create`.
    web_app.add_subapp(api.ROOT, api.build(uow=app.uow, clock=app.clock))
    return web_app
