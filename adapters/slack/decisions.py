"""The one interactivity layer for decision buttons in Slack.

Every button that decides something (Approve / Decline, Confirm / Cancel) carries the
decision's key. A click is acknowledged at once; the first click decides (through the
core, exactly once) and the message is rewritten in place to say who decided and when;
any later click only tells the clicker who already decided.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from adapters.chat.cards import OUTCOME_DONE, OUTCOME_LABEL
from adapters.i18n import Renderer
from core.commands import Decide
from core.decisions import Decision, Outcome
from core.errors import DomainError
from core.messages import MsgId, Text, text

from .blocks import Block, escape
from .context import SlackContext, log

ACTION = re.compile(r"^laurel_decide:(approve|decline|confirm|cancel)$")
_STYLE = {Outcome.APPROVE: "primary", Outcome.CONFIRM: "primary", Outcome.DECLINE: "danger"}


def decision_actions(decision: Decision, render: Renderer) -> Block:
    """The buttons of a decision, for any message that asks for one."""
    buttons = []
    for outcome in decision.options:
        button: Block = {
            "type": "button",
            "action_id": f"laurel_decide:{outcome.value}",
            "value": decision.key,
            "text": {"type": "plain_text", "text": render(text(OUTCOME_LABEL[outcome]))},
        }
        if outcome in _STYLE:
            button["style"] = _STYLE[outcome]
        buttons.append(button)
    return {"type": "actions", "block_id": "laurel_decision", "elements": buttons}


async def on_click(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, ctx: SlackContext
) -> None:
    await ack()
    action = body["actions"][0]
    outcome = Outcome(action["action_id"].removeprefix("laurel_decide:"))
    actor = await ctx.directory.person(body["team"]["id"], body["user"]["id"])
    render = ctx.renderer(actor)
    try:
        result = await ctx.bus.handle(
            Decide(key=action["value"], outcome=outcome, person_id=actor.id)
        )
    except DomainError as refused:
        await respond(
            response_type="ephemeral", replace_original=False, text=render(refused.text())
        )
        return
    decided = result.decision
    if not result.first:
        already = await _who(ctx, decided, MsgId.ALREADY_DECIDED)
        await respond(response_type="ephemeral", replace_original=False, text=render(already))
        return
    assert decided.outcome is not None
    line = render(await _who(ctx, decided, OUTCOME_DONE[decided.outcome]))
    kept = [b for b in body.get("message", {}).get("blocks", []) if b.get("type") != "actions"]
    kept.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(line)}]})
    try:
        await respond(replace_original=True, blocks=kept, text=line)
    except Exception:  # the decision stands; only the message could not be rewritten
        log.exception("could not update the decided message %s", decided.key)


async def _who(ctx: SlackContext, decision: Decision, key: MsgId) -> Text:
    async with ctx.uow(readonly=True) as uow:
        person = await uow.people.get(decision.decided_by or 0)
    name = person.display_name if person else "?"
    return text(key, name=name, when=decision.decided_at)
