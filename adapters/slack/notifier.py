"""Outbound Slack messages after a commit: DMs to receivers, the public announcement, tiers.

Delivery runs in background tasks so that a command's answer (and Slack's 3-second ack)
never waits on other people's messages. The Web API client retries 429 and 5xx; what
still fails is logged with the person and the reason, and, when the failure may pass (an
outage, not `channel_not_found`), kept in the outbox and tried again later (`redeliver`).
Gift-card codes and shipping addresses are never kept there: the outbox is plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from adapters.chat.background import Background
from adapters.chat.cards import (
    Card,
    Tone,
    always,
    approval_request_card,
    celebration_card,
    codes_card,
    digest_card,
    expiring_card,
    lines_card,
    low_pool_card,
    received_text,
    redemption_outcome_card,
    reminder_card,
)
from adapters.chat.fulfilment import fulfilments
from adapters.chat.routing import Routing, platforms_in
from adapters.chat.undelivered import ERROR, GAVE_UP, UNREACHABLE, Undelivered, ignore
from adapters.i18n import Renderer
from adapters.persistence.gift_cards import GiftCardVault
from adapters.persistence.outbox import Outbox, Pending, Verdict
from core.events import (
    AllowanceReminder,
    Celebrated,
    DigestReady,
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
from core.people import Identity, Person, Role
from core.recognition import Recognition
from core.rewards import Redemption, RedemptionStatus

from . import blocks
from .blocks import Block, decision_actions
from .context import SlackContext, log
from .directory import PLATFORM

Actions = Callable[[Renderer], Block]  # buttons under a DM
DELIVERIES = 16  # at once; Slack's rate limits are per workspace, and reads share the pool
FAILURES = (TimeoutError, SlackApiError, OSError)
# Web API errors that may pass on their own; any other one (channel_not_found,
# not_in_channel, user_not_found, is_archived, invalid_auth …) will fail every time.
PASSING = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
Message = dict[str, Any]  # chat.postMessage's text and blocks


class SlackNotifier:
    # What it delivers: the adapter subscribes it to these, and `__call__` handles each.
    EVENTS: tuple[type[Event], ...] = (
        KudosGiven,
        TierReached,
        AllowanceReminder,
        Celebrated,
        DigestReady,
        RedemptionRequested,
        RedemptionApproved,
        RedemptionDeclined,
        GiftCardsLow,
        PointsExpiring,
    )

    def __init__(
        self,
        ctx: SlackContext,
        routing: Routing,
        vault: GiftCardVault | None = None,
        undelivered: Undelivered = ignore,
        outbox: Outbox | None = None,
    ) -> None:
        self._ctx = ctx
        self._routing = routing
        self._vault = vault
        self._undelivered = undelivered  # told of every message that is not delivered
        self.outbox = outbox  # where failed messages wait for their retry (none: lost)
        self._background = Background(limit=DELIVERIES)
        self._dm_channels: dict[tuple[str, str], str] = {}

    async def __call__(self, event: Event) -> None:
        if isinstance(event, KudosGiven):
            self._background.spawn(self._kudos(event.recognition))
        elif isinstance(event, TierReached):
            self._background.spawn(self._tier(event))
        elif isinstance(event, AllowanceReminder):
            card = reminder_card(event.left, event.ends_on)
            self._background.spawn(self._tell(event.person_id, lambda _: card))
        elif isinstance(event, Celebrated):
            self._background.spawn(self._celebrate(event))
        elif isinstance(event, DigestReady):
            self._background.spawn(self._digest(event))
        elif isinstance(event, RedemptionRequested):
            self._background.spawn(self._ask(event.redemption, event.decision_key))
        elif isinstance(event, RedemptionApproved | RedemptionDeclined):
            self._background.spawn(self._outcome(event.redemption))
        elif isinstance(event, PointsExpiring):
            card = expiring_card(event.points, event.on)
            self._background.spawn(self._tell(event.person_id, lambda _: card))
        elif isinstance(event, GiftCardsLow):
            card = low_pool_card(event.item, event.left)
            self._background.spawn(self._tell_role(Role.HR_ADMIN, card))

    async def drain(self) -> None:
        """Wait for deliveries in flight (at shutdown, and in tests)."""
        await self._background.drain()

    async def _kudos(self, r: Recognition) -> None:
        ids = [r.giver_id, *r.receiver_ids]
        async with self._ctx.uow(readonly=True) as uow:  # one read for the whole delivery
            people = await uow.people.get_many(ids)
            chat = (await uow.config.load()).chat
            found = await uow.people.identities_of(ids)  # every platform's, in one read
        known = {i: [x for x in found.get(i, ()) if x.platform == PLATFORM] for i in ids}
        used = {i: platforms_in(found.get(i, ())) for i in r.receiver_ids}
        slack_ids = {i: await self._slack_id(people[i], known[i]) for i in ids}
        giver = people[r.giver_id]
        for person_id in r.receiver_ids:
            if not self._routing.delivers(PLATFORM, used[person_id], r.source):
                continue  # they hear it where they use laurel (Teams)
            receiver = people[person_id]
            card = lines_card(received_text(giver, r))
            await self._dm(receiver, slack_ids[person_id], card)
        channel = chat.recognition_channel or (
            r.context.get("channel") if r.source == "slack" else None
        )
        if channel and not channel.startswith("D"):  # a DM between two people stays private
            await self._announce(channel, r, people, slack_ids)

    async def _slack_id(self, person: Person, known: list[Identity]) -> tuple[str, str] | None:
        try:
            return await self._ctx.directory.user_id(person, known)
        except (TimeoutError, SlackApiError, OSError) as error:
            log.error("Slack lookup of person %s failed: %s", person.id, _reason(error))
            return None

    async def _tell(
        self,
        person_id: int,
        card: Callable[[Person], Card],
        actions: Actions | None = None,
        *,
        queue: bool = True,
    ) -> bool:
        """A DM to one person, if Slack is where they hear from laurel; True once sent.
        `queue=False`: a secret, never kept in the outbox for a retry."""
        async with self._ctx.uow(readonly=True) as uow:
            person = await uow.people.get(person_id)
            mine = (await uow.people.identities_of([person_id])).get(person_id, [])
        known = [x for x in mine if x.platform == PLATFORM]
        used = platforms_in(mine)
        if person is None or not self._routing.delivers(PLATFORM, used):
            return False
        found = await self._slack_id(person, known)
        return await self._dm(person, found, card(person), actions, queue=queue)

    async def _tell_role(self, role: Role, card: Card) -> None:
        async with self._ctx.uow(readonly=True) as uow:
            ids = await uow.people.with_role(role)
        for person_id in ids:
            await self._tell(person_id, lambda _: card)

    async def _ask(self, r: Redemption, key: str) -> None:
        """The approver's DM: the request, with Approve / Decline."""
        async with self._ctx.uow(readonly=True) as uow:
            requester = await uow.people.get(r.person_id)
            item = await uow.catalog.get(r.item_slug)
            decision = await uow.decisions.get(key)
        if r.approver_id is None or requester is None or item is None or decision is None:
            return
        card = approval_request_card(requester.display_name, item.name, r)
        await self._tell(
            r.approver_id, lambda _: card, lambda render: decision_actions(decision, render)
        )

    async def _outcome(self, r: Redemption) -> None:
        """The requester hears the decision (not their own cancellation, nor about an item
        that needed none: their answer said it), then gets a gift card's codes, once."""
        if r.status is RedemptionStatus.CANCELLED:
            return
        async with self._ctx.uow(readonly=True) as uow:
            item = await uow.catalog.get(r.item_slug)
        name = item.name if item else r.item_slug
        if r.approver_id is not None:
            await self._tell(r.person_id, lambda _: redemption_outcome_card(r, name))
        for task in await fulfilments(self._ctx.uow, self._vault, r, item) if item else []:
            await self._tell(task.person_id, always(task.card), queue=not task.private)
        if r.status is RedemptionStatus.APPROVED and self._vault is not None:
            codes = await self._vault.open_issued(r.key)
            # Undelivered, the codes stay sealed in their table (never in the outbox).
            card: Callable[[Person], Card] = lambda _: codes_card(name, codes)  # noqa: E731
            if codes and await self._tell(r.person_id, card, queue=False):
                await self._vault.delivered(r.key)

    async def _tier(self, event: TierReached) -> None:
        """The person hears it, and the recognition channel (when set) celebrates with them."""
        message = text(MsgId.TIER_REACHED, tier=event.tier, badge=event.badge)
        await self._tell(event.person_id, lambda p: lines_card(_named(message, p)))
        async with self._ctx.uow(readonly=True) as uow:
            person = await uow.people.get(event.person_id)
            channel = (await uow.config.load()).chat.recognition_channel
        if channel and person is not None:
            await self._post(channel, lines_card(_named(message, person), tone=Tone.OK))

    async def _celebrate(self, event: Celebrated) -> None:
        """In the recognition channel for everyone to join in; without one, to the person."""
        async with self._ctx.uow(readonly=True) as uow:
            person = await uow.people.get(event.person_id)
            channel = (await uow.config.load()).chat.recognition_channel
        if person is None:
            return
        card = celebration_card(person, event.kind, event.years, event.points)
        if channel:
            await self._post(channel, card)
        else:
            await self._tell(person.id, lambda _: card)

    async def _digest(self, event: DigestReady) -> None:
        async with self._ctx.uow(readonly=True) as uow:
            channel = (await uow.config.load()).chat.recognition_channel
        if channel:
            await self._post(channel, digest_card(event.digest))

    async def _post(self, channel: str, card: Card) -> None:
        render = self._ctx.renderer(None)
        body = {"text": blocks.card_text(card, render), "blocks": blocks.card_blocks(card, render)}
        target = {"team": "", "channel": channel}
        try:
            await self._send(target, body)
        except FAILURES as error:
            queued = await self._keep(error, body, target=target)
            log.error("post to %s failed (%s): %s", channel, queued, _reason(error))
            self._undelivered(ERROR)

    async def _dm(
        self,
        person: Person,
        found: tuple[str, str] | None,
        card: Card,
        actions: Actions | None = None,
        *,
        queue: bool = True,
    ) -> bool:
        if found is None:
            log.info("no Slack account for person %s; DM not sent", person.id)
            self._undelivered(UNREACHABLE)
            return False
        render = self._ctx.renderer(person)
        body = {
            "text": blocks.card_text(card, render),
            "blocks": blocks.card_blocks(card, render) + ([actions(render)] if actions else []),
        }
        try:
            await self._send_dm(found, body)
        except FAILURES as error:
            queued = (
                await self._keep(error, body, person_id=person.id)
                if queue
                else "a secret: not kept"
            )
            log.error("DM to person %s failed (%s): %s", person.id, queued, _reason(error))
            self._undelivered(ERROR)
            return False
        return True

    async def _send_dm(self, found: tuple[str, str], body: Message) -> None:
        channel = self._dm_channels.get(found)
        if channel is None:  # opened once per person and process, then reused
            client = await self._ctx.client(found[0])
            opened = await client.conversations_open(users=found[1])
            channel = self._dm_channels[found] = opened["channel"]["id"]
        await self._send({"team": found[0], "channel": channel}, body)

    async def _send(self, target: dict[str, str], body: Message) -> None:
        client = await self._ctx.client(target["team"])
        await client.chat_postMessage(channel=target["channel"], **body)

    async def _keep(
        self,
        error: BaseException,
        body: Message,
        *,
        person_id: int | None = None,
        target: dict[str, str] | None = None,
    ) -> str:
        """Into the outbox for a later retry, if the failure may pass; says which."""
        if self.outbox is None or not _may_pass(error):
            return "dropped"
        try:
            await self.outbox.retry(body, person_id=person_id, target=target)
        except (SQLAlchemyError, OSError) as failure:  # the database is down too
            log.error("could not queue a failed Slack message: %r", failure)
            return "dropped"
        return "retried later"

    async def redeliver(self) -> int:
        """One pass over the outbox's due messages (each replica runs it periodically);
        how many were given up on."""
        if self.outbox is None:
            return 0
        given_up = await self.outbox.redeliver(self._resend)
        for message in given_up:
            who = f"person {message.person_id}" if message.person_id else message.target
            log.error("gave up on Slack message %s to %s after retries", message.id, who)
            self._undelivered(GAVE_UP)
        return len(given_up)

    async def _resend(self, message: Pending) -> Verdict:
        try:
            if message.target is not None:
                await self._send(message.target, message.body)
                return Verdict.SENT
            found = await self._found(message.person_id or 0)
            if found is None:
                return Verdict.NEVER  # no Slack account (any more)
            await self._send_dm(found, message.body)
        except FAILURES as error:
            log.warning("queued Slack message %s failed again: %s", message.id, _reason(error))
            return Verdict.LATER if _may_pass(error) else Verdict.NEVER
        return Verdict.SENT

    async def _found(self, person_id: int) -> tuple[str, str] | None:
        async with self._ctx.uow(readonly=True) as uow:
            person = await uow.people.get(person_id)
            known = await uow.people.identities(person_id, PLATFORM)
        return await self._slack_id(person, known) if person else None

    async def _announce(
        self,
        channel: str,
        r: Recognition,
        people: dict[int, Person],
        slack_ids: dict[int, tuple[str, str] | None],
    ) -> None:
        def name(person_id: int) -> str:
            found = slack_ids[person_id]
            return blocks.mention(found[1] if found else None, people[person_id])

        avatars = [
            self._ctx.directory.avatar(*found) for i in r.receiver_ids if (found := slack_ids[i])
        ]
        body = blocks.announcement_blocks(
            r,
            name(r.giver_id),
            [name(i) for i in r.receiver_ids],
            [a for a in avatars if a],
            self._ctx.renderer(None),
        )
        message = {"text": body[0]["text"]["text"], "blocks": body}
        target = {"team": r.context.get("team", ""), "channel": channel}
        try:
            await self._send(target, message)
        except FAILURES as error:
            queued = await self._keep(error, message, target=target)
            log.error(
                "announcement of recognition %s in %s failed (%s): %s",
                r.id,
                channel,
                queued,
                _reason(error),
            )
            self._undelivered(ERROR)


def _may_pass(error: BaseException) -> bool:
    """An outage (5xx, 429, a timeout, a dropped connection) may be over later; an error
    Slack names about the channel, the user or laurel's token will not."""
    if not isinstance(error, SlackApiError):
        return True
    status = getattr(error.response, "status_code", 200) or 200
    return status == 429 or status >= 500 or error.response.get("error") in PASSING


def _reason(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", error))
    return repr(error)


def _named(message: Text, person: Person) -> Text:
    return Text(message.key, {**message.params, "name": person.display_name}, message.count)
