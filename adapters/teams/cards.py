"""Adaptive Cards (schema 1.5) for laurel's replies, announcements and decisions in Teams.

Colours are the host's semantic ones (Good, Attention, Accent, emphasis containers), so
a card reads well in Teams' light, dark and high-contrast themes alike.
"""

from __future__ import annotations

from typing import Any

from adapters.chat.cards import OUTCOME_LABEL, Card, Offer, ShippingForm, Tone
from adapters.chat.images import Chart
from adapters.i18n import Renderer
from core.decisions import Decision, Outcome
from core.messages import MsgId, Names, Text, points, text
from core.recognition import Recognition

Json = dict[str, Any]
ADAPTIVE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
DECIDE_VERB = "laurel_decide"
REDEEM_VERB = "laurel_redeem"  # the shipping form's submit
ADDRESS, VARIANT = "address", "variant"  # its inputs
NOTE = "note"  # the decline reason's input
_TONE_COLOR = {Tone.OK: "Good", Tone.ERROR: "Attention", Tone.INFO: "Default"}
_STYLE = {
    Outcome.APPROVE: "positive",
    Outcome.CONFIRM: "positive",
    Outcome.DECLINE: "destructive",
}


def adaptive(body: list[Json], render: Renderer, actions: list[Json] | None = None) -> Json:
    card: Json = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.5", "body": body}
    if actions:
        card["actions"] = actions
    if render.rtl:
        card["rtl"] = True
    return card


def attachment(card: Json) -> Json:
    return {"contentType": ADAPTIVE, "content": card}


def message(card: Json, summary: str) -> Json:
    """An activity body: the card, and a plain summary for notifications and screen readers."""
    return {"type": "message", "summary": summary[:200], "attachments": [attachment(card)]}


def block(value: str, **style: Any) -> Json:
    return {"type": "TextBlock", "text": value, "wrap": True, **style}


def card_body(card: Card, render: Renderer) -> list[Json]:
    body: list[Json] = []
    color = _TONE_COLOR[card.tone]
    if card.title is not None:
        title = f"{card.badge} {render(card.title)}".strip()
        body.append(block(title, style="heading", size="Medium", weight="Bolder", color=color))
    if card.progress is not None:
        body.append(progress_bar(card.progress))
    for i, section in enumerate(card.sections):
        items: list[Json] = []
        if section.heading is not None:
            items.append(block(render(section.heading), weight="Bolder"))
        for line in section.lines:
            untitled = card.title is None and not items
            items.append(block(render(line), color=color) if untitled else block(render(line)))
        body.append({"type": "Container", "items": items, "separator": i > 0})
    return body


def progress_bar(share: float) -> Json:
    """Two columns whose widths are the shares done and to go: a bar in any theme."""
    done = max(1, round(share * 100))
    columns = [(done, "good")] + ([(100 - done, "emphasis")] if done < 100 else [])
    return {
        "type": "ColumnSet",
        "spacing": "Small",
        "columns": [
            {"type": "Column", "width": weight, "style": style, "minHeight": "8px", "items": []}
            for weight, style in columns
        ],
    }


def render_card(card: Card, render: Renderer) -> Json:
    image = [picture(card.image, render)] if card.image is not None else []
    if card.decision is not None:
        return decision_card(card_lines(card, render), card.decision, render, image)
    if card.form is not None:
        inputs, submit = shipping_form(card.form, render)
        return adaptive([*card_body(card, render), *image, *inputs], render, [submit])
    offers = [_offer(offer, render) for offer in card.offers]
    return adaptive([*card_body(card, render), *image], render, offers)


def card_lines(card: Card, render: Renderer) -> list[str]:
    """The title and every line, rendered: what a decision card shows and carries."""
    title = [f"{card.badge} {render(card.title)}".strip()] if card.title is not None else []
    return title + [render(line) for section in card.sections for line in section.lines]


def picture(chart: Chart, render: Renderer) -> Json:
    """A chart inline, as a data URI (the card needs no URL laurel would have to serve)."""
    return {"type": "Image", "url": chart.data_uri(), "altText": render(chart.alt)}


def _offer(offer: Offer, render: Renderer) -> Json:
    """A shop's Redeem button: the shipping form's verb, without an address yet (an item
    that ships answers with the form)."""
    return {
        "type": "Action.Execute",
        "title": render(offer.label),
        "verb": REDEEM_VERB,
        "data": {"slug": offer.slug, "quantity": 1},
    }


def shipping_form(form: ShippingForm, render: Renderer) -> tuple[list[Json], Json]:
    """A size to pick (if the item has sizes) and the address; Action.Execute sends them
    back with the item, as the same redeem request as typing it."""
    inputs: list[Json] = []
    if form.variants:
        choice: Json = {
            "type": "Input.ChoiceSet",
            "id": VARIANT,
            "label": render(text(MsgId.FORM_VARIANT)),
            "isRequired": True,
            "errorMessage": render(text(MsgId.FORM_VARIANT)),
            "choices": [{"title": v, "value": v} for v in form.variants],
        }
        if form.variant:
            choice["value"] = form.variant
        inputs.append(choice)
    inputs.append(
        {
            "type": "Input.Text",
            "id": ADDRESS,
            "label": render(text(MsgId.FORM_ADDRESS)),
            "placeholder": render(text(MsgId.FORM_ADDRESS_HINT)),
            "isMultiline": True,
            "isRequired": True,
            "maxLength": 500,
            "errorMessage": render(text(MsgId.FORM_ADDRESS_HINT)),
        }
    )
    submit = {
        "type": "Action.Execute",
        "title": render(text(MsgId.FORM_SUBMIT)),
        "verb": REDEEM_VERB,
        "style": "positive",
        "data": {
            "slug": form.slug,
            "item": form.item,
            "quantity": form.quantity,
            "variants": list(form.variants),
        },
    }
    return inputs, submit


def card_message(card: Card, render: Renderer) -> Json:
    return message(render_card(card, render), summary(card, render))


def summary(card: Card, render: Renderer) -> str:
    first = card.title or next((line for s in card.sections for line in s.lines), None)
    return render(first) if first is not None else ""


def announcement(
    r: Recognition, giver: str, receivers: list[str], render: Renderer
) -> tuple[Json, str]:
    """The public card: who thanked whom, how much, why, and for which values."""
    headline = render(
        text(
            MsgId.ANNOUNCEMENT, giver=giver, names=Names(tuple(receivers)), points=points(r.amount)
        )
    )
    body: list[Json] = [
        block(f"👏 {headline}", size="Medium", weight="Bolder"),
        {
            "type": "Container",
            "style": "emphasis",
            "items": [block(f"“{r.reason}”", isSubtle=False)],
        },
    ]
    if r.values:
        body.append(block("  ".join(f"#{v}" for v in r.values), color="Accent", weight="Bolder"))
    return adaptive(body, render), headline


def decision_card(
    lines: list[str], decision: Decision, render: Renderer, extra: list[Json] | None = None
) -> Json:
    """A card asking for a decision: its buttons carry the decision's key (Universal Actions).

    The lines travel in the action data so that the decided card can be redrawn in place;
    `extra` elements (a chart) follow them; an optional reason field goes with a Decline
    (Action.Execute sends the card's inputs).
    """
    body = [block(line) for line in lines] + (extra or [])
    if Outcome.DECLINE in decision.options:
        label = render(text(MsgId.DECLINE_NOTE))
        body.append({"type": "Input.Text", "id": NOTE, "label": label, "maxLength": 300})
    actions = []
    for outcome in decision.options:
        action: Json = {
            "type": "Action.Execute",
            "title": render(text(OUTCOME_LABEL[outcome])),
            "verb": DECIDE_VERB,
            "data": {"key": decision.key, "outcome": outcome.value, "lines": lines},
        }
        if outcome in _STYLE:
            action["style"] = _STYLE[outcome]
        actions.append(action)
    return adaptive(body, render, actions)


def decided_card(lines: list[str], verdict: Text, render: Renderer) -> Json:
    """The same card once decided: no buttons, and who decided when."""
    body = [block(line) for line in lines]
    body.append(block(render(verdict), isSubtle=True, separator=True, size="Small"))
    return adaptive(body, render)


def notice(message: Text, render: Renderer, tone: Tone = Tone.INFO) -> Json:
    return adaptive([block(render(message), color=_TONE_COLOR[tone])], render)
