"""What every Slack listener needs, built once by the adapter."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from adapters.chat.commands import ChatCommands
from adapters.i18n import Renderer
from adapters.persistence.inbox import Inbox
from core.bus import MessageBus
from core.people import Person
from core.policy import OrgConfig
from core.ports import UnitOfWorkFactory

from .clients import SlackClients
from .directory import SlackDirectory

log = logging.getLogger("laurel.slack")


@dataclass
class SlackContext:
    bus: MessageBus
    uow: UnitOfWorkFactory
    clients: SlackClients
    directory: SlackDirectory
    chat: ChatCommands
    default_language: str
    inbox: Inbox | None = None  # keeps /kudos between its ack and its answer

    async def client(self, team: str) -> AsyncWebClient:
        return await self.clients.for_team(team)

    def renderer(self, person: Person | None, language: str | None = None) -> Renderer:
        return Renderer.for_reader(person, self.default_language, language)

    async def config(self) -> OrgConfig:
        async with self.uow(readonly=True) as uow:
            return await uow.config.load()
