"""laurel's real web app (bot/web.py) with Teams, and Slack beside it, on a fresh database.

Teams runs unauthenticated (LAUREL_TEAMS_INSECURE_DEV, as with the Emulator); the fake
connector plays the Teams service the bot talks back to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from adapters.teams.app import TeamsAdapter
from bot import web
from bot.bootstrap import App, bootstrap
from bot.settings import Settings
from core.clock import Clock
from core.decisions import Effects

from .conftest import migrated_engine
from .slack_fake import FakeSlackApi
from .slack_harness import SECRET, SlackWorld
from .teams_fake import FakeConnector


@dataclass
class TeamsWorld:
    connector: FakeConnector
    app: App
    http: TestClient
    teams: TeamsAdapter
    slack: SlackWorld

    async def post(self, activity: dict[str, Any], **headers: str) -> ClientResponse:
        return await self.http.post("/api/messages", json=activity, headers=headers)

    async def settle(self) -> None:
        """Let the deliveries started after a commit finish."""
        if self.teams.admin is not None:
            await self.teams.admin.drain()  # an export's file follows the answer
        await self.teams.notifier.drain()
        await self.connector.quiet(period=0.05)
        await self.slack.settle()


@asynccontextmanager
async def teams_world(
    kind: str,
    tmp_path: Path,
    effects: Effects | None = None,
    clock: Clock | None = None,
    **settings: Any,
) -> AsyncIterator[TeamsWorld]:
    async with (
        FakeConnector() as connector,
        FakeSlackApi() as api,
        migrated_engine(kind, tmp_path) as engine,
    ):
        chosen: dict[str, Any] = {
            "DATABASE_URL": "sqlite+aiosqlite:///unused.db",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api.url,
            "LAUREL_TEAMS_INSECURE_DEV": "MicrosoftAppId" not in settings,
        }
        config = Settings(**{**chosen, **settings})
        app = await bootstrap(config, engine=engine, migrate_db=False, effects=effects, clock=clock)
        web_app = web.build(app)
        async with TestClient(TestServer(web_app)) as http:
            slack = SlackWorld(api=api, app=app, http=http, slack=web_app[web.SLACK])
            yield TeamsWorld(
                connector=connector, app=app, http=http, teams=web_app[web.TEAMS], slack=slack
            )
