"""Files for a person in Teams (admin exports), through the file consent card.

A bot cannot attach a file to a personal chat. It offers the file with a consent card;
when the person accepts, Teams creates the file in their OneDrive ("Microsoft Teams Chat
Files") and invokes the bot with an upload URL, where the bot PUTs the bytes (an upload
session: chunks with a Content-Range each); a file info card then shows it in the chat.
The file waits in the database between the offer and the click, which may reach another
replica.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from adapters.chat.admin import FileOut
from adapters.chat.cards import Tone
from adapters.i18n import Renderer
from adapters.persistence.pending_files import PendingFile, PendingFiles
from adapters.secrets import SecretsUnavailable
from core.messages import MsgId, text
from core.people import Person

from . import cards
from .notifier import TeamsNotifier

log = logging.getLogger("laurel.teams")
Json = dict[str, Any]

CONSENT_INVOKE = "fileConsent/invoke"
CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
# At most 4 MB a PUT, as Teams asks; a multiple of 320 KiB, as OneDrive upload sessions want.
CHUNK = 12 * 320 * 1024
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120)


class UploadFailed(Exception):
    """The upload URL refused a chunk."""


@dataclass(frozen=True, slots=True)
class UploadInfo:
    """Where Teams wants the file: `uploadInfo` of an accepted consent."""

    name: str
    upload_url: str
    content_url: str
    unique_id: str
    file_type: str

    @classmethod
    def of(cls, value: Json) -> UploadInfo | None:
        info = value.get("uploadInfo")
        if not isinstance(info, dict) or not isinstance(info.get("uploadUrl"), str):
            return None
        return cls(
            name=str(info.get("name") or ""),
            upload_url=info["uploadUrl"],
            content_url=str(info.get("contentUrl") or ""),
            unique_id=str(info.get("uniqueId") or ""),
            file_type=str(info.get("fileType") or ""),
        )


def consent_message(file: FileOut, token: str, render: Renderer) -> Json:
    """The card that asks the person to accept the file; both answers name it by token."""
    context = {"file": token}
    consent = {
        "description": render(file.title),
        "sizeInBytes": len(file.content),
        "acceptContext": context,
        "declineContext": context,
    }
    attachment = {"contentType": CONSENT, "name": file.name, "content": consent}
    return {"type": "message", "summary": file.name, "attachments": [attachment]}


def file_info_message(name: str, info: UploadInfo) -> Json:
    """The uploaded file, shown in the chat (it opens from the person's OneDrive)."""
    attachment = {
        "contentType": FILE_INFO,
        "contentUrl": info.content_url,
        "name": info.name or name,
        "content": {"uniqueId": info.unique_id, "fileType": info.file_type},
    }
    return {"type": "message", "summary": name, "attachments": [attachment]}


def byte_ranges(size: int, chunk: int = CHUNK) -> Iterator[tuple[int, int]]:
    """(first, last) byte of each PUT, last inclusive as in Content-Range."""
    for first in range(0, size, chunk):
        yield first, min(first + chunk, size) - 1


async def upload(url: str, content: bytes, chunk: int = CHUNK) -> None:
    """PUT the bytes to an upload session, in order, one range at a time."""
    size = len(content)
    if size == 0:
        raise UploadFailed("an empty file cannot go through an upload session")
    async with aiohttp.ClientSession(timeout=UPLOAD_TIMEOUT) as session:
        for first, last in byte_ranges(size, chunk):
            part = content[first : last + 1]
            headers = {
                "Content-Length": str(len(part)),
                "Content-Range": f"bytes {first}-{last}/{size}",
            }
            async with session.put(url, data=part, headers=headers) as response:
                if response.status >= 300:
                    raise UploadFailed(f"HTTP {response.status} for bytes {first}-{last}")


class TeamsFiles:
    def __init__(self, *, store: PendingFiles, notifier: TeamsNotifier) -> None:
        self._store = store
        self._notifier = notifier

    async def offer(self, person: Person, file: FileOut, render: Renderer) -> bool:
        """Keep the file and send the consent card to the person's personal chat; True
        once sent. Never queued: the file is for now, and the admin can export again."""
        token = await self._store.put(person.id, file.name, file.mime, file.content)
        body = consent_message(file, token, render)
        return await self._notifier.tell(person, body, queue=False)

    async def consent(self, turn: TurnContext, actor: Person, value: Json) -> None:
        """Accept or decline, by the person the file was offered to. An unknown or used
        token (a double click, a stale card) does nothing."""
        context = value.get("context")
        token = context.get("file") if isinstance(context, dict) else None
        file = await self._store.get(token) if isinstance(token, str) else None
        if file is None:
            return
        render = self._notifier.renderer(actor)
        if file.person_id != actor.id:
            refusal = cards.notice(text(MsgId.ERROR_NOT_YOUR_FILE), render, Tone.ERROR)
            await _reply(turn, cards.message(refusal, render(text(MsgId.ERROR_NOT_YOUR_FILE))))
            return
        # Taken before the upload, so two clicks racing (or Teams retrying) upload once.
        if not await self._store.take(file.id) or value.get("action") != "accept":
            return
        await self._deliver(turn, file, UploadInfo.of(value), render)

    async def _deliver(
        self, turn: TurnContext, file: PendingFile, info: UploadInfo | None, render: Renderer
    ) -> None:
        try:
            if info is None:
                raise UploadFailed("the accept carried no uploadInfo")
            await upload(info.upload_url, self._store.content(file))
        except (UploadFailed, SecretsUnavailable, aiohttp.ClientError, TimeoutError) as error:
            log.error("file %s for person %s not uploaded: %s", file.name, file.person_id, error)
            failed = text(MsgId.ADMIN_EXPORT_FAILED, kind=file.name)
            sorry = cards.message(cards.notice(failed, render, Tone.ERROR), render(failed))
            await _reply(turn, sorry)
            return
        await _reply(turn, file_info_message(file.name, info))


async def _reply(turn: TurnContext, body: Json) -> None:
    await turn.send_activity(Activity().deserialize(body))
