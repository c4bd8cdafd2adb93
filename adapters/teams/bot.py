"""laurel's Teams bot: messages in the chat grammar, decision clicks, installs and welcomes.

A reply goes to the conversation it answers, as a reply to the message. In a channel or
group chat, a successful gift is announced there for everyone (by the notifier) and the
giver's own confirmation, with their allowance, goes to their personal chat.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from botbuilder.core import ActivityHandler, InvokeResponse, MessageFactory, TurnContext
from botbuilder.schema import Activity, Attachment, ChannelAccount

from adapters.chat.cards import (
    OUTCOME_DONE,
    Card,
    Section,
    ShippingForm,
    Tone,
    error_card,
    help_card,
    kudos_card,
)
from adapters.chat.commands import ChatCommands
from adapters.chat.grammar import Give, RedeemItem, parse_chat
from adapters.i18n import Renderer
from adapters.persistence.inbox import Inbox
from core.bus import MessageBus
from core.commands import Decide
from core.decisions import Decision, Outcome
from core.errors import DomainError, UnknownPerson
from core.messages import MsgId, Text, text
from core.people import Person
from core.policy import OrgConfig
from core.ports import UnitOfWorkFactory

from . import cards, giving
from .admin import TeamsAdmin, is_admin_line
from .cards import ADAPTIVE, DECIDE_VERB, Json
from .directory import TeamsDirectory, conversation_context, is_personal
from .files import CONSENT_INVOKE, TeamsFiles
from .mentions import TOKEN, tokenise
from .notifier import TeamsNotifier

log = logging.getLogger("laurel.teams")


class LaurelTeamsBot(ActivityHandler):  # type: ignore[misc]  # the SDK is untyped
    def __init__(
        self,
        *,
        bus: MessageBus,
        uow: UnitOfWorkFactory,
        directory: TeamsDirectory,
        notifier: TeamsNotifier,
        inbox: Inbox,
        default_language: str,
        chat: ChatCommands,
        admin: TeamsAdmin | None = None,
        files: TeamsFiles | None = None,
    ) -> None:
        self.bus = bus
        self.uow = uow
        self.directory = directory
        self.notifier = notifier
        self.inbox = inbox
        self.chat = chat
        self.admin = admin
        self.files = files
        self.default_language = default_language

    def renderer(self, person: Person | None, language: str | None = None) -> Renderer:
        return Renderer.for_reader(person, self.default_language, language)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        actor = await self.directory.sender(turn_context)
        await self.notifier.deliver_pending(actor)
        card, private = await self._answer(turn_context, actor)
        render = self.renderer(actor, card.language)
        body = cards.card_message(card, render)
        if private and not is_personal(turn_context.activity):
            await self.notifier.tell(actor, body)  # the channel gets the announcement
        else:
            await turn_context.send_activity(Activity().deserialize(body))

    async def _answer(self, turn: TurnContext, actor: Person) -> tuple[Card, bool]:
        """The card for the asker, and whether it is theirs alone (a gift's confirmation,
        an admin's answer)."""
        activity = turn.activity
        said = tokenise(activity)
        if self.admin is not None and is_admin_line(said.text):
            return (await self.admin.answer(turn, actor, said)).card, True  # the admin's alone
        try:
            request = parse_chat(said.text, TOKEN)
        except DomainError as error:
            return error_card(error), False
        if isinstance(request, Give):
            request = replace(request, reason=said.plain(request.reason))

        async def resolve(token: str) -> list[Person]:
            account = said.account(token)
            if account is None:
                raise UnknownPerson(token)
            return [await self.directory.mentioned(turn, account)]

        context = conversation_context(activity, reply_to=activity.id or "")
        card = await self.chat.answer(
            actor,
            request,
            resolve,
            source="teams",
            idempotency_key=f"teams:activity:{activity.id}" if activity.id else None,
            context=context,
        )
        return card, isinstance(request, Give) and card.tone == Tone.OK

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        """Installed for a person: their personal chat is known now, and what waited is sent."""
        if is_personal(turn_context.activity):
            actor = await self.directory.sender(turn_context)
            await self.notifier.deliver_pending(actor)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        activity = turn_context.activity
        if not any(m.id == activity.recipient.id for m in members_added):
            return
        if activity.id and not await self.inbox.claim("teams", f"welcome:{activity.id}"):
            return  # a retried delivery of the same install
        actor = None
        if is_personal(activity) and activity.from_property and activity.from_property.id:
            actor = await self.directory.sender(turn_context)
            await self.notifier.deliver_pending(actor)
        render = self.renderer(actor)
        card = welcome_card()
        body = cards.card_message(card, render)
        await turn_context.send_activity(Activity().deserialize(body))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        command = value.get("commandId")
        if activity.name.startswith("composeExtension/") and command != giving.COMMAND:
            return InvokeResponse(status=200, body=giving.closing("unknown command"))
        if activity.name == "composeExtension/fetchTask":
            return InvokeResponse(status=200, body=await self._open_dialog(turn_context))
        if activity.name == "composeExtension/submitAction":
            return InvokeResponse(status=200, body=await self._submit_dialog(turn_context))
        if activity.name == CONSENT_INVOKE and self.files is not None:
            actor = await self.directory.sender(turn_context)
            await self.files.consent(turn_context, actor, value)
            return InvokeResponse(status=200, body={})  # Teams shows nothing of it
        if activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)
        action = (activity.value or {}).get("action") or {}
        data = action.get("data") or {}
        if action.get("verb") == cards.REDEEM_VERB and isinstance(data.get("slug"), str):
            return InvokeResponse(status=200, body=await self._redeem(turn_context, data))
        if action.get("verb") != DECIDE_VERB or not isinstance(data.get("key"), str):
            return InvokeResponse(status=200, body=_error(400, "unknown action"))
        try:
            outcome = Outcome(str(data.get("outcome")))
        except ValueError:
            return InvokeResponse(status=200, body=_error(400, "unknown outcome"))
        lines = [str(line) for line in data.get("lines") or []]
        return InvokeResponse(
            status=200,
            body=await self._decide(
                turn_context,
                data["key"],
                outcome,
                lines,
                _note(data) if outcome is Outcome.DECLINE else "",
            ),
        )

    async def _decide(
        self, turn: TurnContext, key: str, outcome: Outcome, lines: list[str], note: str
    ) -> Json:
        """The first click decides; every click gets the decided card, drawn in place."""
        actor = await self.directory.sender(turn)
        render = self.renderer(actor)
        try:
            decide = Decide(key=key, outcome=outcome, person_id=actor.id, note=note)
            result = await self.bus.handle(decide)
        except DomainError as refused:
            return {
                "statusCode": 200,
                "type": "application/vnd.microsoft.activity.message",
                "value": render(refused.text()),
            }
        decided = result.decision
        card = cards.decided_card(lines, await self._verdict(decided), render)
        reply_to = turn.activity.reply_to_id
        if result.first and reply_to:  # everyone else who sees the card sees the decision
            try:
                update = MessageFactory.attachment(Attachment(content_type=ADAPTIVE, content=card))
                update.id = reply_to
                await turn.update_activity(update)
            except Exception:  # the decision stands; only the shared card is stale
                log.exception("could not update the decided card %s", decided.key)
        return {"statusCode": 200, "type": ADAPTIVE, "value": card}

    async def _redeem(self, turn: TurnContext, data: dict[str, Any]) -> Json:
        """The shipping form's submit: redeem, and redraw the card as the outcome (or as
        the form again, with what went wrong above it)."""
        actor = await self.directory.sender(turn)
        form = ShippingForm(
            slug=data["slug"],
            item=str(data.get("item") or data["slug"]),
            variants=tuple(str(v) for v in data.get("variants") or ()),
            variant=_text(data, cards.VARIANT) or None,
            quantity=_quantity(data),
        )
        request = RedeemItem(form.slug, form.quantity, form.variant, _text(data, cards.ADDRESS))

        async def nobody(_: str) -> list[Person]:
            return []

        key = f"teams:invoke:{turn.activity.id}" if turn.activity.id else None
        card = await self.chat.answer(actor, request, nobody, source="teams", idempotency_key=key)
        if card.tone is Tone.ERROR and cards.ADDRESS in data:  # the form again, to mend
            card = replace(card, form=form)
        render = self.renderer(actor, card.language)
        return {"statusCode": 200, "type": ADAPTIVE, "value": cards.render_card(card, render)}

    async def _config(self) -> OrgConfig:
        async with self.uow(readonly=True) as uow:
            return await uow.config.load()

    async def _open_dialog(self, turn: TurnContext) -> Json:
        """ "Give kudos" on a message: the dialog, with its author as the receiver."""
        actor = await self.directory.sender(turn)
        render = self.renderer(actor)
        draft = giving.draft_from_payload((turn.activity.value or {}).get("messagePayload") or {})
        if draft is None:
            return giving.closing(render(text(MsgId.ERROR_BOT_RECEIVER)))
        return giving.dialog(draft, await self._config(), render)

    async def _submit_dialog(self, turn: TurnContext) -> Json:
        actor = await self.directory.sender(turn)
        render = self.renderer(actor)
        draft = giving.draft_from_submission((turn.activity.value or {}).get("data") or {})
        try:
            receiver = await self.directory.mentioned(turn, draft.receiver)
            result = await self.bus.handle(giving.give(actor, receiver, draft, turn))
        except DomainError as error:
            return giving.dialog(draft, await self._config(), render, problem=error.text())
        card = kudos_card(result)
        return giving.closing("\n".join(render(line) for s in card.sections for line in s.lines))

    async def _verdict(self, decision: Decision) -> Text:
        async with self.uow(readonly=True) as uow:
            person = await uow.people.get(decision.decided_by or 0)
        assert decision.outcome is not None
        name = person.display_name if person else "?"
        return text(OUTCOME_DONE[decision.outcome], name=name, when=decision.decided_at)


def welcome_card() -> Card:
    intro = text(MsgId.WELCOME, example="@laurel kudos @name +5 …", help="@laurel help")
    listed = help_card()
    return Card([Section([intro]), Section(listed.sections[0].lines, heading=listed.title)])


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    return value.strip() if isinstance(value, str) else ""


def _quantity(data: dict[str, Any]) -> int:
    try:
        return int(data.get("quantity") or 1)
    except (TypeError, ValueError):
        return 1


def _note(data: dict[str, Any]) -> str:
    """The decline reason typed on the card, if any (kept short)."""
    note = data.get(cards.NOTE)
    return note.strip()[:300] if isinstance(note, str) else ""


def _error(status: int, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "type": "application/vnd.microsoft.error",
        "value": {"code": "BadRequest", "message": message},
    }
