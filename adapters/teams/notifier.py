"""Outbound Teams messages after a commit: DMs to receivers, the channel announcement, tiers.

A person is reached in their personal chat with laurel: the one Teams told us about, or a
new one opened through the connector. When Teams refuses (the app is not installed for
them yet) or is unreachable after retries, the message waits in the outbox and is
delivered on their first contact; after an outage (429, 5xx, no connection) it is also
tried again on a schedule (`redeliver`). A channel announcement that fails during an
outage is tried again the same way. Gift-card codes and shipping addresses never wait in
the outbox (it is plain text).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from msrest.exceptions import ClientRequestError, HttpOperationError

from adapters.chat.background import Background
from adapters.chat.cards import (
    Card,
    always,
    approval_request_card,
    celebration_card,
    codes_card,
    expiring_card,
    lines_card,
    low_pool_card,
    received_text,
    redemption_outcome_card,
    reminder_card,
)
from adapters.chat.fulfilment import fulfilments
from adapters.chat.routing import Routing, platforms_in, platforms_used
from adapters.chat.undelivered import ERROR, GAVE_UP, UNREACHABLE, Undelivered, ignore
from adapters.i18n import Renderer
from adapters.persistence.gift_cards import GiftCardVault
from adapters.persistence.outbox import Outbox, Pending, Verdict
from core.events import (
    AllowanceReminder,
    Celebrated,
    Event,
    GiftCardsLow,
    KudosGiven,
    PointsExpiring,
    RedemptionApproved,
    RedemptionDeclined,
    RedemptionRequested,
    TierReached,
)
from core.messages import MsgId, Text, text
from core.people import Person, Role
from core.ports import UnitOfWorkFactory
from core.recognition import Recognition
from core.rewards import Redemption, RedemptionStatus

from . import cards
from .delivery import Json, Sender, transient
from .directory import PLATFORM, log
from .members import MemberStore, TeamsMember

FAILURES = (HttpOperationError, ClientRequestError, OSError, TimeoutError)


class TeamsNotifier:
    # What it delivers: the adapter subscribes it to these, and `__call__` handles each.
    EVENTS: tuple[type[Event], ...] = (
        KudosGiven,
        TierReached,
        AllowanceReminder,
        Celebrated,
        RedemptionRequested,
        RedemptionApproved,
        RedemptionDeclined,
        PointsExpiring,
        GiftCardsLow,
    )

    def __init__(
        self,
        *,
        sender: Sender,
        uow: UnitOfWorkFactory,
        members: MemberStore,
        outbox: Outbox,
        default_language: str,
        routing: Routing,
        vault: GiftCardVault | None = None,
        undelivered: Undelivered = ignore,
    ) -> None:
        self._routing = routing
        self._undelivered = undelivered  # told of every message that is not delivered
        self._vault = vault
        self._sender = sender
        self._uow = uow
        self._members = members
        self._outbox = outbox
        self._language = default_language
        self._background = Background()
        self._personal: dict[int, asyncio.Lock] = {}  # one chat opened per person at a time

    async def __call__(self, event: Event) -> None:
        if isinstance(event, KudosGiven):
            self._background.spawn(self._kudos(event.recognition))
        elif isinstance(event, TierReached):
            self._background.spawn(self._tier(event))
        elif isinstance(event, AllowanceReminder):
            card = reminder_card(event.left, event.ends_on)
            self._background.spawn(self._card(event.person_id, lambda _: card))
        elif isinstance(event, GiftCardsLow):
            self._background.spawn(
                self._tell_role(Role.HR_ADMIN, low_pool_card(event.item, event.left))
            )
        elif isinstance(event, PointsExpiring):
            card = expiring_card(event.points, event.on)
            self._background.spawn(self._card(event.person_id, lambda _: card))
        elif isinstance(event, RedemptionRequested):
            self._background.spawn(self._ask(event.redemption, event.decision_key))
        elif isinstance(event, RedemptionApproved | RedemptionDeclined):
            self._background.spawn(self._outcome(event.redemption))
        elif isinstance(event, Celebrated):
            self._background.spawn(
                self._card(
                    event.person_id,
                    lambda p: celebration_card(p, event.kind, event.years, event.points),
                )
            )

    async def drain(self) -> None:
        """Wait for deliveries in flight (at shutdown, and in tests)."""
        await self._background.drain()

    def renderer(self, person: Person | None) -> Renderer:
        return Renderer.for_reader(person, self._language)

    async def _kudos(self, r: Recognition) -> None:
        ids = [r.giver_id, *r.receiver_ids]
        async with self._uow(readonly=True) as uow:
            people = await uow.people.get_many(ids)
            found = await uow.people.identities_of(r.receiver_ids)
        used = {i: platforms_in(found.get(i, ())) for i in r.receiver_ids}
        giver = people[r.giver_id]
        for person_id in r.receiver_ids:
            if not self._routing.delivers(PLATFORM, used[person_id], r.source):
                continue  # they hear it where they use laurel (Slack)
            receiver = people[person_id]
            render = self.renderer(receiver)
            card = lines_card(received_text(giver, r))
            await self.tell(receiver, cards.card_message(card, render))
        where = r.context
        if r.source == PLATFORM and where.get("conversation_type", "personal") != "personal":
            await self._announce(r, people)

    async def _announce(self, r: Recognition, people: dict[int, Person]) -> None:
        where = r.context
        render = self.renderer(None)
        card, headline = cards.announcement(
            r,
            people[r.giver_id].display_name,
            [people[i].display_name for i in r.receiver_ids],
            render,
        )
        body = cards.message(card, headline)
        target = {
            "service_url": where["service_url"],
            "conversation": where["conversation"],
            "reply_to": where.get("activity"),
        }
        try:
            await self._send(target, body)
        except FAILURES as error:
            retried = transient(error)
            if retried:  # an outage: tried again later; a refusal (the bot left) is final
                await self._outbox.retry(body, target=target)
            log.error(
                "announcement of recognition %s failed (retried later: %s): %s",
                r.id,
                retried,
                error,
            )
            self._undelivered(ERROR)

    async def _send(self, target: Json, body: Json) -> None:
        await self._sender.send(
            target["service_url"], target["conversation"], body, reply_to=target.get("reply_to")
        )

    async def _tier(self, event: TierReached) -> None:
        message = text(MsgId.TIER_REACHED, tier=event.tier, badge=event.badge)

        def card(person: Person) -> Card:
            named = Text(message.key, {**message.params, "name": person.display_name})
            return lines_card(named)

        await self._card(event.person_id, card)

    async def _card(
        self, person_id: int, card: Callable[[Person], Card], *, queue: bool = True
    ) -> bool:
        """A card in the person's personal chat, if Teams is where they hear from laurel;
        True once sent."""
        async with self._uow(readonly=True) as uow:
            person = await uow.people.get(person_id)
            used = await platforms_used(uow, person_id)
        if person is None or not self._routing.delivers(PLATFORM, used):
            return False
        body = cards.card_message(card(person), self.renderer(person))
        return await self.tell(person, body, queue=queue)

    async def _tell_role(self, role: Role, card: Card) -> None:
        async with self._uow(readonly=True) as uow:
            ids = await uow.people.with_role(role)
        for person_id in ids:
            await self._card(person_id, lambda _: card)

    async def _ask(self, r: Redemption, key: str) -> None:
        """The approver's card: the request, with Approve / Decline (Action.Execute)."""
        async with self._uow(readonly=True) as uow:
            requester = await uow.people.get(r.person_id)
            approver = await uow.people.get(r.approver_id or 0)
            item = await uow.catalog.get(r.item_slug)
            decision = await uow.decisions.get(key)
            used = await platforms_used(uow, approver.id) if approver else set()
        if None in (requester, approver, item, decision) or not self._routing.delivers(
            PLATFORM, used
        ):
            return
        assert requester and approver and item and decision
        render = self.renderer(approver)
        card = approval_request_card(requester.display_name, item.name, r)
        lines = [render(line) for section in card.sections for line in section.lines]
        body = cards.message(cards.decision_card(lines, decision, render), lines[0])
        await self.tell(approver, body)

    async def _outcome(self, r: Redemption) -> None:
        """As in Slack: the decision, then a gift card's codes once. Codes are never queued
        in the outbox (it is plain text): undelivered, they stay sealed in their table."""
        if r.status is RedemptionStatus.CANCELLED:
            return
        async with self._uow(readonly=True) as uow:
            item = await uow.catalog.get(r.item_slug)
        name = item.name if item else r.item_slug
        if r.approver_id is not None:
            await self._card(r.person_id, lambda _: redemption_outcome_card(r, name))
        for task in await fulfilments(self._uow, self._vault, r, item) if item else []:
            await self._card(task.person_id, always(task.card), queue=not task.private)
        if r.status is RedemptionStatus.APPROVED and self._vault is not None:
            codes = await self._vault.open_issued(r.key)
            sent = codes and await self._card(
                r.person_id, lambda _: codes_card(name, codes), queue=False
            )
            if sent:
                await self._vault.delivered(r.key)

    async def tell(self, person: Person, body: Json, *, queue: bool = True) -> bool:
        """Deliver to the person's personal chat (True), or queue it for their first
        contact (False; with `queue=False` it is only logged)."""
        try:
            await self._to_person(person.id, body)
        except (*FAILURES, LookupError) as error:
            log.info("message to person %s not delivered (queued: %s): %s", person.id, queue, error)
            self._undelivered(_reason(error))
            if queue and transient(error):  # an outage: tried again later, and on contact
                await self._outbox.retry(body, person_id=person.id)
            elif queue:
                await self._outbox.put(person.id, body)
            return False
        return True

    async def _to_person(self, person_id: int, body: Json) -> None:
        member = await self._members.of_person(person_id)
        if member is None:
            raise LookupError("no Teams account seen yet")
        conversation = member.conversation_id or await self._open(member)
        await self._sender.send(member.service_url, conversation, body)

    async def _open(self, member: TeamsMember) -> str:
        async with self._personal.setdefault(member.person_id, asyncio.Lock()):
            known = await self._members.of_person(member.person_id)
            if known and known.conversation_id:
                return known.conversation_id
            conversation = await self._sender.open_personal(member)
            await self._members.remember(replace(member, conversation_id=conversation))
            return conversation

    async def deliver_pending(self, person: Person) -> None:
        """First contact: what waited for the person goes out, oldest first."""
        pending = await self._outbox.pending(person.id)
        if not pending:
            return
        member = await self._members.of_person(person.id)
        if member is None or member.conversation_id is None:
            return
        for message in pending:
            if not await self._outbox.claim(message.id):
                continue  # another replica is delivering it
            try:
                await self._sender.send(member.service_url, member.conversation_id, message.body)
            except FAILURES as error:
                log.warning("queued message %s still undeliverable: %s", message.id, error)
                await self._outbox.release(message.id)
                return

    async def redeliver(self) -> int:
        """One pass over the outbox's due messages (each replica runs it periodically);
        how many were given up on. A person's message tried for a day goes on waiting for
        their next contact; a channel's is dropped."""
        given_up = await self._outbox.redeliver(self._resend, contact=True)
        for message in given_up:
            log.error("gave up on Teams message %s to %s after retries", message.id, message.target)
            self._undelivered(GAVE_UP)
        return len(given_up)

    async def _resend(self, message: Pending) -> Verdict:
        try:
            if message.target is not None:
                await self._send(message.target, message.body)
            else:
                await self._to_person(message.person_id or 0, message.body)
        except (*FAILURES, LookupError) as error:
            log.warning("queued Teams message %s failed again: %s", message.id, error)
            if transient(error):
                return Verdict.LATER
            return Verdict.WAIT if message.target is None else Verdict.NEVER
        return Verdict.SENT


def _reason(error: BaseException) -> str:
    """Unreachable: laurel has not met the person in Teams, or Teams will not let the bot
    talk to them (the app is not installed for them: 403, 404). Anything else is an error:
    a refusal of laurel's credentials, or an outage that outlasted the retries."""
    if isinstance(error, LookupError):
        return UNREACHABLE
    if isinstance(error, HttpOperationError):
        status = getattr(error.response, "status_code", 0) or 0
        if status in (403, 404):
            return UNREACHABLE
    return ERROR
