"""`admin catalog codes ITEM` with a file shared in chat: gift-card codes into the pool.

The platform only says how to fetch the file (`SharedFile`); it is downloaded once the
admin, the item and the keys are checked, read like `laurel catalog codes` reads a file
and sealed into the pool at once. No code is ever logged: the sealed pool is the only copy
laurel keeps. The shared file stays in the platform's storage, where laurel cannot delete
it, so the answer asks the admin to.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import aiohttp

from adapters.catalog_csv import Unreadable, read_codes
from adapters.persistence.gift_cards import GiftCardVault
from core.bus import MessageBus
from core.commands import CheckAdmin, GetCodePool, RecordCodes
from core.errors import CodesUnavailable, DomainError, NotAnAdmin
from core.handlers.gift_cards import ACTION, CodePool
from core.messages import MsgId, Text, text
from core.people import Person
from core.policy import value_slug

from .cards import Card, Tone, lines_card

log = logging.getLogger(__name__)

MAX_BYTES = 1_000_000  # ERROR_CODES_TOO_BIG says "1 MB" in every language
MAX_CODES = 10_000
_TIMEOUT = aiohttp.ClientTimeout(total=60)
_CHUNK = 64 * 1024


class CodesFileTooBig(DomainError):
    key = MsgId.ERROR_CODES_TOO_BIG

    def params(self) -> dict[str, object]:
        return {"codes": Text(MsgId.CODES_COUNT, {}, MAX_CODES)}


class CodesFileUnreadable(DomainError):
    key = MsgId.ERROR_CODES_UNREADABLE


class CodesDownloadFailed(DomainError):
    key = MsgId.ERROR_CODES_DOWNLOAD


class OneFileAtATime(DomainError):
    key = MsgId.ERROR_CODES_ONE_FILE


# The file's bytes, at most `limit` of them: raises CodesFileTooBig past it and
# CodesDownloadFailed when the platform does not hand the file over.
Download = Callable[[int], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class SharedFile:
    """A file shared with the line, not downloaded yet."""

    download: Download


class GiftCodes:
    def __init__(self, bus: MessageBus, vault: GiftCardVault | None) -> None:
        self._bus = bus
        self._vault = vault  # None: no LAUREL_SECRET_KEYS to seal codes with

    async def answer(
        self, actor: Person, item: str, files: Sequence[SharedFile], platform: str
    ) -> Card:
        """Raises a `DomainError` for every refusal; nothing is added then."""
        slug = value_slug(item)
        if not files:  # the line alone: how to share the file
            return lines_card(text(MsgId.ADMIN_CODES_HOWTO, item=slug))
        if len(files) > 1:
            raise OneFileAtATime()
        vault = await self._check(actor, slug, platform)
        codes = await _read(files[0])
        added = await vault.add(slug, codes)
        skipped = len(codes) - added
        pool: CodePool = await self._bus.handle(
            RecordCodes(
                actor_id=actor.id, item=slug, added=added, skipped=skipped, platform=platform
            )
        )
        log.info("person %s added %d gift-card codes to %s", actor.id, added, slug)
        return _added_card(pool, added, skipped)

    async def _check(self, actor: Person, slug: str, platform: str) -> GiftCardVault:
        """An HR admin (a refusal is audited), a gift card, and keys: before any download."""
        refused = await self._bus.handle(
            CheckAdmin(actor_id=actor.id, action=ACTION, platform=platform)
        )
        if refused is not None:
            raise NotAnAdmin()
        await self._bus.handle(GetCodePool(actor_id=actor.id, item=slug))
        if self._vault is None:
            raise CodesUnavailable()
        return self._vault


async def _read(file: SharedFile) -> list[str]:
    content = await file.download(MAX_BYTES)
    try:
        codes = read_codes(content)
    except Unreadable:
        raise CodesFileUnreadable() from None
    if not codes:
        raise CodesFileUnreadable()
    if len(codes) > MAX_CODES:
        raise CodesFileTooBig()
    return codes


def _added_card(pool: CodePool, added: int, skipped: int) -> Card:
    line = text(
        MsgId.ADMIN_CODES_ADDED,
        codes=Text(MsgId.CODES_COUNT, {}, added),
        item=pool.name,
        skipped=Text(MsgId.ADMIN_CODES_SKIPPED, {}, skipped),
        available=pool.available,
    )
    return lines_card(line, tone=Tone.OK)


async def download(url: str, limit: int, headers: Mapping[str, str] | None = None) -> bytes:
    """GET a shared file, reading at most `limit` bytes of it. The URL is never logged: a
    pre-authenticated one (Teams) is as good as a password to the file."""
    try:
        async with (
            aiohttp.ClientSession(timeout=_TIMEOUT) as session,
            session.get(url, headers=dict(headers or {})) as response,
        ):
            # Slack answers a download without the files:read scope with its sign-in page.
            if response.status != 200 or response.content_type == "text/html":
                log.warning("shared file refused: HTTP %s %s", response.status, response.reason)
                raise CodesDownloadFailed()
            if (response.content_length or 0) > limit:
                raise CodesFileTooBig()
            return await _capped(response, limit)
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("shared file not downloaded: %s", type(error).__name__)
        raise CodesDownloadFailed() from None


async def _capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or CodesFileTooBig as soon as it goes past `limit` (the length the
    server announced may be missing or wrong)."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body.extend(chunk)
        if len(body) > limit:
            raise CodesFileTooBig()
    return bytes(body)
