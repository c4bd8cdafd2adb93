"""Giving and asking in Slack: /kudos, direct messages and @mentions, shortcuts and the modal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError

from adapters.chat.cards import Card, error_card, kudos_card
from adapters.chat.grammar import ChatRequest, Give, parse_chat
from core.commands import GiveKudos
from core.errors import (
    AmountOutOfRange,
    DailyLimitReached,
    DomainError,
    InsufficientAllowance,
    ReasonTooShort,
    UnknownValue,
    ValuesRequired,
)
from core.messages import MsgId, text
from core.people import Person

from . import blocks
from .context import SlackContext, log
from .directory import MENTION

Respond = AsyncRespond | Callable[..., Awaitable[object]]  # bolt's, or the pooled one
Slots = asyncio.Semaphore | None  # bounds the gifts worked on at once (`workers`)
CHANNEL = re.compile(r"<#C[A-Z0-9]+\|([^>]*)>")  # `#ownership` when a channel has that name


def parse_command(words: str) -> ChatRequest:
    """`/kudos @ana +5 …` gives; `/kudos balance` asks. Empty text is a request for help.

    Slack escapes the text (`should_escape`): mentions come as `<@U…|name>`, a `#word`
    that names a channel as `<#C…|word>`, and &, <, > as entities. Mentions are read
    from the escaped text, so a typed "<@U1>" can never pose as one; the reason is
    unescaped afterwards.
    """
    request = parse_chat(CHANNEL.sub(r"#\1", words), MENTION)
    if isinstance(request, Give):
        return replace(request, reason=unescape(request.reason))
    return request


def unescape(value: str) -> str:
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def answer(
    ctx: SlackContext,
    team: str,
    user_id: str,
    words: str,
    *,
    key: str,
    channel: str | None,
    slots: Slots = None,
) -> tuple[Person, Card]:
    """Run one line of the chat grammar for a Slack user; every outcome is a card. With
    `slots`, the work waits for one of them (posting the answer does not)."""
    async with slots or contextlib.nullcontext():
        return await _answer(ctx, team, user_id, words, key=key, channel=channel)


async def _answer(
    ctx: SlackContext, team: str, user_id: str, words: str, *, key: str, channel: str | None
) -> tuple[Person, Card]:
    actor = await ctx.directory.person(team, user_id)
    try:
        request = parse_command(words)
    except DomainError as error:
        return actor, error_card(error)

    async def resolve(mention: str) -> list[Person]:
        return await ctx.directory.resolve(team, mention)

    context = {"platform": "slack", "team": team}
    if channel:
        context["channel"] = channel
    card = await ctx.chat.answer(
        actor, request, resolve, source="slack", idempotency_key=key, context=context
    )
    return actor, card


# What a /kudos keeps on disk between its ack and its answer (not Slack's verification token).
KEPT = ("team_id", "user_id", "text", "channel_id", "trigger_id", "response_url")
KEEP_WITHIN = 2.0  # seconds the ack waits for the command to be kept: Slack allows 3 in all
SOURCE = "slack"  # /kudos in the inbox, by trigger_id
EVENTS = "slack-event"  # DM and @mention gifts in the inbox, by event_id
KEEPING = "laurel_keeping"  # in bolt's context: the keep of the event being handled
WORKERS = 4  # gifts worked on at once after their ack; the others wait, kept on disk


def workers() -> asyncio.Semaphore:
    """Bounds the work that follows acks (the gift, not the posting of its answer): under
    a burst the event loop stays free to acknowledge (a waiting command is already on
    disk) and gifts do not hold database connections while waiting for each other. Four:
    the server is CPU-bound well before four gifts' round trips overlap (bench e2e)."""
    return asyncio.Semaphore(WORKERS)


async def kudos_command(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: Respond,
    ctx: SlackContext,
    slots: Slots = None,
) -> None:
    """Kept on disk, acknowledged, then answered through response_url. The work follows
    the ack, so a crash (kill -9) in between lost an acknowledged gift; now the command
    waits in the inbox until it is answered, and the next start answers what it finds."""
    kept = {name: body.get(name) for name in KEPT}
    keeping = await _keep_before_ack(ctx, SOURCE, _key(kept), kept, f"/kudos {_key(kept)}")
    await ack()  # within 3 s; the work follows, and its answer comes through response_url
    try:
        await answer_command(kept, respond, ctx, slots)
    except asyncio.CancelledError:
        raise  # stopped half-way (the process is stopping): kept for the next start
    except BaseException:
        if await keeping:
            await _forget(ctx, SOURCE, _key(kept))
        raise
    if await keeping:
        await _forget(ctx, SOURCE, _key(kept))


def is_gift_event(body: dict[str, Any]) -> bool:
    """A DM to the app or an @mention of it by a person: what `direct_message` and
    `app_mention` answer, and so what is kept before bolt acknowledges it."""
    event = body.get("event") or {}
    if body.get("type") != "event_callback" or event.get("bot_id"):
        return False
    if event.get("type") == "app_mention":
        return True
    return (
        event.get("type") == "message"
        and event.get("channel_type") == "im"
        and not event.get("subtype")
    )


def event_payload(body: dict[str, Any], team: str, bot_user: str | None) -> dict[str, Any]:
    """What answering the event needs, then and after a restart (no verification token)."""
    return {
        "event_id": body.get("event_id"),
        "team": team,
        "bot_user": bot_user,
        "event": body["event"],
    }


async def keep_event(ctx: SlackContext, payload: dict[str, Any]) -> asyncio.Future[bool]:
    """Before bolt's ack of a DM or @mention gift, which comes before any listener runs."""
    key = payload["event_id"]
    return await _keep_before_ack(ctx, EVENTS, key, payload, f"Slack event {key}")


async def event_gift(
    ctx: SlackContext,
    payload: dict[str, Any],
    keeping: asyncio.Future[bool] | None,
    slots: Slots = None,
) -> None:
    """A DM or @mention after bolt's ack: answered (an apology if that fails), then
    forgotten. Stopped half-way, it stays kept for the next start."""
    await _answer_event(ctx, payload, slots)
    if keeping is not None and await keeping:
        await _forget(ctx, EVENTS, payload["event_id"])


async def recover(ctx: SlackContext, before: datetime) -> int:
    """Answer the /kudos commands, DMs and @mentions received before `before` that a crash
    left unanswered (their gift, if it was committed, is replayed by its key, never given
    twice)."""
    if ctx.inbox is None:
        return 0
    commands = await ctx.inbox.kept(SOURCE, before)
    for command in commands:
        log.warning("answering /kudos %s, acknowledged before a restart", command.key)
        respond = AsyncRespond(response_url=command.payload.get("response_url"))
        try:
            await answer_command(command.payload, respond, ctx)
        except Exception:  # its answer could not be posted (an expired response_url)
            log.exception("/kudos %s: no answer after the restart", command.key)
        await _forget(ctx, SOURCE, command.key)
    events = await ctx.inbox.kept(EVENTS, before)
    for kept in events:
        # Not through bolt (its signature check would find the request stale) and not
        # through a processed_events claim: the event is answered as if for the first time.
        log.warning("answering Slack event %s, acknowledged before a restart", kept.key)
        await _answer_event(ctx, kept.payload)
        await _forget(ctx, EVENTS, kept.key)
    return len(commands) + len(events)


def _key(body: dict[str, Any]) -> str:
    return f"slack:command:{body['trigger_id']}"


async def _keep_before_ack(
    ctx: SlackContext, source: str, key: str, payload: dict[str, Any], what: str
) -> asyncio.Future[bool]:
    """On disk before the ack, unless the database is too slow for Slack's 3 seconds: then
    the keep goes on, and the caller learns from the future whether there is a row to
    forget."""
    keeping = asyncio.ensure_future(_keep(ctx, source, key, payload))
    if not (await asyncio.wait({keeping}, timeout=KEEP_WITHIN))[0]:
        log.warning("%s acknowledged before it was kept (slow database)", what)
    return keeping


async def _keep(ctx: SlackContext, source: str, key: str, payload: dict[str, Any]) -> bool:
    if ctx.inbox is None:
        return False
    try:
        await ctx.inbox.keep(source, key, payload)
    except Exception as error:  # the database is down: the answer will be an apology
        log.warning("%s not kept before its ack: %r", key, error)
        return False
    return True


async def _forget(ctx: SlackContext, source: str, key: str) -> None:
    assert ctx.inbox is not None
    try:
        await ctx.inbox.forget(source, key)
    except Exception as error:  # kept: the next start answers it again (its key holds)
        log.warning("%s answered but not forgotten: %r", key, error)


async def _answer_event(ctx: SlackContext, payload: dict[str, Any], slots: Slots = None) -> None:
    event, team = payload["event"], payload["team"]
    try:
        if event.get("type") == "app_mention":
            await app_mention(event, ctx, team, payload.get("bot_user") or "", slots)
        else:
            await direct_message(event, ctx, team, slots)
    except Exception:
        log.exception("Slack %s listener failed", event.get("type"))
        await _sorry(ctx, team, event)


async def _sorry(ctx: SlackContext, team: str, event: dict[str, Any]) -> None:
    """Whoever was waiting for an answer gets an apology instead of silence."""
    if not (event.get("channel") and event.get("user")):
        return
    try:
        client = await ctx.client(team)
        await client.chat_postEphemeral(
            channel=event["channel"],
            user=event["user"],
            text=ctx.renderer(None)(text(MsgId.ERROR_INTERNAL)),
        )
    except Exception:
        log.exception("could not apologise to %s", event["user"])


async def answer_command(
    body: dict[str, Any], respond: Respond, ctx: SlackContext, slots: Slots = None
) -> None:
    """/kudos after its ack: every outcome, even a failure, is answered."""
    if body.get("response_url"):  # bolt's respond opens a new connection for every answer
        respond = partial(ctx.clients.respond, body["response_url"])
    try:
        actor, card = await answer(
            ctx,
            body["team_id"],
            body["user_id"],
            body.get("text") or "",
            key=_key(body),
            channel=body.get("channel_id"),
            slots=slots,
        )
    except Exception:
        log.exception("/kudos failed for %s", body.get("user_id"))
        await _apologise(respond, ctx)
        return
    render = ctx.renderer(actor, card.language)
    await respond(
        response_type="ephemeral",
        blocks=blocks.card_blocks(card, render),
        text=blocks.card_text(card, render),
    )


async def _apologise(respond: Respond, ctx: SlackContext) -> None:
    sorry = ctx.renderer(None)(text(MsgId.ERROR_INTERNAL))
    try:
        await respond(response_type="ephemeral", text=sorry)
    except Exception:
        log.exception("could not even apologise")


async def direct_message(
    event: dict[str, Any], ctx: SlackContext, team: str, slots: Slots = None
) -> None:
    """A message in the app's DM is the chat grammar, `kudos` optional for gifts."""
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
        return
    actor, card = await answer(
        ctx,
        team,
        event["user"],
        event.get("text", ""),
        key=f"slack:event:{event.get('client_msg_id') or event['ts']}",
        channel=None,
        slots=slots,
    )
    render = ctx.renderer(actor, card.language)
    client = await ctx.client(team)
    await client.chat_postMessage(
        channel=event["channel"],
        text=blocks.card_text(card, render),
        blocks=blocks.card_blocks(card, render),
    )


async def app_mention(
    event: dict[str, Any], ctx: SlackContext, team: str, bot_user: str, slots: Slots = None
) -> None:
    """`@laurel kudos @ana +5 …` in a channel: the reply is only for the person who asked."""
    if event.get("bot_id"):
        return
    words = event.get("text", "").replace(f"<@{bot_user}>", " ", 1)
    actor, card = await answer(
        ctx,
        team,
        event["user"],
        words,
        key=f"slack:event:{event.get('client_msg_id') or event['ts']}",
        channel=event["channel"],
        slots=slots,
    )
    render = ctx.renderer(actor, card.language)
    client = await ctx.client(team)
    await client.chat_postEphemeral(
        channel=event["channel"],
        user=event["user"],
        text=blocks.card_text(card, render),
        blocks=blocks.card_blocks(card, render),
    )


async def open_modal(
    ctx: SlackContext,
    *,
    trigger_id: str,
    team: str,
    user_id: str,
    message: dict[str, Any] | None = None,
    channel: str | None = None,
) -> None:
    actor, config, link = await asyncio.gather(
        ctx.directory.person(team, user_id), ctx.config(), _permalink(ctx, team, channel, message)
    )
    reason = f"{link} " if link else ""
    receivers = []
    if message and message.get("user") and message["user"] != user_id:
        receivers = [message["user"]]
    view = blocks.give_modal(
        ctx.renderer(actor),
        [v for v in config.values if v.active],
        config.policy.default_amount,
        reason=reason,
        receivers=receivers,
        metadata=json.dumps({"channel": channel} if channel else {}),
    )
    await (await ctx.client(team)).views_open(trigger_id=trigger_id, view=view)


async def _permalink(
    ctx: SlackContext, team: str, channel: str | None, message: dict[str, Any] | None
) -> str | None:
    """The message's link, or None when Slack will not give it (the modal opens anyway)."""
    if not (message and channel):
        return None
    try:
        client = await ctx.client(team)
        found = await client.chat_getPermalink(channel=channel, message_ts=message["ts"])
    except SlackApiError:
        return None
    return str(found["permalink"])


_FIELD_OF_ERROR: dict[type[DomainError], str] = {
    AmountOutOfRange: blocks.AMOUNT,
    InsufficientAllowance: blocks.AMOUNT,
    DailyLimitReached: blocks.AMOUNT,
    ReasonTooShort: blocks.REASON,
    UnknownValue: blocks.VALUES,
    ValuesRequired: blocks.VALUES,
}


async def submit_modal(ack: AsyncAck, body: dict[str, Any], ctx: SlackContext) -> None:
    """Give from the modal. A broken rule comes back inline, next to the field it concerns."""
    view, team, user_id = body["view"], body["team"]["id"], body["user"]["id"]
    state = view["state"]["values"]
    actor = await ctx.directory.person(team, user_id)
    render = ctx.renderer(actor)
    metadata = json.loads(view.get("private_metadata") or "{}")
    try:
        receivers = [
            await ctx.directory.person(team, u)
            for u in state[blocks.RECEIVERS][blocks.RECEIVERS].get("selected_users", [])
        ]
        chosen = state.get(blocks.VALUES, {}).get(blocks.VALUES, {}).get("selected_options") or []
        result = await ctx.bus.handle(
            GiveKudos(
                giver_id=actor.id,
                receiver_ids=tuple(p.id for p in receivers),
                amount=_amount(state[blocks.AMOUNT][blocks.AMOUNT].get("value")),
                reason=state[blocks.REASON][blocks.REASON].get("value") or "",
                values=tuple(o["value"] for o in chosen),
                source="slack",
                idempotency_key=f"slack:view:{view['id']}",
                context={"platform": "slack", "team": team, **metadata},
            )
        )
    except DomainError as error:
        field = _FIELD_OF_ERROR.get(type(error), blocks.RECEIVERS)
        await ack(response_action="errors", errors={field: render(error.text())[:150]})
        return
    await ack()
    card = kudos_card(result)
    await (await ctx.client(team)).chat_postMessage(
        channel=user_id,
        text=blocks.card_text(card, render),
        blocks=blocks.card_blocks(card, render),
    )


def _amount(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw)
    except ValueError:
        return 0  # the core refuses it with the amount-range message
