"""Redeeming from buttons: the shop's Redeem buttons and the shipping modal.

A shop button is the same request as typing `redeem ITEM`. When the item ships, the answer
is a form: the click opens the shipping modal at once (it has a trigger), and `/kudos
redeem hoodie` answers with a button that opens it. The modal's submission is the same
redeem request as `redeem hoodie M to ADDRESS`, through the shared chat commands (the
address is sealed there). A refusal comes back next to the field; success replaces the
message that held the button.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from adapters.chat.cards import Card, Tone
from adapters.chat.grammar import RedeemItem
from core.messages import MsgId, text
from core.people import Person

from .blocks import SHIP_MODAL, Block, card_blocks, card_text
from .context import SlackContext

ADDRESS, VARIANT = "address", "variant"
_TITLE_LIMIT = 24  # Slack's limit for a modal's title and buttons


async def on_open(ack: AsyncAck, body: dict[str, Any], ctx: SlackContext) -> None:
    await ack()
    carried = json.loads(body["actions"][0]["value"])
    actor = await ctx.directory.person(body["team"]["id"], body["user"]["id"])
    await _open(ctx, body, actor, carried)


async def _open(
    ctx: SlackContext, body: dict[str, Any], actor: Person, carried: dict[str, Any]
) -> None:
    carried["url"] = body.get("response_url")
    client = await ctx.client(body["team"]["id"])
    await client.views_open(trigger_id=body["trigger_id"], view=_modal(ctx, actor, carried))


async def on_offer(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, ctx: SlackContext
) -> None:
    """A shop's Redeem button: redeem one, or open the shipping modal if the item ships."""
    await ack()
    team = body["team"]["id"]
    action = body["actions"][0]
    actor = await ctx.directory.person(team, body["user"]["id"])
    card = await ctx.chat.answer(
        actor,
        RedeemItem(action["value"]),
        _nobody,
        source="slack",
        idempotency_key=f"slack:action:{action.get('action_ts') or body['trigger_id']}",
        context={"platform": "slack", "team": team},
    )
    form = card.form
    if form is not None:
        carried = {
            "slug": form.slug,
            "item": form.item,
            "quantity": form.quantity,
            "variant": form.variant,
            "variants": form.variants,
        }
        await _open(ctx, body, actor, carried)
        return
    render = ctx.renderer(actor, card.language)
    await respond(
        response_type="ephemeral",
        replace_original=False,
        blocks=card_blocks(card, render),
        text=card_text(card, render),
    )


async def _nobody(_: str) -> list[Person]:
    return []


def _modal(ctx: SlackContext, actor: Person, carried: dict[str, Any]) -> Block:
    render = ctx.renderer(actor)
    inputs: list[Block] = []
    if carried.get("variants"):
        inputs.append(_variant_input(render(text(MsgId.FORM_VARIANT)), carried))
    inputs.append(
        {
            "type": "input",
            "block_id": ADDRESS,
            "label": {"type": "plain_text", "text": render(text(MsgId.FORM_ADDRESS))},
            "hint": {"type": "plain_text", "text": render(text(MsgId.FORM_ADDRESS_HINT))},
            "element": {
                "type": "plain_text_input",
                "action_id": ADDRESS,
                "multiline": True,
                "min_length": 10,
                "max_length": 500,
            },
        }
    )
    heading = {"type": "section", "text": {"type": "plain_text", "text": carried["item"][:3000]}}
    return {
        "type": "modal",
        "callback_id": SHIP_MODAL,
        "private_metadata": json.dumps(carried)[:3000],
        "title": {
            "type": "plain_text",
            "text": render(text(MsgId.FORM_SHIPPING_TITLE))[:_TITLE_LIMIT],
        },
        "submit": {"type": "plain_text", "text": render(text(MsgId.FORM_SUBMIT))[:_TITLE_LIMIT]},
        "close": {"type": "plain_text", "text": render(text(MsgId.MODAL_CLOSE))[:_TITLE_LIMIT]},
        "blocks": [heading, *inputs],
    }


def _variant_input(label: str, carried: dict[str, Any]) -> Block:
    options = [
        {"text": {"type": "plain_text", "text": name[:75]}, "value": name[:150]}
        for name in carried["variants"][:100]
    ]
    element: Block = {"type": "static_select", "action_id": VARIANT, "options": options}
    chosen = next((o for o in options if o["value"] == carried.get("variant")), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return {
        "type": "input",
        "block_id": VARIANT,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


async def on_submit(ack: AsyncAck, body: dict[str, Any], ctx: SlackContext) -> None:
    """Redeem with what the form holds; a refusal is shown next to the field it is about."""
    view = body["view"]
    carried = json.loads(view.get("private_metadata") or "{}")
    state = view["state"]["values"]
    address = state.get(ADDRESS, {}).get(ADDRESS, {}).get("value") or ""
    picked = state.get(VARIANT, {}).get(VARIANT, {}).get("selected_option") or {}
    variant = picked.get("value") or carried.get("variant")
    team = body["team"]["id"]
    actor = await ctx.directory.person(team, body["user"]["id"])
    request = RedeemItem(carried["slug"], int(carried["quantity"]), variant, address)

    card = await ctx.chat.answer(
        actor,
        request,
        _nobody,
        source="slack",
        idempotency_key=f"slack:view:{view['id']}",  # a double submission redeems once
        context={"platform": "slack", "team": team},
    )
    render = ctx.renderer(actor, card.language)
    if card.tone is Tone.ERROR or card.form is not None:
        field = VARIANT if carried.get("variants") and _about_variant(card) else ADDRESS
        await ack(response_action="errors", errors={field: card_text(card, render)[:150]})
        return
    await ack()
    if carried.get("url"):
        respond = AsyncRespond(response_url=carried["url"])
        await respond(
            replace_original=True,
            blocks=card_blocks(card, render),
            text=card_text(card, render),
        )


def _about_variant(card: Card) -> bool:
    first = card.sections[0].lines[0] if card.sections and card.sections[0].lines else None
    return first is not None and first.key in (MsgId.ERROR_VARIANT_NEEDED, MsgId.ERROR_OUT_OF_STOCK)
