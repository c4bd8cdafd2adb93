"""The App Home tab, and the introduction when laurel joins a channel."""

from __future__ import annotations

from typing import Any

from core.commands import GetBalance, GetHistory, GetLeaderboard
from core.messages import MsgId, text
from core.periods import Window
from core.views import BalanceView, HistoryView, LeaderboardView

from . import blocks
from .context import SlackContext


async def publish_home(ctx: SlackContext, team: str, user_id: str) -> None:
    person = await ctx.directory.person(team, user_id)
    balance: BalanceView = await ctx.bus.handle(GetBalance(person_id=person.id))
    history: HistoryView = await ctx.bus.handle(GetHistory(person_id=person.id, limit=20))
    board: LeaderboardView = await ctx.bus.handle(GetLeaderboard(window=Window.MONTH, limit=5))
    received = [
        (r, history.people[r.giver_id].display_name)
        for r in history.items
        if r.giver_id != person.id and r.revoked_at is None and r.giver_id in history.people
    ][:5]
    view = blocks.home_view(balance, received, board.receivers, ctx.renderer(person))
    await (await ctx.client(team)).views_publish(user_id=user_id, view=view)


async def introduce(ctx: SlackContext, team: str, event: dict[str, Any]) -> None:
    render = ctx.renderer(None)
    emoji = next(iter((await ctx.config()).chat.reactions), "star")
    intro = render(
        text(MsgId.INTRO, example="/kudos @name +5 …", emoji=f":{emoji}:", help="/kudos help")
    )
    await (await ctx.client(team)).chat_postMessage(
        channel=event["channel"], text=intro, blocks=[blocks.section(blocks.escape(intro))]
    )
