"""Block Kit for laurel's cards, announcements, the App Home tab and the kudos modal."""

from __future__ import annotations

import json
from typing import Any

from adapters.chat.cards import (
    OUTCOME_LABEL,
    Card,
    ShippingForm,
    Tone,
    balance_card,
    ranking_lines,
)
from adapters.i18n import Renderer
from core.decisions import Decision, Outcome
from core.messages import MsgId, Names, points, text
from core.people import Person
from core.policy import CompanyValue
from core.recognition import Recognition
from core.views import BalanceView, Ranked

Block = dict[str, Any]
MAX_TEXT = 3000  # Slack's limit for a section's text
_STYLE = {Outcome.APPROVE: "primary", Outcome.CONFIRM: "primary", Outcome.DECLINE: "danger"}
_TONE_EMOJI = {Tone.OK: ":white_check_mark:", Tone.INFO: "", Tone.ERROR: ":warning:"}

GIVE_MODAL = "laurel_give_modal"
SHIP_BUTTON = "laurel_ship_open"
SHIP_MODAL = "laurel_ship_modal"
OFFER = "laurel_redeem"  # a shop's Redeem button: `laurel_redeem:N`, the item's slug as value
GIVE_BUTTON = "laurel_give_open"
RECEIVERS, AMOUNT, VALUES, REASON = "receivers", "amount", "values", "reason"


def escape(value: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(value: str) -> Block:
    return {"type": "mrkdwn", "text": value[:MAX_TEXT]}


def section(value: str) -> Block:
    return {"type": "section", "text": mrkdwn(value)}


def card_blocks(card: Card, render: Renderer) -> list[Block]:
    blocks: list[Block] = []
    if card.title is not None:
        title = f"{card.badge} {render(card.title)}".strip()
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": title[:150]}})
    for section_ in card.sections:
        lines = [escape(render(line)) for line in section_.lines]
        if section_.heading is not None:
            lines.insert(0, f"*{escape(render(section_.heading))}*")
        if card.title is None and _TONE_EMOJI[card.tone] and lines:
            lines[0] = f"{_TONE_EMOJI[card.tone]} {lines[0]}"
        blocks.append(section("\n".join(lines)))
    if card.form is not None:
        blocks.append(_form_button(card.form, render))
    if card.decision is not None:
        blocks.append(decision_actions(card.decision, render))
    if card.offers:
        blocks.append(_offer_buttons(card, render))
    return blocks


def _offer_buttons(card: Card, render: Renderer) -> Block:
    buttons = [
        {
            "type": "button",
            "action_id": f"{OFFER}:{i}",
            "value": offer.slug,
            "text": {"type": "plain_text", "text": render(offer.label)[:75]},
        }
        for i, offer in enumerate(card.offers)
    ]
    return {"type": "actions", "block_id": "laurel_offers", "elements": buttons}


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


def _form_button(form: ShippingForm, render: Renderer) -> Block:
    """Opens the shipping modal with what the request said so far (see shipping.py)."""
    carried = {
        "slug": form.slug,
        "item": form.item,
        "quantity": form.quantity,
        "variant": form.variant,
        "variants": form.variants,
    }
    button = {
        "type": "button",
        "action_id": SHIP_BUTTON,
        "style": "primary",
        "value": json.dumps(carried),
        "text": {"type": "plain_text", "text": render(text(MsgId.FORM_SHIPPING_OPEN))[:75]},
    }
    return {"type": "actions", "block_id": "laurel_shipping", "elements": [button]}


def card_text(card: Card, render: Renderer) -> str:
    """The plain-text fallback Slack shows in notifications."""
    parts = [render(card.title)] if card.title else []
    parts += [render(line) for s in card.sections for line in s.lines]
    return "\n".join(parts)[:MAX_TEXT]


def mention(user_id: str | None, person: Person) -> str:
    return f"<@{user_id}>" if user_id else escape(person.display_name)


def announcement_blocks(
    recognition: Recognition,
    giver: str,
    receivers: list[str],
    avatars: list[str],
    render: Renderer,
) -> list[Block]:
    """The public post: who gave how much to whom, why, and for which values."""
    headline = render(
        text(
            MsgId.ANNOUNCEMENT,
            giver=giver,
            names=Names(tuple(receivers)),
            points=points(recognition.amount),
        )
    )
    blocks: list[Block] = [section(f":clap: {headline}\n>{escape(recognition.reason)}")]
    elements: list[Block] = [
        {"type": "image", "image_url": url, "alt_text": "avatar"} for url in avatars[:9]
    ]
    if recognition.values:
        tags = " ".join(f"`#{v}`" for v in recognition.values)
        elements.append(mrkdwn(tags))
    if elements:
        blocks.append({"type": "context", "elements": elements})
    return blocks


def home_view(
    view: BalanceView,
    received: list[tuple[Recognition, str]],
    top: list[Ranked],
    render: Renderer,
) -> Block:
    """The App Home tab: balance, allowance, tier, recent kudos, a button, top of the month."""
    blocks = card_blocks(balance_card(view), render)
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": GIVE_BUTTON,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": render(text(MsgId.GIVE_BUTTON))},
                }
            ],
        }
    )
    blocks.append({"type": "divider"})
    lines = [f"*{escape(render(text(MsgId.HOME_RECENT)))}*"]
    lines += [
        escape(
            render(
                text(MsgId.KUDOS_RECEIVED, giver=giver, points=points(r.amount), reason=r.reason)
            )
        )
        for r, giver in received
    ]
    if not received:
        lines.append(escape(render(text(MsgId.HISTORY_EMPTY))))
    blocks.append(section("\n".join(lines)))
    leaders = [f"*{escape(render(text(MsgId.HOME_TOP)))}*"]
    leaders += [escape(render(line)) for line in ranking_lines(top)]
    if not top:
        leaders.append(escape(render(text(MsgId.LEADERBOARD_EMPTY))))
    blocks.append(section("\n".join(leaders)))
    return {"type": "home", "blocks": blocks}


def give_modal(
    render: Renderer,
    values: list[CompanyValue],
    default_amount: int,
    *,
    reason: str = "",
    receivers: list[str] | None = None,
    metadata: str = "",
) -> Block:
    """The "Give kudos" modal; the message shortcut pre-fills a link to the message."""

    def label(key: MsgId) -> Block:
        return {"type": "plain_text", "text": render(text(key))}

    receivers_element: Block = {
        "type": "multi_users_select",
        "action_id": RECEIVERS,
        "placeholder": label(MsgId.MODAL_RECEIVERS_HINT),
    }
    if receivers:
        receivers_element["initial_users"] = receivers
    reason_element: Block = {"type": "plain_text_input", "action_id": REASON, "multiline": True}
    if reason:
        reason_element["initial_value"] = reason
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": RECEIVERS,
            "label": label(MsgId.MODAL_RECEIVERS),
            "element": receivers_element,
        },
        {
            "type": "input",
            "block_id": AMOUNT,
            "label": label(MsgId.MODAL_AMOUNT),
            "element": {
                "type": "number_input",
                "action_id": AMOUNT,
                "is_decimal_allowed": False,
                "min_value": "1",
                "initial_value": str(default_amount),
            },
        },
        {
            "type": "input",
            "block_id": REASON,
            "label": label(MsgId.MODAL_REASON),
            "element": reason_element,
        },
    ]
    if values:
        options = [
            {"text": {"type": "plain_text", "text": f"#{v.slug}"[:75]}, "value": v.slug}
            for v in values[:100]
        ]
        blocks.append(
            {
                "type": "input",
                "block_id": VALUES,
                "optional": True,
                "label": label(MsgId.MODAL_VALUES),
                "element": {"type": "multi_static_select", "action_id": VALUES, "options": options},
            }
        )
    return {
        "type": "modal",
        "callback_id": GIVE_MODAL,
        "private_metadata": metadata[:3000],
        "title": {"type": "plain_text", "text": render(text(MsgId.MODAL_TITLE))[:24]},
        "submit": {"type": "plain_text", "text": render(text(MsgId.MODAL_SUBMIT))[:24]},
        "close": {"type": "plain_text", "text": render(text(MsgId.MODAL_CLOSE))[:24]},
        "blocks": blocks,
    }
