"""`/kudos-admin`: the admin grammar in Slack.

The answer is ephemeral, like `/kudos`'s: a preview carries the Confirm / Cancel buttons
(the shared decision layer takes the click), a chart goes in as an image uploaded first.
An export says at once that it started; the file follows in the admin's DM when it is
ready (files.uploadV2), with a line that says so, or an apology if it could not be sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.chat.admin import AdminAnswer, ChatAdmin
from adapters.chat.admin_grammar import parse_admin
from adapters.chat.background import Background
from adapters.chat.cards import Card, Tone, error_card, lines_card
from adapters.chat.codes import SharedFile
from adapters.i18n import Renderer
from core.errors import DomainError
from core.messages import MsgId, text
from core.people import Person

from . import blocks, codes
from .context import SlackContext, log
from .directory import MENTION


class SlackAdmin:
    def __init__(self, ctx: SlackContext, admin: ChatAdmin) -> None:
        self._ctx = ctx
        self._admin = admin
        self._background = Background()

    async def command(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()  # within 3 s; the answer comes through response_url
        try:
            await self._command(body, respond)
        except Exception:
            log.exception("/kudos-admin failed for %s", body.get("user_id"))
            sorry = self._ctx.renderer(None)(text(MsgId.ERROR_INTERNAL))
            await respond(response_type="ephemeral", text=sorry)

    async def _command(self, body: dict[str, Any], respond: AsyncRespond) -> None:
        team, user = body["team_id"], body["user_id"]
        actor = await self._ctx.directory.person(team, user)
        answer = await self._answer(actor, team, body.get("text", ""))
        render = self._ctx.renderer(actor, answer.card.language)
        client = await self._ctx.client(team)
        payload = await self._blocks(client, answer.card, render)
        await respond(
            response_type="ephemeral", blocks=payload, text=blocks.card_text(answer.card, render)
        )
        if answer.files or answer.later is not None:
            self._background.spawn(self._follow_up(client, actor, user, answer))

    async def shared_codes(self, event: dict[str, Any], team: str) -> None:
        """`admin catalog codes ITEM` in the DM, with the file of codes (or without: then
        the answer says how); the answer goes to the DM."""
        actor = await self._ctx.directory.person(team, event["user"])
        client = await self._ctx.client(team)
        files = codes.shared_files(client, event)
        answer = await self._answer(actor, team, codes.admin_line(event), files)
        render = self._ctx.renderer(actor, answer.card.language)
        await client.chat_postMessage(
            channel=event["channel"],
            blocks=blocks.card_blocks(answer.card, render),
            text=blocks.card_text(answer.card, render),
        )

    async def _answer(
        self, actor: Person, team: str, words: str, files: Sequence[SharedFile] = ()
    ) -> AdminAnswer:
        try:
            request = parse_admin(words, MENTION)
        except DomainError as error:
            return AdminAnswer(error_card(error))

        async def resolve(mention: str) -> list[Person]:
            return await self._ctx.directory.resolve(team, mention)

        return await self._admin.answer(actor, request, resolve, platform="slack", files=files)

    async def _blocks(
        self, client: AsyncWebClient, card: Card, render: Renderer
    ) -> list[blocks.Block]:
        """The card's blocks; its chart uploaded first and shown by reference."""
        body = blocks.card_blocks(card, render)
        if card.image is None:
            return body
        try:
            uploaded = await client.files_upload_v2(
                content=card.image.png,
                filename="chart.png",
                title=render(card.image.title),
            )
        except (SlackApiError, OSError, TimeoutError) as error:
            log.error("chart upload failed: %s", error)
            return body
        picture = {
            "type": "image",
            "slack_file": {"id": uploaded["file"]["id"]},
            "alt_text": render(card.image.alt)[:2000],
            "title": {"type": "plain_text", "text": render(card.image.title)[:2000]},
        }
        return [*body, picture]

    async def _follow_up(
        self, client: AsyncWebClient, actor: Person, user: str, answer: AdminAnswer
    ) -> None:
        """The long part (an export), then its files, in the admin's DM."""
        render = self._ctx.renderer(actor)
        try:
            if answer.later is not None:
                answer = await answer.later()
            opened = await client.conversations_open(users=user)
            channel = opened["channel"]["id"]
            for file in answer.files:
                await client.files_upload_v2(
                    channel=channel,
                    content=file.content,
                    filename=file.name,
                    title=render(file.title),
                    initial_comment=blocks.card_text(answer.card, render),
                )
            if not answer.files:  # no file: say what happened instead
                await client.chat_postMessage(
                    channel=channel,
                    blocks=blocks.card_blocks(answer.card, render),
                    text=blocks.card_text(answer.card, render),
                )
        except (SlackApiError, OSError, TimeoutError):
            log.exception("admin follow-up for %s failed", user)
            await self._apologise(client, user, render)

    async def _apologise(self, client: AsyncWebClient, user: str, render: Renderer) -> None:
        sorry = lines_card(text(MsgId.ERROR_INTERNAL), tone=Tone.ERROR)
        try:
            opened = await client.conversations_open(users=user)
            await client.chat_postMessage(
                channel=opened["channel"]["id"], text=blocks.card_text(sorry, render)
            )
        except (SlackApiError, OSError, TimeoutError):
            log.exception("could not even apologise to %s", user)

    async def drain(self) -> None:
        await self._background.drain()
