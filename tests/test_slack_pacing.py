"""Slack's rate limits are honoured by the whole client: a 429 holds its method until
Retry-After has passed, and a message is not dropped after a few refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.chat.background import Background
from adapters.slack.client import web_client
from adapters.slack.pacing import Pacing, retry_after

from .slack_fake import FakeSlackApi


@pytest.fixture
async def api() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as fake:
        yield fake


async def test_a_message_outlasts_many_refusals(api: FakeSlackApi) -> None:
    api.fail("chat.postMessage", status=429, times=8, retry_after=0)  # slack_sdk's gave up at 5
    client = web_client("xoxb-test", api.url)

    answer = await client.chat_postMessage(channel="C1", text="hello")

    assert answer["ok"]
    calls = api.calls_to("chat.postMessage")
    assert [c.failed for c in calls] == [True] * 8 + [False]


async def test_calls_wait_while_slack_holds_their_method(api: FakeSlackApi) -> None:
    api.fail("chat.postMessage", status=429, times=1, retry_after=1)
    client = web_client("xoxb-test", api.url)

    first = asyncio.create_task(client.chat_postMessage(channel="C1", text="first"))
    await api.wait_for("chat.postMessage", include_failed=True)
    others = [client.chat_postMessage(channel=f"C{n}", text="later") for n in (2, 3)]
    assert (await client.auth_test())["ok"]  # another method is not held
    await asyncio.gather(first, *others)

    calls = api.calls_to("chat.postMessage")
    assert [c.failed for c in calls] == [True, False, False, False]  # only the first was refused
    assert [c.method for c in api.calls][:2] == ["chat.postMessage", "auth.test"]


async def test_a_hold_lasts_until_retry_after() -> None:
    pacing = Pacing()
    pacing.hold("chat.postMessage", 0.2)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pacing.ready("users.info")
    assert loop.time() - began < 0.1
    await pacing.ready("chat.postMessage")
    assert loop.time() - began >= 0.19


def test_retry_after_reads_the_header_or_says_one_second() -> None:
    assert retry_after({"Retry-After": ["30"]}) == 30.0
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"Retry-After": ["soon"]}) == 1.0
    assert retry_after({}) == 1.0


async def test_background_runs_a_limited_number_at_once() -> None:
    background = Background(limit=2)
    running, most = 0, 0

    async def delivery() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1

    for _ in range(10):
        background.spawn(delivery())
    await background.drain()

    assert most == 2
