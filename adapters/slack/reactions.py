"""Giving by emoji reaction, and taking it back when the reaction is removed."""

from __future__ import annotations

from typing import Any

from core.commands import GiveKudos, RevokeKudos
from core.errors import AlreadyRevoked, DomainError, RecognitionNotFound

from .context import SlackContext, log


def reaction_key(team: str, event: dict[str, Any]) -> str:
    """One key per (message, reactor, emoji): Slack's retries and a re-add after a removal
    all land on the same gift, so a reaction can never be farmed for points."""
    item, who, emoji = event["item"], event["user"], event["reaction"]
    return f"slack:reaction:{team}:{item['channel']}:{item['ts']}:{who}:{emoji}"


async def reaction_added(event: dict[str, Any], ctx: SlackContext, team: str) -> None:
    item = event.get("item", {})
    author, reactor = event.get("item_user"), event["user"]
    if item.get("type") != "message" or not author or author == reactor:
        return
    amount = (await ctx.config()).chat.reactions.get(event["reaction"])
    if not amount:
        return
    giver = await ctx.directory.person(team, reactor)
    receiver = await ctx.directory.person(team, author)
    if receiver.is_bot:
        return
    client = await ctx.client(team)
    link = await client.chat_getPermalink(channel=item["channel"], message_ts=item["ts"])
    try:
        await ctx.bus.handle(
            GiveKudos(
                giver_id=giver.id,
                receiver_ids=(receiver.id,),
                amount=amount,
                reason=link["permalink"],
                source="reaction",
                idempotency_key=reaction_key(team, event),
                context={
                    "platform": "slack",
                    "team": team,
                    "channel": item["channel"],
                    "message_ts": item["ts"],
                },
            )
        )
    except DomainError as refused:  # only the reactor sees why nothing happened
        await client.chat_postEphemeral(
            channel=item["channel"], user=reactor, text=ctx.renderer(giver)(refused.text())
        )


async def reaction_removed(event: dict[str, Any], ctx: SlackContext, team: str) -> None:
    if event.get("item", {}).get("type") != "message":
        return
    try:
        await ctx.bus.handle(
            RevokeKudos(recognition_key=reaction_key(team, event), reason="reaction removed")
        )
    except (RecognitionNotFound, AlreadyRevoked):
        log.debug("reaction removed with no gift to reverse")
