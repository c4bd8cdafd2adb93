"""Run a parsed chat request through the bus and answer with a card.

Shared by every text surface. The surface says who is speaking and how to find the
people a mention names; the rules themselves stay in the core.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from core.bus import MessageBus
from core.commands import (
    CancelRedemption,
    GetBalance,
    GetHistory,
    GetLeaderboard,
    GetRedemptions,
    GetShop,
    GiveKudos,
    ListValues,
    Redeem,
    SetLocale,
    SetMuted,
)
from core.errors import (
    BadAddress,
    DomainError,
    NoReceivers,
    ShippingNeeded,
    ShippingUnavailable,
    TransientStoreError,
)
from core.messages import MsgId, text
from core.people import REMINDER_KINDS, Person

from . import cards
from .cards import Card, Tone
from .grammar import (
    Approvals,
    Balance,
    Cancel,
    ChatRequest,
    Give,
    Help,
    History,
    Lang,
    Leaderboard,
    RedeemItem,
    Redemptions,
    Settings,
    Shop,
    Values,
)

log = logging.getLogger(__name__)

# A mention's raw text -> the people it names (a user group names several), or UnknownPerson.
Resolver = Callable[[str], Awaitable[list[Person]]]


# Seals a shipping address before it goes anywhere (LAUREL_SECRET_KEYS); None: no keys.
Seal = Callable[[str], str]
ADDRESS_LENGTH = range(10, 501)


class ChatCommands:
    def __init__(self, bus: MessageBus, seal: Seal | None = None) -> None:
        self._bus = bus
        self._seal = seal

    async def answer(
        self,
        actor: Person,
        request: ChatRequest,
        resolve: Resolver,
        *,
        source: str,
        idempotency_key: str | None = None,
        context: Mapping[str, str] | None = None,
    ) -> Card:
        """Never raises for a person's mistake or a store hiccup: every outcome is a card."""
        try:
            return await self._answer(
                actor, request, resolve, source, idempotency_key, context or {}
            )
        except ShippingNeeded as needed:
            if self._seal is None:
                return cards.error_card(ShippingUnavailable())
            return cards.shipping_card(needed)
        except DomainError as error:
            return cards.error_card(error)
        except TransientStoreError:
            log.warning("store busy after retries", exc_info=True)
            return cards.lines_card(text(MsgId.ERROR_BUSY), tone=Tone.ERROR)

    async def _answer(
        self,
        actor: Person,
        request: ChatRequest,
        resolve: Resolver,
        source: str,
        key: str | None,
        context: Mapping[str, str],
    ) -> Card:
        bus = self._bus
        match request:
            case Give():
                if not request.mentions:
                    raise NoReceivers()
                receivers = [p for m in request.mentions for p in await resolve(m)]
                result = await bus.handle(
                    GiveKudos(
                        giver_id=actor.id,
                        receiver_ids=tuple(p.id for p in receivers),
                        amount=request.amount,
                        reason=request.reason,
                        values=request.values,
                        source=source,
                        idempotency_key=key,
                        context=context,
                    )
                )
                return cards.kudos_card(result)
            case Balance():
                return cards.balance_card(await bus.handle(GetBalance(person_id=actor.id)))
            case History():
                return cards.history_card(await bus.handle(GetHistory(person_id=actor.id)))
            case Leaderboard(window=window, value=value):
                view = await bus.handle(GetLeaderboard(window=window, value=value))
                return cards.leaderboard_card(view)
            case Values():
                return cards.values_card(await bus.handle(ListValues()))
            case Lang(code=code):
                chosen = await bus.handle(SetLocale(person_id=actor.id, locale=code))
                changed = text(MsgId.LANG_CHANGED, language=text(MsgId.LANGUAGE_NAME))
                return Card([cards.Section([changed])], tone=Tone.OK, language=chosen)
            case Shop():
                return cards.shop_card(await bus.handle(GetShop(person_id=actor.id)))
            case RedeemItem(item=item, quantity=quantity, variant=variant):
                redeem = Redeem(
                    person_id=actor.id,
                    item=item,
                    quantity=quantity,
                    idempotency_key=key,
                    variant=variant,
                    shipping=self._sealed(request.address),
                )
                return cards.redemption_card(await bus.handle(redeem))
            case Redemptions():
                view = await bus.handle(GetRedemptions(person_id=actor.id))
                return cards.redemptions_card(view)
            case Approvals():
                view = await bus.handle(GetRedemptions(person_id=actor.id, approver=True))
                return cards.approvals_card(view)
            case Cancel(redemption_id=redemption_id):
                cancel = CancelRedemption(person_id=actor.id, redemption_id=redemption_id)
                return cards.cancelled_card(await bus.handle(cancel))
            case Settings(mute=None):
                return cards.settings_card(actor.muted, REMINDER_KINDS)
            case Settings(mute=mute, kind=kind):
                command = SetMuted(person_id=actor.id, kind=kind or "", muted=bool(mute))
                return cards.settings_card(await bus.handle(command), REMINDER_KINDS)
            case Help():
                return cards.help_card()
        raise TypeError(f"{type(request).__name__} is not a shared chat request")

    def _sealed(self, address: str | None) -> str | None:
        """The address as typed, checked and sealed: it is never stored or logged in plain."""
        if address is None or not address.strip():
            return None
        if len(address.strip()) not in ADDRESS_LENGTH:
            raise BadAddress()
        if self._seal is None:
            raise ShippingUnavailable()
        return self._seal(address.strip())
