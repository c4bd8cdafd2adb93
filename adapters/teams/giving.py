"""The "Give kudos" message action: Teams' counterpart of Slack's message shortcut and modal.

From a message's "…" menu, Teams asks laurel for a dialog (`composeExtension/fetchTask`):
an Adaptive Card with the author as receiver and a link to the message as the start of
the reason. Its submission (`composeExtension/submitAction`) gives through the core; a
broken rule comes back in the same dialog, above the fields, with what was typed kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botbuilder.core import TurnContext

from adapters.i18n import Renderer
from core.commands import GiveKudos
from core.messages import MsgId, Text, text
from core.people import Person
from core.policy import OrgConfig

from .cards import Json, adaptive, block
from .directory import conversation_context
from .mentions import Mentioned

COMMAND = "giveKudos"  # the manifest's composeExtensions command id
AMOUNT, REASON, VALUES = "amount", "reason", "values"


@dataclass(frozen=True)
class Draft:
    """What the dialog shows: the receiver and what was typed so far."""

    receiver: Mentioned
    message_id: str
    amount: str
    reason: str
    values: list[str]


def draft_from_payload(payload: dict[str, Any]) -> Draft | None:
    """The message the action was started on: its author receives, its link opens the reason."""
    user = ((payload.get("from") or {}).get("user")) or {}
    if not user.get("id"):
        return None  # a message from a bot or an app has no user to thank
    receiver = Mentioned(user["id"], user.get("displayName") or "", user.get("aadObjectId"))
    link = payload.get("linkToMessage") or ""
    return Draft(receiver, payload.get("id") or "", "", f"{link} " if link else "", [])


def dialog(draft: Draft, config: OrgConfig, render: Renderer, problem: Text | None = None) -> Json:
    """The task-module answer holding the form."""

    def label(key: MsgId) -> str:
        return render(text(key))

    body: list[Json] = [
        block(
            f"{label(MsgId.MODAL_TITLE)}: {draft.receiver.name}", style="heading", weight="Bolder"
        )
    ]
    if problem is not None:
        body.append(block(render(problem), color="Attention"))
    body += [
        {
            "type": "Input.Number",
            "id": AMOUNT,
            "label": label(MsgId.MODAL_AMOUNT),
            "min": 1,
            "value": _number(draft.amount, config.policy.default_amount),
        },
        {
            "type": "Input.Text",
            "id": REASON,
            "label": label(MsgId.MODAL_REASON),
            "isMultiline": True,
            "maxLength": 1000,
            "value": draft.reason,
        },
    ]
    active = [v for v in config.values if v.active]
    if active:
        body.append(
            {
                "type": "Input.ChoiceSet",
                "id": VALUES,
                "label": label(MsgId.MODAL_VALUES),
                "isMultiSelect": True,
                "choices": [{"title": f"#{v.slug}", "value": v.slug} for v in active[:100]],
                "value": ",".join(draft.values),
            }
        )
    data = {
        "receiver": draft.receiver.member_id,
        "receiver_name": draft.receiver.name,
        "receiver_aad": draft.receiver.aad_object_id,
        "message": draft.message_id,
    }
    submit = {"type": "Action.Submit", "title": label(MsgId.MODAL_SUBMIT), "data": data}
    card = adaptive(body, render, [submit])
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": label(MsgId.MODAL_TITLE),
                "width": "medium",
                "height": "medium",
                "card": {"contentType": "application/vnd.microsoft.card.adaptive", "content": card},
            },
        }
    }


def draft_from_submission(data: dict[str, Any]) -> Draft:
    receiver = Mentioned(
        str(data.get("receiver") or ""),
        str(data.get("receiver_name") or ""),
        data.get("receiver_aad"),
    )
    values = [v for v in str(data.get(VALUES) or "").split(",") if v]
    return Draft(
        receiver,
        str(data.get("message") or ""),
        str(data.get(AMOUNT) or ""),
        str(data.get(REASON) or ""),
        values,
    )


def give(actor: Person, receiver: Person, draft: Draft, turn: TurnContext) -> GiveKudos:
    activity = turn.activity
    return GiveKudos(
        giver_id=actor.id,
        receiver_ids=(receiver.id,),
        amount=_amount(draft.amount),
        reason=draft.reason,
        values=tuple(draft.values),
        source="teams",
        idempotency_key=f"teams:activity:{activity.id}" if activity.id else None,
        context=conversation_context(activity, reply_to=draft.message_id),
    )


def closing(message: str) -> Json:
    """Close the dialog with a short message to the giver (only they see it)."""
    return {"task": {"type": "message", "value": message}}


def _amount(raw: str) -> int | None:
    if not raw.strip():
        return None
    try:
        return int(float(raw))
    except (ValueError, OverflowError):
        return 0  # the core refuses it with the amount-range message


def _number(raw: str, default: int) -> int:
    try:
        return int(float(raw)) if raw.strip() else default
    except (ValueError, OverflowError):
        return default
