"""Web API clients per workspace: one bot token, or one per OAuth installation."""

from __future__ import annotations

from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from .client import web_client
from .installations import SqlInstallationStore


class NotInstalled(Exception):
    """A workspace that has not installed laurel (or uninstalled it)."""


class SlackClients:
    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        installations: SqlInstallationStore | None = None,
    ) -> None:
        self._base_url = base_url
        self._session = aiohttp.ClientSession()  # built on the running loop, closed by close()
        self._single = web_client(token, base_url, self._session) if token else None
        self._installations = installations
        self._by_team: dict[str, tuple[str, AsyncWebClient]] = {}

    @property
    def default(self) -> AsyncWebClient:
        """The client bolt itself uses: the bot token's, or a token-less one for OAuth."""
        return self._single or web_client(None, self._base_url)

    async def for_team(self, team: str) -> AsyncWebClient:
        if self._single is not None:
            return self._single
        assert self._installations is not None
        found = await self._installations.async_find_bot(enterprise_id=None, team_id=team)
        if found is None or not found.bot_token:
            raise NotInstalled(team)
        cached = self._by_team.get(team)
        if cached and cached[0] == found.bot_token:  # a reinstall issues a new token
            return cached[1]
        client = web_client(found.bot_token, self._base_url, self._session)
        self._by_team[team] = (found.bot_token, client)
        return client

    async def respond(self, response_url: str, **message: Any) -> WebhookResponse:
        """Post to a response_url through the shared connection pool."""
        return await AsyncWebhookClient(response_url, session=self._session).send(**message)

    async def close(self) -> None:
        await self._session.close()

    async def teams(self) -> list[str]:
        if self._installations is None:
            return [""]
        return await self._installations.teams()
