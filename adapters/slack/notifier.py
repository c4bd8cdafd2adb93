"""Outbound Slack messages after a commit: DMs to receivers, the public announcement, tiers.

Delivery runs in background tasks so that a command's answer (and Slack's 3-second ack)
never waits on other people's messages. The Web API client retries 429 and 5xx; what
still fails is logged with the person and the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.chat.cards import received_text
from core.events import Event, KudosGiven, TierReached
from core.messages import MsgId, text
from core.people import Person
from core.recognition import Recognition

from . import blocks
from .context import SlackContext, log


class SlackNotifier:
    def __init__(self, ctx: SlackContext) -> None:
        self._ctx = ctx
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, event: Event) -> None:
        if isinstance(event, KudosGiven):
            self._spawn(self._kudos(event.recognition))
        elif isinstance(event, TierReached):
            self._spawn(self._tier(event))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for deliveries in flight (at shutdown, and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _kudos(self, r: Recognition) -> None:
        async with self._ctx.uow(readonly=True) as uow:
            people = await uow.people.get_many([r.giver_id, *r.receiver_ids])
            chat = (await uow.config.load()).chat
        giver = people[r.giver_id]
        for person_id in r.receiver_ids:
            receiver = people[person_id]
            await self._dm(receiver, self._ctx.renderer(receiver)(received_text(giver, r)))
        channel = chat.recognition_channel or (
            r.context.get("channel") if r.source == "slack" else None
        )
        if channel:
            await self._announce(channel, r, giver, [people[i] for i in r.receiver_ids])

    async def _tier(self, event: TierReached) -> None:
        async with self._ctx.uow(readonly=True) as uow:
            person = await uow.people.get(event.person_id)
        if person is not None:
            message = text(
                MsgId.TIER_REACHED, name=person.display_name, tier=event.tier, badge=event.badge
            )
            await self._dm(person, self._ctx.renderer(person)(message))

    async def _dm(self, person: Person, message: str) -> None:
        try:
            found = await self._ctx.directory.user_id(person)
            if found is None:
                log.info("no Slack account for person %s; DM not sent", person.id)
                return
            client = await self._ctx.client(found[0])
            opened = await client.conversations_open(users=found[1])
            await client.chat_postMessage(
                channel=opened["channel"]["id"],
                text=message,
                blocks=[blocks.section(blocks.escape(message))],
            )
        except (TimeoutError, SlackApiError, OSError) as error:
            log.error("DM to person %s failed: %s", person.id, _reason(error))

    async def _announce(
        self, channel: str, r: Recognition, giver: Person, receivers: list[Person]
    ) -> None:
        directory = self._ctx.directory
        try:
            giver_id = await directory.user_id(giver)
            receiver_ids = [await directory.user_id(p) for p in receivers]
            names = [
                blocks.mention(found[1] if found else None, p)
                for found, p in zip(receiver_ids, receivers, strict=True)
            ]
            avatars = [
                a for found in receiver_ids if found for a in [directory.avatar(*found)] if a
            ]
            body = blocks.announcement_blocks(
                r,
                blocks.mention(giver_id[1] if giver_id else None, giver),
                names,
                avatars,
                self._ctx.renderer(None),
            )
            client = await self._ctx.client(r.context.get("team", ""))
            await client.chat_postMessage(
                channel=channel, blocks=body, text=body[0]["text"]["text"]
            )
        except (TimeoutError, SlackApiError, OSError) as error:
            log.error(
                "announcement of recognition %s in %s failed: %s", r.id, channel, _reason(error)
            )


def _reason(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", error))
    return repr(error)
