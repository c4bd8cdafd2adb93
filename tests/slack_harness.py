"""laurel's real web app (bot/web.py) wired to a fake Slack Web API, on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from adapters.slack.app import SlackAdapter
from bot import web
from bot.bootstrap import App, bootstrap
from bot.settings import Settings
from core.clock import Clock
from core.decisions import Effects
from core.policy import GivingPolicy

from .conftest import migrated_engine
from .slack_fake import FakeSlackApi
from .slack_requests import block_actions, signed

SECRET = "test-signing-secret"


@dataclass
class SlackWorld:
    api: FakeSlackApi
    app: App
    http: TestClient
    slack: SlackAdapter

    async def post(self, built: tuple[str, str], **options: object) -> ClientResponse:
        request = signed(built, SECRET, **options)  # type: ignore[arg-type]
        return await self.http.post(
            "/slack/events", data=request.body.encode(), headers=request.headers
        )

    async def settle(self) -> None:
        """Let the work done after each ack, and the deliveries it started, finish."""
        await self.api.quiet()
        await self.slack.notifier.drain()
        await self.api.quiet()

    async def policy(self, **changes: object) -> None:
        from dataclasses import replace

        from core.commands import ConfigureOrganisation

        await self.app.bus.handle(
            ConfigureOrganisation(policy=replace(GivingPolicy(), **changes))  # type: ignore[arg-type]
        )


@asynccontextmanager
async def slack_world(
    kind: str,
    tmp_path: Path,
    effects: Effects | None = None,
    clock: Clock | None = None,
    secret_keys: str | None = None,
) -> AsyncIterator[SlackWorld]:
    async with FakeSlackApi() as api, migrated_engine(kind, tmp_path) as engine:
        settings = Settings(
            DATABASE_URL="sqlite+aiosqlite:///unused.db",
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=api.url,
            LAUREL_SECRET_KEYS=secret_keys,
        )
        app = await bootstrap(
            settings, engine=engine, migrate_db=False, effects=effects, clock=clock
        )
        web_app = web.build(app)
        async with TestClient(TestServer(web_app)) as http:
            yield SlackWorld(api=api, app=app, http=http, slack=web_app[web.SLACK])


async def click(world: SlackWorld, posted: Any, action_id: str, user_id: str, name: str) -> Any:
    """Click a button of a message the app posted (a recorded chat.postMessage call), as
    Slack would send it; returns what the app answered on the click's response_url."""
    blocks = posted.args["blocks"]
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    button = next(e for e in actions if e["action_id"] == action_id)
    message = {"type": "message", "ts": "1.1", "user": "UBOT", "blocks": blocks}
    url = world.api.response_url(name)
    await world.post(
        block_actions(
            action_id, button["value"], user_id=user_id, message=message, response_url=url
        )
    )
    return (await world.api.wait_for_response(name))[0]
