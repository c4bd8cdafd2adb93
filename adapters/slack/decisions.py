"""The one interactivity layer for decision buttons in Slack.

Every button that decides something (Approve / Decline, Confirm / Cancel) carries the
decision's key. A click is acknowledged at once; the first click decides (through the
core, exactly once) and the message is rewritten in place to say who decided and when;
any later click only tells the clicker who already decided. Decline first asks for an
optional reason in a modal; its submission decides the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from adapters.chat.cards import OUTCOME_DONE
from core.commands import Decide
from core.decisions import Decision, Outcome
from core.errors import DomainError
from core.messages import MsgId, Text, text
from core.people import Person

from .blocks import Block, escape
from .context import SlackContext, log

ACTION = re.compile(r"^laurel_decide:(approve|decline|confirm|cancel)$")
DECLINE_MODAL = "laurel_decline_modal"
Respond = Callable[..., Awaitable[Any]]
NOTE = "note"
_KEPT_LIMIT = 2500  # private_metadata holds 3000 characters: larger messages keep their text


async def on_click(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, ctx: SlackContext
) -> None:
    await ack()
    action = body["actions"][0]
    outcome = Outcome(action["action_id"].removeprefix("laurel_decide:"))
    actor = await ctx.directory.person(body["team"]["id"], body["user"]["id"])
    kept = _kept(body.get("message", {}).get("blocks", []))
    if outcome is Outcome.DECLINE:
        await _ask_reason(ctx, body, actor, action["value"], kept)
        return
    await _decide(ctx, respond, actor, action["value"], outcome, "", kept)


async def _nowhere(**_: Any) -> None:
    """No message to rewrite (a decision asked for outside a message)."""


def _kept(blocks: list[Block]) -> list[Block]:
    """The message without its buttons: what stays once it is decided."""
    return [b for b in blocks if b.get("type") != "actions"]


async def _decide(
    ctx: SlackContext,
    respond: Respond,
    actor: Person,
    key: str,
    outcome: Outcome,
    note: str,
    kept: list[Block],
) -> str | None:
    """Decide, then rewrite the message in place; returns why not, when it was refused or
    decided before (said to the clicker ephemerally as well)."""
    render = ctx.renderer(actor)
    try:
        result = await ctx.bus.handle(
            Decide(key=key, outcome=outcome, person_id=actor.id, note=note)
        )
    except DomainError as refused:
        why = render(refused.text())
        await respond(response_type="ephemeral", replace_original=False, text=why)
        return why
    decided = result.decision
    if not result.first:
        already = render(await _who(ctx, decided, MsgId.ALREADY_DECIDED))
        await respond(response_type="ephemeral", replace_original=False, text=already)
        return already
    assert decided.outcome is not None
    line = render(await _who(ctx, decided, OUTCOME_DONE[decided.outcome]))
    done = [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(line)}]}]
    try:
        await respond(replace_original=True, blocks=done, text=line)
    except Exception:  # the decision stands; only the message could not be rewritten
        log.exception("could not update the decided message %s", decided.key)
    return None


async def _ask_reason(
    ctx: SlackContext, body: dict[str, Any], actor: Person, key: str, kept: list[Block]
) -> None:
    """Decline asks first for an optional reason; the message's response_url and content
    ride along so that the submission can rewrite it."""
    render = ctx.renderer(actor)
    carried = {"key": key, "url": body.get("response_url"), "kept": kept}
    if len(json.dumps(carried)) > _KEPT_LIMIT:
        carried["kept"] = []
    view = {
        "type": "modal",
        "callback_id": DECLINE_MODAL,
        "private_metadata": json.dumps(carried),
        "title": {"type": "plain_text", "text": render(text(MsgId.OUTCOME_DECLINE))[:24]},
        "submit": {"type": "plain_text", "text": render(text(MsgId.OUTCOME_DECLINE))[:24]},
        "close": {"type": "plain_text", "text": render(text(MsgId.MODAL_CLOSE))[:24]},
        "blocks": [
            {
                "type": "input",
                "block_id": NOTE,
                "optional": True,
                "label": {"type": "plain_text", "text": render(text(MsgId.DECLINE_NOTE))},
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE,
                    "multiline": True,
                    "max_length": 300,
                },
            }
        ],
    }
    client = await ctx.client(body["team"]["id"])
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def on_reason(ack: AsyncAck, body: dict[str, Any], ctx: SlackContext) -> None:
    """The decline modal's submission: decide with the reason, or say in the modal why not."""
    carried = json.loads(body["view"].get("private_metadata") or "{}")
    state = body["view"]["state"]["values"]
    note = (state.get(NOTE, {}).get(NOTE, {}).get("value") or "").strip()
    actor = await ctx.directory.person(body["team"]["id"], body["user"]["id"])
    url = carried.get("url")
    respond: Respond = AsyncRespond(response_url=url) if url else _nowhere
    why = await _decide(
        ctx, respond, actor, carried["key"], Outcome.DECLINE, note, carried.get("kept", [])
    )
    if why is None:
        await ack()
    else:
        await ack(response_action="errors", errors={NOTE: why[:150]})


async def _who(ctx: SlackContext, decision: Decision, key: MsgId) -> Text:
    async with ctx.uow(readonly=True) as uow:
        person = await uow.people.get(decision.decided_by or 0)
    name = person.display_name if person else "?"
    return text(key, name=name, when=decision.decided_at)
