"""A console chat session: lines in (typed or piped), cards out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from rich.console import Console

from adapters.chat import cards
from adapters.chat.admin import AdminAnswer, ChatAdmin
from adapters.chat.admin_grammar import Confirm, parse_admin
from adapters.chat.cards import Tone
from adapters.chat.commands import ChatCommands, Seal
from adapters.chat.grammar import CONSOLE_MENTION, ActAs, Help, Lang, Quit, parse
from adapters.i18n import Renderer
from core.bus import MessageBus
from core.commands import Decide
from core.decisions import Outcome
from core.errors import DomainError, UnknownPerson
from core.messages import MsgId, text
from core.people import Person
from core.ports import UnitOfWorkFactory

from .notifier import ConsoleNotifier
from .render import draw, notice

_ANSWERS = ("confirm", "cancel")


class ConsoleSession:
    def __init__(
        self,
        *,
        bus: MessageBus,
        uow: UnitOfWorkFactory,
        notifier: ConsoleNotifier,
        console: Console,
        default_language: str,
        admin: ChatAdmin,
        seal: Seal | None = None,
        exports: Path = Path("exports"),
    ) -> None:
        self._uow = uow
        self._bus = bus
        self._chat = ChatCommands(bus, seal)
        self._admin = admin
        self._exports = exports
        self._pending: str | None = None  # the decision key of the last admin preview
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
        verb, _, rest = line.strip().partition(" ")
        if self.actor is not None and verb.casefold() == "admin":
            await self._admin_line(rest)
            return True
        if self.actor is not None and line.strip().casefold() in _ANSWERS:
            await self._confirm(line.strip().casefold() == "confirm")
            return True
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

    async def _admin_line(self, rest: str) -> None:
        assert self.actor is not None
        try:
            request = parse_admin(rest, CONSOLE_MENTION)
        except DomainError as error:
            self._show(cards.error_card(error))
            return
        if isinstance(request, Confirm):
            await self._confirm(request.yes)
            return
        answer = await self._admin.answer(self.actor, request, self._resolve, platform="console")
        self._pending = answer.card.decision.key if answer.card.decision else self._pending
        await self._deliver(answer)

    async def _deliver(self, answer: AdminAnswer) -> None:
        """The card, then the work that follows it (exports), as it finishes."""
        self._show(answer.card)
        if answer.card.decision is not None:
            self._show(cards.lines_card(text(MsgId.ADMIN_CONSOLE_HINT)))
        for file in answer.files:
            self._exports.mkdir(parents=True, exist_ok=True)
            path = self._exports / file.name
            path.write_bytes(file.content)
            self._console.print(f"📄 {path}")
        if answer.later is not None:
            await self._deliver(await answer.later())

    async def _confirm(self, yes: bool) -> None:
        """Typed confirm / cancel: the console's Confirm and Cancel buttons."""
        assert self.actor is not None
        key, self._pending = self._pending, None
        if key is None:
            self._show(cards.lines_card(text(MsgId.ADMIN_NOTHING_PENDING)))
            return
        outcome = Outcome.CONFIRM if yes else Outcome.CANCEL
        try:
            await self._bus.handle(Decide(key=key, outcome=outcome, person_id=self.actor.id))
        except DomainError as error:
            self._show(cards.error_card(error))
            return
        done = MsgId.ADMIN_APPLIED if yes else MsgId.ADMIN_CANCELLED
        self._show(cards.lines_card(text(done), tone=Tone.OK))
        await self._reload_actor()

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
