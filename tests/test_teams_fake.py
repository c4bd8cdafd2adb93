"""The Teams test support itself: the fake Connector, driven by the real botbuilder client.

The client is built the way CloudAdapter builds one when authentication is disabled
(`ConnectorClient(MicrosoftAppCredentials.empty(), base_url=service_url)`), so a path or JSON
shape the SDK would not produce or accept fails here rather than in the adapter's tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from botbuilder.core import BotAdapter, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationParameters,
    ErrorResponseException,
)
from botbuilder.schema.teams import ChannelInfo, TeamsChannelAccount, TeamsChannelData
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from msrest.authentication import BasicTokenAuthentication
from msrest.exceptions import HttpOperationError

from . import teams_activities as ta
from .teams_fake import ADAPTIVE_CARD, FakeConnector

CHANNEL_THREAD = "19:abc@thread.tacv2;messageid=123"
ANA = ta.user("29:ana", "aad-ana", "Ana Lima")


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as fake:
        fake.add_member("29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com")
        yield fake
        assert fake.unexpected == []


@pytest.fixture
async def client(connector: FakeConnector) -> AsyncIterator[ConnectorClient]:
    async with ConnectorClient(MicrosoftAppCredentials.empty(), base_url=connector.url) as c:
        yield c


def text(value: str, **fields: Any) -> Activity:
    return Activity(type=ActivityTypes.message, text=value, **fields)


def statuses(connector: FakeConnector) -> list[int]:
    return [c.status for c in connector.calls]


def teams_account(member: ChannelAccount) -> TeamsChannelAccount:
    """What TeamsInfo makes of a member lookup: the extra Teams fields are additional props."""
    return TeamsChannelAccount().deserialize(
        dict(member.serialize(), **member.additional_properties)
    )


# -- sending -------------------------------------------------------------------------------------


async def test_send_reply_update_and_delete_are_recorded(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    ops = client.conversations
    sent = await ops.send_to_conversation("a:1", text("hello"))
    reply = await ops.reply_to_activity("a:1", "1690000000001", text("thanks"))
    updated = await ops.update_activity("a:1", sent.id, text("hello again", id=sent.id))
    await ops.delete_activity("a:1", reply.id)

    assert sent.id != reply.id
    assert updated.id == sent.id
    assert [(s.method, s.conversation_id, s.reply_to, s.text) for s in connector.sent] == [
        ("POST", "a:1", None, "hello"),
        ("POST", "a:1", "1690000000001", "thanks"),
        ("PUT", "a:1", sent.id, "hello again"),
        ("DELETE", "a:1", reply.id, None),
    ]
    assert [s.id for s in connector.sent] == [sent.id, reply.id, sent.id, reply.id]
    assert connector.sent[0].activity["type"] == "message"
    assert connector.to("a:1") == connector.sent
    assert connector.to("a:2") == []
    assert connector.auth_headers == [None] * 4  # anonymous, as with auth disabled


async def test_channel_thread_ids_are_decoded(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    await client.conversations.send_to_conversation(CHANNEL_THREAD, text("in the thread"))
    await client.conversations.reply_to_activity(CHANNEL_THREAD, "123", text("a reply"))

    assert [s.conversation_id for s in connector.sent] == [CHANNEL_THREAD] * 2
    assert [s.text for s in connector.to(CHANNEL_THREAD)] == ["in the thread", "a reply"]
    # the ids really travelled encoded, so the decoding is what made them match
    assert all("%3B" in c.path or "%3b" in c.path for c in connector.calls)


async def test_cards_are_read_from_adaptive_attachments(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock"}]}
    other = Attachment(content_type="image/png", content_url="https://example.com/a.png")
    activity = Activity(
        type=ActivityTypes.message,
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=card), other],
    )
    await client.conversations.send_to_conversation("a:1", activity)

    [sent] = connector.sent
    assert connector.cards(sent) == [card]


async def test_the_authorization_header_is_recorded(connector: FakeConnector) -> None:
    credentials = BasicTokenAuthentication({"access_token": "token-1"})
    async with ConnectorClient(credentials, base_url=connector.url) as client:
        await client.conversations.send_to_conversation("a:1", text("hi"))

    assert connector.auth_headers == ["Bearer token-1"]


# -- creating conversations -----------------------------------------------------------------------


def one_to_one(member_id: str, activity: Activity | None = None) -> ConversationParameters:
    return ConversationParameters(
        bot=ChannelAccount(id=ta.BOT["id"]),
        members=[ChannelAccount(id=member_id)],
        tenant_id="tenant-1",
        channel_data={"tenant": {"id": "tenant-1"}},
        activity=activity,
    )


async def test_create_conversation_is_one_chat_per_person(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    ops = client.conversations
    first = await ops.create_conversation(one_to_one("29:ana"))
    by_aad = await ops.create_conversation(one_to_one("aad-ana"))
    stranger = await ops.create_conversation(one_to_one("29:bo"))

    assert (first.id, by_aad.id, stranger.id) == ("a:1to1-1", "a:1to1-1", "a:1to1-2")
    assert first.service_url == connector.url
    assert first.activity_id is None
    assert connector.created[0]["members"] == [{"id": "29:ana"}]
    assert connector.created[0]["tenantID"] == "tenant-1"  # sic: the SDK's spelling
    assert connector.sent == []


async def test_create_conversation_with_a_first_message(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    created = await client.conversations.create_conversation(one_to_one("29:ana", text("hi")))

    [sent] = connector.to(created.id)
    assert (sent.id, sent.text, sent.reply_to) == (created.activity_id, "hi", None)


async def test_create_in_a_channel_starts_a_thread(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    parameters = ConversationParameters(
        is_group=True,
        channel_data=TeamsChannelData(channel=ChannelInfo(id="19:abc@thread.tacv2")),
        activity=text("news"),
    )
    created = await client.conversations.create_conversation(parameters)

    assert created.id == f"19:abc@thread.tacv2;messageid={created.activity_id}"
    assert [s.text for s in connector.to(created.id)] == ["news"]


async def test_refused_create_raises_forbidden(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    connector.refuse_create = True
    with pytest.raises(ErrorResponseException) as refused:
        await client.conversations.create_conversation(one_to_one("29:ana", text("hi")))

    assert refused.value.response.status_code == 403
    assert refused.value.error.error.code == "Forbidden"
    assert refused.value.error.error.message == "The bot is not installed for the user"
    assert (connector.created, connector.sent) == ([], [])


async def test_create_is_refused_for_a_member_without_the_app(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    connector.add_member("29:bo", aad="aad-bo", name="Bo", installed=False)
    with pytest.raises(ErrorResponseException) as refused:
        await client.conversations.create_conversation(one_to_one("aad-bo"))
    await client.conversations.create_conversation(one_to_one("29:ana"))

    assert refused.value.response.status_code == 403
    assert len(connector.created) == 1


# -- members ------------------------------------------------------------------------------------


@pytest.mark.parametrize("member_id", ["29:ana", "aad-ana"])
async def test_member_lookup_by_member_or_aad_id(client: ConnectorClient, member_id: str) -> None:
    member = await client.conversations.get_conversation_member(CHANNEL_THREAD, member_id)

    account = teams_account(member)
    assert (account.id, account.name) == ("29:ana", "Ana Lima")
    assert account.aad_object_id == "aad-ana"
    assert account.email == account.user_principal_name == "ana@example.com"
    assert (account.given_name, account.surname) == ("Ana", "Lima")
    assert (account.tenant_id, account.user_role) == ("tenant-1", "user")


async def test_unknown_member_is_not_found(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    with pytest.raises(ErrorResponseException) as missing:
        await client.conversations.get_conversation_member("a:1", "29:nobody")

    assert missing.value.response.status_code == 404
    assert missing.value.error.error.code == "MemberNotFoundInConversation"
    assert statuses(connector) == [404]  # msrest does not retry a 404


async def test_member_lists_whole_and_paged(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    connector.add_member("29:bo", aad="aad-bo", name="Bo", email="bo@example.com")
    ops = client.conversations

    everyone = await ops.get_conversation_members("19:team@thread.tacv2")
    first = await ops.get_teams_conversation_paged_members("19:team@thread.tacv2", page_size=1)
    rest = await ops.get_teams_conversation_paged_members(
        "19:team@thread.tacv2", continuation_token=first.continuation_token
    )

    assert [m.id for m in everyone] == ["29:ana", "29:bo"]
    assert [m.email for m in first.members] == ["ana@example.com"]
    assert [m.aad_object_id for m in rest.members] == ["aad-bo"]
    assert rest.continuation_token is None


# -- faults and waiting ---------------------------------------------------------------------------


async def test_an_injected_send_fault_fails_once(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    connector.fail("send", 503)
    with pytest.raises(ErrorResponseException) as failed:
        await client.conversations.send_to_conversation("a:1", text("lost"))
    await client.conversations.send_to_conversation("a:1", text("delivered"))

    assert failed.value.response.status_code == 503  # msrest never retries a POST
    assert [s.text for s in connector.sent] == ["delivered"]
    assert statuses(connector) == [503, 200]


async def test_a_throttled_reply_carries_retry_after(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    connector.fail("send", 429, times=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(HttpOperationError) as throttled:
            await client.conversations.reply_to_activity("a:1", "1", text("x"))
        assert throttled.value.response.headers["Retry-After"] == "7"
    await client.conversations.reply_to_activity("a:1", "1", text("x"))

    assert statuses(connector) == [429, 429, 200]


async def test_get_and_put_faults_are_retried_by_msrest(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    connector.fail("member", 503)
    connector.fail("update", 500)
    member = await client.conversations.get_conversation_member("a:1", "29:ana")
    await client.conversations.update_activity("a:1", "5", text("edited", id="5"))

    assert member.id == "29:ana"
    assert statuses(connector) == [503, 200, 500, 200]
    assert [s.method for s in connector.sent] == ["PUT"]


async def test_a_create_fault(connector: FakeConnector, client: ConnectorClient) -> None:
    connector.fail("create", 502)
    with pytest.raises(ErrorResponseException):
        await client.conversations.create_conversation(one_to_one("29:ana"))

    assert connector.created == []


def test_unknown_fault_kinds_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FakeConnector().fail("reply", 500)


async def test_unexpected_calls_are_recorded(
    connector: FakeConnector, client: ConnectorClient
) -> None:
    with pytest.raises(ErrorResponseException):
        await client.conversations.get_conversations()

    assert connector.unexpected == ["GET /v3/conversations"]
    connector.unexpected.clear()  # for the fixture's check


async def test_wait_for_and_quiet(connector: FakeConnector, client: ConnectorClient) -> None:
    async def send_later() -> None:
        await asyncio.sleep(0.05)
        await client.conversations.send_to_conversation("a:1", text("late"))

    task = asyncio.create_task(send_later())
    [sent] = await connector.wait_for(count=1)
    assert sent.text == "late"
    await connector.wait_for(lambda: connector.to("a:1") != [])
    await task
    await connector.quiet(period=0.05)

    with pytest.raises(AssertionError, match="late"):
        await connector.wait_for(count=2, timeout=0.1)


# -- the builders, through the real adapter --------------------------------------------------------


def test_builders_deserialize_into_teams_activities() -> None:
    ana_mention = ta.mention(ANA)
    activity = Activity().deserialize(
        ta.message(
            "http://localhost/",
            sender=ANA,
            text=f"{ta.mention(ta.BOT)} kudos {ana_mention} +10",
            conversation_type="channel",
            mentions=[ta.BOT, ANA],
            team_id="19:team@thread.tacv2",
        )
    )

    assert activity.from_property.aad_object_id == "aad-ana"
    assert activity.conversation.is_group
    assert activity.conversation.id.endswith(f";messageid={activity.id}")
    mentions = [m.additional_properties for m in activity.get_mentions()]
    assert [(m["mentioned"]["id"], m["text"]) for m in mentions] == [
        ("28:laurel-bot", "<at>laurel</at>"),
        ("29:ana", ana_mention),
    ]
    assert TeamsInfo.get_team_id(TurnContext(BotAdapterStub(), activity)) == (
        "19:team@thread.tacv2"
    )
    channel_data = TeamsChannelData().deserialize(activity.channel_data)
    assert channel_data.channel.id == "19:channel-1@thread.tacv2"
    assert channel_data.tenant.id == "tenant-1"

    invoke = Activity().deserialize(
        ta.invoke_action("http://localhost/", sender=ANA, data={"a": 1}, reply_to="9")
    )
    assert (invoke.name, invoke.reply_to_id) == ("adaptiveCard/action", "9")
    assert invoke.value["action"]["data"] == {"a": 1}
    assert invoke.conversation.id == "a:personal-aad-ana"


class BotAdapterStub(BotAdapter):
    """Just enough adapter for a TurnContext that is never sent through."""

    async def send_activities(self, context: TurnContext, activities: list[Activity]) -> Any:
        raise NotImplementedError

    async def update_activity(self, context: TurnContext, activity: Activity) -> Any:
        raise NotImplementedError

    async def delete_activity(self, context: TurnContext, reference: Any) -> Any:
        raise NotImplementedError


async def test_cloud_adapter_replies_and_looks_up_members_through_the_fake(
    connector: FakeConnector,
) -> None:
    """The whole path the Teams adapter will take: anonymous CloudAdapter, turn, TeamsInfo."""
    settings = SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID="")
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(settings))
    incoming = ta.message(connector.url, sender=ANA, text="hi", conversation_id=CHANNEL_THREAD)
    looked_up: list[TeamsChannelAccount] = []

    async def logic(turn: TurnContext) -> None:
        assert turn.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY) is not None
        looked_up.append(await TeamsInfo.get_member(turn, "aad-ana"))
        await turn.send_activity("hello back")

    await adapter.process_activity("", Activity().deserialize(incoming), logic)

    [reply] = connector.sent
    assert (reply.conversation_id, reply.reply_to, reply.text) == (
        CHANNEL_THREAD,
        incoming["id"],
        "hello back",
    )
    assert [m.email for m in looked_up] == ["ana@example.com"]
