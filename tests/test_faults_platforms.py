"""Chat platform faults: 429 and 5xx storms from the Slack and Teams fakes while gifts
flow, and no notification lost.

During the storm most Web API and connector calls fail a few times (429 with Retry-After,
500, 502, 503, 504) before they go through (tests/storms.py). Within the clients' retry
budgets (Slack's client: 4 retries of a 5xx, a 429 waits as long as Slack asks; Teams'
Sender: 5 attempts), every receiver's DM and every announcement arrives, once.

Beyond the budget (the slow tier): what still fails after the retries waits in the outbox.
Teams delivers a DM at the person's next contact; a Slack DM or announcement, and a Teams
channel announcement, are tried again by the server's redelivery loop (quick here: see
QUICK), once each.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request

from adapters.persistence.outbox import Retries
from adapters.persistence.tables import outbox
from adapters.slack.app import SlackAdapter
from adapters.teams.app import TeamsAdapter
from bot import web
from bot.bootstrap import App, bootstrap
from bot.settings import Settings

from . import teams_activities as act
from .audit import snapshot
from .conftest import migrated_engine
from .slack_harness import SECRET
from .slack_requests import signed, slash_command
from .storms import Plan, StormyConnector, StormySlackApi

SLACK_STORMY = ("chat.postMessage", "conversations.open", "users.info", "users.lookupByEmail")
SLACK_PEOPLE = [f"U{i}" for i in range(1, 7)]
TEAMS_PEOPLE = [act.user(f"29:p{i}", f"aad-p{i}", f"Person {i}") for i in range(1, 6)]
# The outbox's retries, in tenths of a second rather than minutes.
QUICK = Retries(first=timedelta(seconds=0.2), cap=timedelta(seconds=1), every=0.1)


@dataclass
class Stormy:
    app: App
    http: TestClient[Request, Application]
    api: StormySlackApi
    connector: StormyConnector
    slack: SlackAdapter
    teams: TeamsAdapter

    async def settle(self) -> None:
        await self.teams.notifier.drain()
        await self.slack.notifier.drain()
        await self.api.quiet(period=0.2, timeout=60)
        await self.connector.quiet(period=0.2, timeout=60)


@asynccontextmanager
async def stormy(
    tmp_path: Path,
    *,
    most: int,
    seed: int = 7,
    kind: str = "sqlite",
    retries: Retries = QUICK,
) -> AsyncIterator[Stormy]:
    async with (
        StormySlackApi(seed=seed, most=most, methods=SLACK_STORMY) as api,
        StormyConnector(seed=seed, most=most) as connector,
        migrated_engine(kind, tmp_path) as engine,
    ):
        settings = Settings(
            DATABASE_URL="sqlite+aiosqlite:///unused.db",
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=api.url,
            LAUREL_TEAMS_INSECURE_DEV=True,
        )
        app = await bootstrap(settings, engine=engine, migrate_db=False)
        web_app = web.build(app, retries=retries)
        async with TestClient(TestServer(web_app)) as http:
            for n, user in enumerate(SLACK_PEOPLE, 1):
                api.add_user(user, email=f"s{n}@example.com", real_name=f"Slack Person {n}")
            for n, who in enumerate(TEAMS_PEOPLE, 1):
                connector.add_member(
                    who["id"], aad=who["aadObjectId"], name=who["name"], email=f"t{n}@example.com"
                )
            yield Stormy(app, http, api, connector, web_app[web.SLACK], web_app[web.TEAMS])
        (await snapshot(app.uow)).check()


def slack_gifts(count: int) -> list[tuple[str, str, str]]:
    """(name, giver, receiver): everyone gives to the next one, round and round."""
    people = itertools.cycle(range(len(SLACK_PEOPLE)))
    made = []
    for n in range(count):
        i = next(people)
        made.append((f"g{n}", SLACK_PEOPLE[i], SLACK_PEOPLE[(i + 1) % len(SLACK_PEOPLE)]))
    return made


async def give_in_slack(world: Stormy, gifts: list[tuple[str, str, str]]) -> None:
    async def one(name: str, giver: str, receiver: str) -> None:
        built = slash_command(
            f"<@{receiver}> +1 thanks for weathering the storm ({name})",
            user_id=giver,
            trigger_id=name,
            response_url=world.api.response_url(name),
        )
        request = signed(built, SECRET)
        response = await world.http.post(
            "/slack/events", data=request.body.encode(), headers=request.headers
        )
        assert response.status == 200
        [answer] = await world.api.wait_for_response(name, timeout=60)
        assert "You gave 1 point" in answer["text"], answer

    await asyncio.gather(*(one(*gift) for gift in gifts))


def slack_delivered(world: Stormy, gifts: list[tuple[str, str, str]]) -> dict[str, int]:
    """How many times each gift's DM and announcement reached Slack."""
    seen: dict[str, int] = {}
    for name, _, receiver in gifts:
        dms = [m for m in world.api.messages[f"D{receiver}"] if f"({name})" in str(m)]
        posts = [m for m in world.api.messages["C1"] if f"({name})" in str(m)]
        seen[f"{name} DM"], seen[f"{name} announcement"] = len(dms), len(posts)
    return seen


async def test_a_slack_storm_within_the_retry_budget_loses_no_notification(
    tmp_path: Path,
) -> None:
    async with stormy(tmp_path, most=3) as world:
        world.api.storm.on = True
        gifts = slack_gifts(12)
        await give_in_slack(world, gifts)
        await world.settle()
        assert world.api.storm.failed >= 12, "the storm never really blew"
        seen = slack_delivered(world, gifts)
        print(f"Slack: {world.api.storm.failed} calls failed; delivered {seen}")
        assert seen == dict.fromkeys(seen, 1), seen  # every DM and announcement, once


def channel_kudos(world: Stormy, giver: dict[str, Any], *receivers: dict[str, Any]) -> Any:
    mentions = " ".join(act.mention(r) for r in receivers)
    return act.message(
        world.connector.url,
        sender=giver,
        text=f"{act.mention(act.BOT)} kudos {mentions} +1 thanks for weathering the storm",
        conversation_type="channel",
        team_id="19:team@thread.tacv2",
        mentions=[act.BOT, *receivers],
    )


async def give_in_teams(world: Stormy, count: int) -> list[tuple[str, list[str]]]:
    """`count` channel kudos; (the thread, the receivers' member ids) of each."""
    made = []
    for n in range(count):
        giver = TEAMS_PEOPLE[n % len(TEAMS_PEOPLE)]
        receivers = [TEAMS_PEOPLE[(n + k) % len(TEAMS_PEOPLE)] for k in (1, 2)]
        message = channel_kudos(world, giver, *receivers)
        made.append((message["conversation"]["id"], [r["id"] for r in receivers]))
        assert (await world.http.post("/api/messages", json=message)).status == 200
    return made


def teams_delivered(world: Stormy, gifts: list[tuple[str, list[str]]]) -> dict[str, int]:
    """Announcements per thread, and the DMs ("gave you") per receiver."""
    c = world.connector
    seen = {f"announcement {thread}": len(c.to(thread)) for thread, _ in gifts}
    for member, conversation in c._one_to_one.items():  # the personal chats it opened
        seen[f"DMs to {member}"] = sum("gave you" in str(s.activity) for s in c.to(conversation))
    return seen


def expected_dms(gifts: list[tuple[str, list[str]]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, receivers in gifts:
        for member in receivers:
            counts[f"DMs to {member}"] = counts.get(f"DMs to {member}", 0) + 1
    return counts


async def test_a_teams_storm_within_the_retry_budget_loses_no_notification(
    tmp_path: Path,
) -> None:
    async with stormy(tmp_path, most=3) as world:
        world.connector.storm.on = True
        gifts = await give_in_teams(world, 5)
        await world.settle()
        assert world.connector.storm.failed >= 5, "the storm never really blew"
        seen = teams_delivered(world, gifts)
        print(f"Teams: {world.connector.storm.failed} calls failed; delivered {seen}")
        assert {k: v for k, v in seen.items() if k.startswith("announcement")} == {
            f"announcement {thread}": 1 for thread, _ in gifts
        }
        assert {k: v for k, v in seen.items() if k.startswith("DMs")} == expected_dms(gifts)


# -- beyond the retry budgets (slow tier) -------------------------------------------------


@pytest.mark.slow
async def test_teams_dms_beyond_the_retries_wait_in_the_outbox_and_arrive_on_next_contact(
    tmp_path: Path,
) -> None:
    # The outbox's own retries a minute away: this is about the next contact.
    async with stormy(tmp_path, most=9, seed=3, retries=Retries()) as world:
        c = world.connector
        c.spare = lambda conversation: "thread" in conversation  # announcements: next test
        c.storm.on = True
        gifts = await give_in_teams(world, 6)
        await world.settle()
        waiting = await queued(world)
        assert waiting > 0, "no DM met more failures than the retries"
        c.storm.on = False
        for who in TEAMS_PEOPLE:  # each one's next message to laurel
            hello = act.message(c.url, sender=who, text="balance")
            assert (await world.http.post("/api/messages", json=hello)).status == 200
        await world.settle()
        assert await queued(world) == 0
        dms = {
            f"DMs to {who['id']}": sum(
                "gave you" in str(s.activity)
                for s in c.sent
                if s.conversation_id
                in (c._one_to_one.get(who["id"]), f"a:personal-{who['aadObjectId']}")
            )
            for who in TEAMS_PEOPLE
        }
        assert dms == expected_dms(gifts), dms
        print(f"Teams: {c.storm.failed} calls failed; {waiting} DMs waited in the outbox")


async def queued(world: Stormy) -> int:
    async with world.app.engine.connect() as conn:
        found = await conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))
        )
        return int(found.scalar_one())


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait for the redelivery loop to make `check` hold."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "the outbox's retries never delivered it"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_a_slack_dm_outlives_an_outage_longer_than_the_retries(tmp_path: Path) -> None:
    async with stormy(tmp_path, most=0) as world:
        world.api.fail("chat.postMessage", 503, times=5)  # the first call and its 4 retries
        await give_in_slack(world, slack_gifts(1))
        await world.settle()
        await eventually(lambda: slack_delivered(world, slack_gifts(1))["g0 DM"] == 1)
        await asyncio.sleep(1)  # more of the loop's passes: nothing is sent twice
        assert slack_delivered(world, slack_gifts(1)) == {"g0 DM": 1, "g0 announcement": 1}
        assert await queued(world) == 0


@pytest.mark.slow
async def test_a_teams_announcement_outlives_an_outage_longer_than_the_retries(
    tmp_path: Path,
) -> None:
    async with stormy(tmp_path, most=0) as world:
        c = world.connector
        c.storm = Plan(seed=1, most=6, methods=frozenset({"send"}), always=True)  # 5 attempts
        c.spare = lambda conversation: "thread" not in conversation
        c.storm.on = True
        gifts = await give_in_teams(world, 1)
        await world.settle()
        thread = f"announcement {gifts[0][0]}"
        await eventually(lambda: teams_delivered(world, gifts)[thread] == 1, timeout=30)
        await asyncio.sleep(1)  # more of the loop's passes: nothing is sent twice
        assert teams_delivered(world, gifts)[thread] == 1
        assert await queued(world) == 0
