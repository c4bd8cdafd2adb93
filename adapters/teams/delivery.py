"""Proactive sends through the Bot Framework connector, retried on throttling and outages.

The connector answers 429 when a bot sends too fast and 5xx when it is unwell; both are
retried with exponential back-off (honouring Retry-After), other refusals are not.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import ClientRequestError, HttpOperationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from .members import TeamsMember

log = logging.getLogger("laurel.teams")
CHANNEL = "msteams"
Json = dict[str, Any]


def transient(error: BaseException) -> bool:
    if isinstance(error, HttpOperationError):
        status = getattr(error.response, "status_code", 0) or 0
        return status == 429 or status >= 500
    return isinstance(error, ClientRequestError | OSError | TimeoutError)


def _wait(state: RetryCallState) -> float:
    """Retry-After when the connector says how long, else 0.5 s, 1 s, 2 s …"""
    error = state.outcome.exception() if state.outcome else None
    response = getattr(error, "response", None)
    after = (getattr(response, "headers", None) or {}).get("Retry-After")
    if after and str(after).isdigit():
        return min(float(after), 30.0)
    return float(wait_exponential(multiplier=0.5, max=8)(state))


class Sender:
    def __init__(self, adapter: CloudAdapter, app_id: str, attempts: int = 5) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._attempts = attempts

    async def _retrying(self, work: Callable[[], Awaitable[Any]]) -> Any:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(transient),
            wait=_wait,
            stop=stop_after_attempt(self._attempts),
            reraise=True,
        ):
            with attempt:
                return await work()
        raise AssertionError("tenacity re-raises the last failure")

    async def send(
        self, service_url: str, conversation_id: str, body: Json, reply_to: str | None = None
    ) -> str:
        """Send to a conversation (as a reply in its thread when `reply_to` is given)."""
        reference = ConversationReference(
            channel_id=CHANNEL,
            service_url=service_url,
            conversation=ConversationAccount(id=conversation_id),
            activity_id=reply_to,
        )
        return str(await self._retrying(lambda: self._in(reference, _post(body, reply_to))))

    async def open_personal(self, member: TeamsMember) -> str:
        """Create (or find: Teams returns the existing one) the bot's chat with the member."""
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=member.bot_id),
            members=[ChannelAccount(id=member.member_id)],
            tenant_id=member.tenant_id or None,
            channel_data={"tenant": {"id": member.tenant_id}} if member.tenant_id else None,
        )
        created: list[str] = []

        async def opened(turn: TurnContext) -> None:
            created.append(turn.activity.conversation.id)

        await self._retrying(
            lambda: self._adapter.create_conversation(
                self._app_id,
                opened,
                parameters,
                channel_id=CHANNEL,
                service_url=member.service_url,
            )
        )
        return created[0]

    async def _in(
        self, reference: ConversationReference, work: Callable[[TurnContext], Awaitable[str]]
    ) -> str:
        """Run `work` in a proactive turn; its failure is raised here (the adapter would
        hand it to on_turn_error and carry on)."""
        outcome: list[str] = []
        failure: list[BaseException] = []

        async def turn(context: TurnContext) -> None:
            try:
                outcome.append(await work(context))
            except Exception as error:
                failure.append(error)

        await self._adapter.continue_conversation(reference, turn, self._app_id)
        if failure:
            raise failure[0]
        return outcome[0]


def _post(body: Json, reply_to: str | None) -> Callable[[TurnContext], Awaitable[str]]:
    """Send through the adapter itself: TurnContext.send_activity would make every proactive
    message a reply to the continuation's made-up activity id."""

    async def post(turn: TurnContext) -> str:
        here = turn.activity
        activity = Activity().deserialize(body)
        activity.channel_id, activity.service_url = here.channel_id, here.service_url
        activity.conversation, activity.from_property = here.conversation, here.recipient
        activity.reply_to_id = reply_to
        sent = await turn.adapter.send_activities(turn, [activity])
        return str(sent[0].id) if sent and sent[0] else ""

    return post
