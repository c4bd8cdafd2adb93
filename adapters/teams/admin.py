"""`admin …` in Teams: the admin grammar after the bot's name or in the personal chat.

Answers are the admin's alone: in a channel they go to the personal chat. A preview's
Confirm / Cancel are Action.Execute buttons on the shared decision layer; a chart is an
image in the card. Files (exports) are offered in the personal chat with a file consent
card (`files.py`); an export says at once that it started. Gift-card codes come the other
way: a CSV shared in the personal chat with `admin catalog codes ITEM`, which Teams hands
over as a pre-authenticated download URL.
"""

from __future__ import annotations

from functools import partial

from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from adapters.chat.admin import AdminAnswer, ChatAdmin
from adapters.chat.admin_grammar import parse_admin
from adapters.chat.background import Background
from adapters.chat.cards import error_card
from adapters.chat.codes import SharedFile, download
from core.errors import DomainError, UnknownPerson
from core.people import Person

from . import cards
from .directory import TeamsDirectory, log
from .files import TeamsFiles
from .mentions import TOKEN, Tokenised
from .notifier import TeamsNotifier

PREFIX = "admin"
DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"


def is_admin_line(text: str) -> bool:
    verb = text.strip().split(maxsplit=1)[0].casefold() if text.strip() else ""
    return verb == PREFIX


class TeamsAdmin:
    def __init__(
        self,
        admin: ChatAdmin,
        directory: TeamsDirectory,
        notifier: TeamsNotifier,
        files: TeamsFiles,
    ) -> None:
        self._admin = admin
        self._directory = directory
        self._notifier = notifier
        self._files = files
        self._background = Background()

    async def answer(self, turn: TurnContext, actor: Person, said: Tokenised) -> AdminAnswer:
        rest = said.text.strip()[len(PREFIX) :]
        try:
            request = parse_admin(rest, TOKEN)
        except DomainError as error:
            return AdminAnswer(error_card(error))

        async def resolve(token: str) -> list[Person]:
            account = said.account(token)
            if account is None:
                raise UnknownPerson(token)
            return [await self._directory.mentioned(turn, account)]

        files = shared_files(turn.activity)
        answer = await self._admin.answer(actor, request, resolve, platform="teams", files=files)
        if answer.files or answer.later is not None:
            self._background.spawn(self._follow_up(actor, answer))
        return answer

    async def _follow_up(self, actor: Person, answer: AdminAnswer) -> None:
        """The long part, then its files, in the admin's personal chat."""
        render = self._notifier.renderer(actor)
        if answer.later is not None:  # a new card; one without `later` was the reply already
            answer = await answer.later()
            await self._notifier.tell(actor, cards.card_message(answer.card, render), queue=False)
        for file in answer.files:
            if not await self._files.offer(actor, file, render):
                log.error("export %s not offered to person %s", file.name, actor.id)

    async def drain(self) -> None:
        await self._background.drain()


def shared_files(activity: Activity) -> list[SharedFile]:
    """The files shared with the message (personal chat). Their `downloadUrl` needs no
    token: it is a short-lived link to the file itself, so it is never logged."""
    found = []
    for attachment in activity.attachments or []:
        content = attachment.content if isinstance(attachment.content, dict) else {}
        url = content.get("downloadUrl")
        if attachment.content_type == DOWNLOAD_INFO and isinstance(url, str) and url:
            found.append(SharedFile(partial(download, url)))
    return found
