"""The Slack test support itself: the fake Web API and the signed request builders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from . import slack_requests as sr
from .slack_fake import FakeSlackApi

SECRET = "test-signing-secret"


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as fake:
        yield fake


def client(api: FakeSlackApi, *handlers: AsyncRetryHandler) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=api.url, retry_handlers=list(handlers))


async def test_auth_test_and_users_info(api: FakeSlackApi) -> None:
    api.add_user("U2", email="ada@example.com", real_name="Ada Lovelace")
    web = client(api)

    auth = await web.auth_test()
    assert (auth["user_id"], auth["team_id"], auth["bot_id"]) == ("UBOT", "T1", "B1")

    user = (await web.users_info(user="U2"))["user"]
    assert user["profile"]["email"] == "ada@example.com"
    assert user["real_name"] == "Ada Lovelace"
    assert user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] in (3600, 7200)
    assert (await web.users_lookupByEmail(email="ADA@example.com"))["user"]["id"] == "U2"

    with pytest.raises(SlackApiError) as missing:
        await web.users_info(user="U404")
    assert missing.value.response["error"] == "user_not_found"

    assert [c.method for c in api.calls] == [
        "auth.test",
        "users.info",
        "users.lookupByEmail",
        "users.info",
    ]
    assert api.calls_to("users.info")[0].args == {"user": "U2"}
    assert {c.token for c in api.calls} == {"xoxb-test"}


async def test_post_message_with_blocks_is_recorded(api: FakeSlackApi) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Thanks!*"}}]
    web = client(api)

    first = await web.chat_postMessage(channel="C1", text="Thanks!", blocks=blocks)
    second = await web.chat_postMessage(channel="U2", text="psst")

    [call, _] = api.calls_to("chat.postMessage")
    assert call.args == {"channel": "C1", "text": "Thanks!", "blocks": blocks}
    assert call.token == "xoxb-test"
    assert not call.failed
    assert first["channel"] == "C1"
    assert second["channel"] == "DU2"
    assert float(second["ts"]) > float(first["ts"])
    link = await web.chat_getPermalink(channel="C1", message_ts=first["ts"])
    assert link["permalink"].startswith("https://example.slack.com/archives/C1/p")


async def test_form_and_query_arguments(api: FakeSlackApi) -> None:
    api.usergroups["S1"] = ["U1", "U2"]
    web = client(api)

    opened = await web.conversations_open(users="U2")
    members = await web.usergroups_users_list(usergroup="S1")
    modal = await web.views_open(trigger_id="t", view={"type": "modal", "callback_id": "kudos"})
    # a form-encoded call whose blocks arrive as a JSON string
    await web.api_call("chat.update", data={"channel": "C1", "ts": "1.2", "blocks": "[]"})

    assert opened["channel"]["id"] == "DU2"
    assert members["users"] == ["U1", "U2"]
    assert modal["view"]["id"].startswith("V")
    assert modal["view"]["callback_id"] == "kudos"
    assert api.calls_to("chat.update")[0].args == {"channel": "C1", "ts": "1.2", "blocks": []}
    await web.api_call("anything.else")
    assert api.calls[-1].method == "anything.else"


async def test_rate_limit_is_retried_after_retry_after(api: FakeSlackApi) -> None:
    api.fail("chat.postMessage", status=429, retry_after=0)
    web = client(api, AsyncRateLimitErrorRetryHandler(max_retry_count=2))

    response = await web.chat_postMessage(channel="C1", text="hi")

    assert response["ok"]
    assert [c.failed for c in api.calls_to("chat.postMessage")] == [True, False]
    assert len(await api.wait_for("chat.postMessage")) == 1
    assert len(await api.wait_for("chat.postMessage", 2, include_failed=True)) == 2


async def test_server_error_is_retried(api: FakeSlackApi) -> None:
    api.fail("users.info", status=500)
    api.add_user("U2")
    fast = FixedValueRetryIntervalCalculator(0.01)
    web = client(api, AsyncServerErrorRetryHandler(max_retry_count=1, interval_calculator=fast))

    assert (await web.users_info(user="U2"))["user"]["id"] == "U2"
    assert [c.failed for c in api.calls_to("users.info")] == [True, False]


async def test_faults_without_retry_surface(api: FakeSlackApi) -> None:
    api.fail("chat.postMessage", status=503, times=2)
    api.fail("chat.postMessage", status=200, error="channel_not_found")
    web = client(api)

    for expected in (503, 503, 200):
        with pytest.raises(SlackApiError) as raised:
            await web.chat_postMessage(channel="C1", text="hi")
        assert raised.value.response.status_code == expected
    assert (await web.chat_postMessage(channel="C1", text="hi"))["ok"]


async def test_wait_for_background_work_and_response_urls(api: FakeSlackApi) -> None:
    web = client(api)

    async def later() -> None:
        await asyncio.sleep(0.05)
        await web.chat_postEphemeral(channel="C1", user="U1", text="only you")

    task = asyncio.create_task(later())
    [call] = await api.wait_for(lambda c: c.args.get("user") == "U1")
    await task
    assert call.method == "chat.postEphemeral"

    with pytest.raises(AssertionError, match=r"chat\.delete"):
        await api.wait_for("chat.delete", timeout=0.1)

    async with aiohttp.ClientSession() as http:
        await http.post(api.response_url("r1"), json={"text": "done"})
    assert await api.wait_for_response("r1") == [{"text": "done"}]
    await api.quiet(period=0.05)


def test_sign_verifies_with_slack_sdk() -> None:
    body, _ = sr.slash_command("@ada thanks")
    verifier = SignatureVerifier(SECRET)

    assert verifier.is_valid_request(body, sr.sign(body, SECRET))
    assert verifier.is_valid_request(body.encode(), sr.sign(body.encode(), SECRET))
    assert not verifier.is_valid_request(body + "x", sr.sign(body, SECRET))
    assert not verifier.is_valid_request(body, sr.sign(body, "other-secret"))
    assert not verifier.is_valid_request(body, sr.sign(body, SECRET, timestamp=1_600_000_000))

    req = sr.signed(sr.event(sr.message_event("hi")), SECRET, retry_num=1)
    assert verifier.is_valid_request(req.body, req.headers)
    assert req.headers["X-Slack-Retry-Num"] == "1"
    assert req.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert req.headers["Content-Type"] == "application/json"


def test_slash_command_fields_in_slack_order() -> None:
    body, content_type = sr.slash_command("@ada <b>", response_url="http://x/r")
    fields = parse_qs(body)
    assert content_type == "application/x-www-form-urlencoded"
    assert list(fields)[:3] == ["token", "team_id", "team_domain"]
    assert fields["text"] == ["@ada <b>"]
    assert fields["command"] == ["/kudos"]
    assert fields["response_url"] == ["http://x/r"]


async def test_builders_reach_the_right_bolt_listeners(api: FakeSlackApi) -> None:
    """Bolt parses, verifies and routes every built payload; respond() reaches the fake."""
    app = AsyncApp(signing_secret=SECRET, client=client(api))
    seen: list[tuple[str, dict[str, Any]]] = []

    @app.command("/kudos")
    async def on_command(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.append(("command", body))
        await respond("noted")

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any]) -> None:
        seen.append(("app_mention", body))

    @app.event("reaction_added")
    async def on_reaction(body: dict[str, Any]) -> None:
        seen.append(("reaction_added", body))

    @app.action("give")
    async def on_action(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        seen.append(("action", body))

    @app.view("kudos_modal")
    async def on_view(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        seen.append(("view", view["state"]["values"]))

    @app.shortcut("give_kudos")
    async def on_shortcut(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        seen.append(("shortcut", body))

    @app.message_shortcut("kudos_for_message")
    async def on_message_shortcut(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        seen.append(("message_shortcut", body))

    values = {
        "who": {"users": sr.multi_users_select(["U2"])},
        "why": {"t": sr.plain_text_input("x")},
    }
    built = [
        sr.slash_command("@ada", response_url=api.response_url("r1")),
        sr.event(sr.app_mention_event("<@UBOT> hi"), event_id="Ev1"),
        sr.event(sr.reaction_added_event("tada"), event_id="Ev2"),
        sr.block_actions("give", "42"),
        sr.block_actions("give", "43", view={"id": "V9", "type": "home"}),
        sr.view_submission("kudos_modal", values, private_metadata="m"),
        sr.shortcut("give_kudos"),
        sr.message_shortcut("kudos_for_message", {"ts": "1.2", "user": "U2", "text": "hi"}),
    ]
    for body, content_type in built:
        req = sr.signed((body, content_type), SECRET)
        headers: dict[str, str | Sequence[str]] = dict(req.headers)
        response = await app.async_dispatch(AsyncBoltRequest(body=req.body, headers=headers))
        assert response.status == 200, (response.status, response.body, body)

    for _ in range(100):
        if len(seen) == len(built):
            break
        await asyncio.sleep(0.01)
    kinds = [kind for kind, _ in seen]
    assert sorted(kinds) == sorted(
        [
            "command",
            "app_mention",
            "reaction_added",
            "action",
            "action",
            "view",
            "shortcut",
            "message_shortcut",
        ]
    )
    assert dict(seen)["view"] == values
    assert await api.wait_for_response("r1") == [{"text": "noted"}]
    assert dict(seen)["command"]["text"] == "@ada"
    assert len(api.calls_to("auth.test")) == 1
