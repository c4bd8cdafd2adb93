"""A console chat session: lines in (typed or piped), cards out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from rich.console import Console

from adapters.chat import cards
from adapters.chat.cards import Tone
from adapters.chat.commands import ChatCommands
from adapters.chat.grammar import ActAs, Help, Lang, Quit, parse
from adapters.i18n import Renderer
from core.bus import MessageBus
from core.errors import DomainError, UnknownPerson
from core.messages import MsgId, text
from core.people import Person
from core.ports import UnitOfWorkFactory

from .notifier import ConsoleNotifier
from .render import draw, notice


class ConsoleSession:
    def __init__(
        self,
        *,
        bus: MessageBus,
        uow: UnitOfWorkFactory,
        notifier: ConsoleNotifier,
        console: Console,
        default_language: str,
    ) -> None:
        self._uow = uow
        self._chat = ChatCommands(bus)
        self._notifier = notifier
        self._console = console
        self._default_language = default_language
        self.actor: Person | None = None

    def renderer(self, person: Person | None, language: str | None = None) -> Renderer:
        return Renderer.for_reader(person, self._default_language, language)

    async def act_as(self, email: str) -> bool:
        async with self._uow(readonly=True) as uow:
            person = await uow.people.by_email(email)
        if person is None:
            self._show(cards.error_card(UnknownPerson(email)))
            return False
        self.actor = person
        self._show(cards.lines_card(text(MsgId.CONSOLE_ACTING_AS, name=person.display_name)))
        return True

    async def run(self, lines: AsyncIterator[str]) -> None:
        async for line in lines:
            if line.strip() and not await self.handle(line):
                return

    async def handle(self, line: str) -> bool:
        """Answer one line; False when the person asked to leave."""
        try:
            request = parse(line)
        except DomainError as error:
            self._show(cards.error_card(error))
            return True
        if isinstance(request, Quit):
            return False
        if isinstance(request, Help):
            self._show(cards.help_card(MsgId.HELP_AS, MsgId.HELP_QUIT))
            return True
        if isinstance(request, ActAs):
            await self.act_as(request.email)
            return True
        if self.actor is None:
            self._show(cards.lines_card(text(MsgId.ERROR_NOT_IDENTIFIED), tone=Tone.ERROR))
            return True
        card = await self._chat.answer(self.actor, request, self._resolve, source="console")
        if isinstance(request, Lang):
            await self._reload_actor()
        self._show(card)
        for person, message in self._notifier.take():
            render = self.renderer(person)
            notice(
                self._console,
                render(text(MsgId.CONSOLE_NOTIFICATION, name=person.display_name, message=message)),
                render,
            )
        return True

    async def _reload_actor(self) -> None:
        assert self.actor is not None
        async with self._uow(readonly=True) as uow:
            self.actor = await uow.people.get(self.actor.id) or self.actor

    async def _resolve(self, mention: str) -> list[Person]:
        name = mention.removeprefix("@")
        async with self._uow(readonly=True) as uow:
            person = await (
                uow.people.by_email(name) if "@" in name else uow.people.by_handle(name)
            )
        if person is None:
            raise UnknownPerson(mention)
        return [person]

    def _show(self, card: cards.Card) -> None:
        draw(self._console, card, self.renderer(self.actor, card.language))


async def stdin_lines(interactive: bool, prompt: str = "› ") -> AsyncIterator[str]:
    """Lines from the terminal (with a prompt) or from a pipe, until end of input."""
    while True:
        try:
            line = await asyncio.to_thread(input, prompt if interactive else "")
        except EOFError:
            return
        yield line
