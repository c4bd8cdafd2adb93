"""What the scheduler's jobs announce reaches people: through the real Slack and Teams
adapters to their fakes, on both engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.commands import CelebrateMilestones, PostDigest, RemindUnusedAllowance, SyncDirectory
from core.directory import DirectoryRecord
from core.policy import ChatSettings

from . import teams_activities as act
from .fakes import FakeClock
from .slack_harness import SlackWorld, slack_world
from .slack_requests import slash_command
from .teams_harness import TeamsWorld, teams_world
from .test_teams import card_text


def staff() -> SyncDirectory:
    return SyncDirectory(
        source="csv",
        records=(
            DirectoryRecord(email="ana@example.com", display_name="Ana Lima", birthday="11-27"),
            DirectoryRecord(
                email="ben@example.com", display_name="Ben Weber", hire_date=date(2023, 11, 27)
            ),
        ),
    )


@pytest.fixture(params=["sqlite", "pg"])
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    clock = FakeClock(datetime(2026, 11, 27, 10, tzinfo=UTC))
    async with slack_world(request.param, tmp_path, clock=clock) as built:
        built.api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        built.api.add_user("U2", email="ben@example.com", real_name="Ben Weber")
        await built.app.bus.handle(staff())
        async with built.app.uow() as uow:
            await uow.config.save_chat(ChatSettings(recognition_channel="CREC"))
            await uow.commit()
        yield built


def posts(world: SlackWorld, channel: str) -> list[str]:
    return [
        str(c.args.get("text"))
        for c in world.api.calls_to("chat.postMessage")
        if c.args.get("channel") == channel
    ]


async def test_celebrations_and_the_digest_go_to_the_recognition_channel(
    slack: SlackWorld,
) -> None:
    assert await slack.app.bus.handle(CelebrateMilestones()) == 2
    await slack.settle()
    channel = posts(slack, "CREC")
    assert any("Happy birthday, Ana Lima" in t for t in channel)
    assert any("Ben Weber has been with us for 3 years" in t for t in channel)
    slack.app.clock.set(datetime(2026, 11, 30, 10, tzinfo=UTC))  # Monday morning
    assert await slack.app.bus.handle(PostDigest()) is True
    await slack.settle()
    assert any("A quiet week" in t for t in posts(slack, "CREC"))


async def test_an_unused_allowance_reminder_is_a_dm(slack: SlackWorld) -> None:
    await slack.post(slash_command("<@U2|ben> +10 thanks for the thorough review", user_id="U1"))
    await slack.settle()
    slack.app.clock.set(datetime(2026, 11, 29, 11, tzinfo=UTC))
    assert await slack.app.bus.handle(RemindUnusedAllowance()) == 1
    await slack.settle()
    dms = [
        t
        for c in slack.api.calls_to("chat.postMessage")
        if "to give" in (t := str(c.args.get("text")))
    ]
    assert len(dms) == 1 and "90 points" in dms[0]


@pytest.fixture(params=["sqlite", "pg"])
async def teams(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    clock = FakeClock(datetime(2026, 11, 27, 10, tzinfo=UTC))
    async with teams_world(request.param, tmp_path, clock=clock) as built:
        built.connector.add_member(
            "29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com"
        )
        await built.app.bus.handle(staff())
        yield built


async def test_teams_people_get_their_celebration_in_their_personal_chat(teams: TeamsWorld) -> None:
    ana = act.user("29:ana", "aad-ana", "Ana Lima")
    hello = act.message(teams.connector.url, sender=ana, text="help")
    assert (await teams.post(hello)).status == 200
    assert await teams.app.bus.handle(CelebrateMilestones()) == 2
    await teams.settle()
    personal = teams.connector.to(hello["conversation"]["id"])
    assert any(
        "Happy birthday, Ana Lima" in card_text(teams.connector.cards(s)[0]) for s in personal
    )


async def test_a_new_tier_is_celebrated_in_the_recognition_channel(slack: SlackWorld) -> None:
    from core.commands import GiveKudos

    async with slack.app.uow(readonly=True) as uow:
        ana = await uow.people.by_email("ana@example.com")
        ben = await uow.people.by_email("ben@example.com")
    await slack.app.bus.handle(
        GiveKudos(giver_id=ana.id, receiver_ids=(ben.id,), amount=60, reason="a big release")
    )
    await slack.settle()
    assert any("Ben Weber reached the Bronze tier" in t for t in posts(slack, "CREC"))
