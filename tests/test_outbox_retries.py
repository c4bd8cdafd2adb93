"""Durable retries: a message that still failed after the platform client's own retries
waits in the outbox and is sent by a later pass of the server's redelivery loop, once,
even with two replicas racing; an error that will never pass is not retried; gift-card
codes are never stored. On both engines, through the real routes and fakes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import migrate
from adapters.persistence.outbox import Outbox, Pending, Retries, Verdict
from adapters.persistence.tables import outbox
from bot import web
from bot.bootstrap import bootstrap
from bot.settings import Settings
from core.commands import SyncDirectory
from core.directory import DirectoryRecord
from core.people import Person

from . import teams_activities as act
from .conftest import migrated_engine
from .slack_harness import SECRET, SlackWorld, slack_world
from .slack_requests import signed, slash_command
from .storms import Plan
from .test_codes_in_chat import CODES, FILE, KEY, redeem_and_approve, share, slack_organisation
from .test_faults_platforms import (
    QUICK,
    TEAMS_PEOPLE,
    Stormy,
    eventually,
    give_in_teams,
    stormy,
    teams_delivered,
)
from .test_metrics import parse, value

KINDS = pytest.mark.parametrize("kind", ["sqlite", "pg"])
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def outage(world: Stormy | SlackWorld, times: int) -> None:
    """chat.postMessage fails `times` times at once (the SDK does not retry an error Slack
    names), for a reason that may pass."""
    world.api.fail("chat.postMessage", status=200, error="internal_error", times=times)


async def registered_ana(engine: AsyncEngine) -> Person:
    """Ana, in the directory of a laurel on `engine`."""
    app = await bootstrap(Settings(), engine=engine, migrate_db=False)
    ana = DirectoryRecord(email="ana@example.com", display_name="Ana Lima")
    await app.bus.handle(SyncDirectory(source="csv", records=(ana,)))
    async with app.uow(readonly=True) as uow:
        person = await uow.people.by_email(ana.email)
    assert person is not None
    return person


async def rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        found = await conn.execute(sa.select(outbox).order_by(outbox.c.id))
        return [dict(row) for row in found.mappings()]


# -- the outbox itself ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@KINDS
async def test_retries_back_off_doubling_to_the_cap_and_give_up_after_a_day(
    kind: str, tmp_path: Path
) -> None:
    clock = Clock()
    async with migrated_engine(kind, tmp_path) as engine:
        box = Outbox(engine, "slack", Retries(), now=clock)
        await box.retry({"text": "hi"}, target={"team": "", "channel": "C1"})
        [row] = await rows(engine)
        assert (row["attempts"], row["due_at"]) == (1, NOW + timedelta(minutes=1))
        assert await box.due() == []  # not yet

        async def fails(message: Pending) -> Verdict:
            return Verdict.LATER

        delays = []
        given_up: list[Pending] = []
        while not given_up:
            clock.now = (await rows(engine))[0]["due_at"]
            before = clock.now
            given_up = await box.redeliver(fails)
            if not given_up:
                delays.append((await rows(engine))[0]["due_at"] - before)
        assert delays[:8] == [timedelta(minutes=m) for m in (2, 4, 8, 16, 32, 60, 60, 60)]
        assert clock.now - NOW >= timedelta(hours=24)
        [row] = await rows(engine)
        assert row["gave_up_at"] == clock.now and row["delivered_at"] is None
        clock.now += timedelta(days=1)
        assert await box.due() == []  # given up: never again


@KINDS
async def test_two_replicas_racing_over_the_outbox_send_each_message_once(
    kind: str, tmp_path: Path
) -> None:
    async with migrated_engine(kind, tmp_path) as engine:
        quick = Retries(first=timedelta(0))
        replicas = [Outbox(engine, "slack", quick), Outbox(engine, "slack", quick)]
        for n in range(20):
            await replicas[0].retry({"n": n}, target={"team": "", "channel": "C1"})
        sent: list[int] = []

        async def send(message: Pending) -> Verdict:
            await asyncio.sleep(0)  # let the other replica reach for the same row
            sent.append(message.body["n"])
            return Verdict.SENT

        await asyncio.gather(*(r.redeliver(send) for r in replicas for _ in range(3)))
        assert sorted(sent) == list(range(20))
        assert all(row["delivered_at"] is not None for row in await rows(engine))


@KINDS
async def test_a_teams_dm_given_up_on_waits_for_the_next_contact(kind: str, tmp_path: Path) -> None:
    clock = Clock()
    async with migrated_engine(kind, tmp_path) as engine:
        person = await registered_ana(engine)
        box = Outbox(engine, "teams", Retries(), now=clock)
        await box.retry({"text": "hi"}, person_id=person.id)
        clock.now += timedelta(days=2)

        async def fails(message: Pending) -> Verdict:
            return Verdict.LATER

        assert await box.redeliver(fails, contact=True) == []
        assert [p.body for p in await box.pending(person.id)] == [{"text": "hi"}]
        assert await box.due() == []


# -- Slack -----------------------------------------------------------------------------------


async def give_in_dm(world: Stormy, name: str, giver: str = "U1", receiver: str = "U2") -> None:
    """/kudos typed in laurel's DM: the receiver's DM, no announcement."""
    built = slash_command(
        f"<@{receiver}> +1 thanks for weathering the storm ({name})",
        user_id=giver,
        channel_id=f"D{giver}",
        trigger_id=name,
        response_url=world.api.response_url(name),
    )
    request = signed(built, SECRET)
    response = await world.http.post(
        "/slack/events", data=request.body.encode(), headers=request.headers
    )
    assert response.status == 200
    await world.api.wait_for_response(name, timeout=30)


def dms(world: Stormy, name: str, receiver: str = "U2") -> int:
    return sum(f"({name})" in str(m) for m in world.api.messages[f"D{receiver}"])


async def failed(world: Stormy, platform: str, reason: str) -> float:
    samples = parse(await (await world.http.get("/metrics")).text())
    return value(samples, "laurel_notifications_failed_total", platform=platform, reason=reason)


@KINDS
async def test_a_slack_dm_that_fails_five_times_arrives_once_by_a_later_retry(
    kind: str, tmp_path: Path
) -> None:
    async with stormy(tmp_path, most=0, kind=kind) as world:
        outage(world, 5)
        await give_in_dm(world, "g0")
        await world.settle()
        await eventually(lambda: dms(world, "g0") == 1)
        await asyncio.sleep(0.5)  # more passes of the loop: nothing is sent twice
        assert dms(world, "g0") == 1
        [row] = await rows(world.app.engine)
        assert row["person_id"] is not None and row["target"] is None
        assert (row["attempts"], row["gave_up_at"]) == (5, None)  # the first try and 4 retries
        assert row["delivered_at"] is not None
        assert await failed(world, "slack", "error") == 1  # counted once, when first due


@KINDS
async def test_two_replicas_retry_loops_deliver_each_slack_dm_once(
    kind: str, tmp_path: Path
) -> None:
    racing = Retries(first=timedelta(seconds=0.3), cap=timedelta(seconds=0.3), every=0.01)
    async with stormy(tmp_path, most=0, kind=kind, retries=racing) as world:
        other = await bootstrap(world.app.settings, engine=world.app.engine, migrate_db=False)
        async with TestClient(TestServer(web.build(other, retries=racing))):
            outage(world, 6)
            names = [f"g{n}" for n in range(6)]
            for name in names:
                await give_in_dm(world, name)
            await world.settle()
            await eventually(lambda: all(dms(world, n) == 1 for n in names))
            await asyncio.sleep(0.5)
            assert {n: dms(world, n) for n in names} == dict.fromkeys(names, 1)
        assert all(row["delivered_at"] is not None for row in await rows(world.app.engine))


@KINDS
async def test_a_slack_error_that_will_never_pass_is_not_retried(kind: str, tmp_path: Path) -> None:
    async with stormy(tmp_path, most=0, kind=kind) as world:
        world.api.fail("chat.postMessage", status=200, error="channel_not_found")
        await give_in_dm(world, "g0")
        await world.settle()
        assert await rows(world.app.engine) == []  # never queued
        assert await failed(world, "slack", "error") == 1
        # Queued during an outage, then refused for good (the bot left the channel).
        world.api.fail("chat.postMessage", status=200, error="not_in_channel")
        box = world.slack.notifier.outbox
        assert box is not None
        await box.retry({"text": "hello", "blocks": []}, target={"team": "", "channel": "C1"})
        await eventually(lambda: len(world.api.calls_to("chat.postMessage")) == 2)
        await asyncio.sleep(0.5)  # more passes of the loop: it is not tried again
        [row] = await rows(world.app.engine)
        assert row["gave_up_at"] is not None and row["delivered_at"] is None
        assert len(world.api.calls_to("chat.postMessage")) == 2
        assert await failed(world, "slack", "gave_up") == 1


@pytest.fixture(params=["sqlite", "pg"])
async def codes_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(request.param, tmp_path, secret_keys=KEY) as built:
        yield await slack_organisation(built)


async def test_gift_card_codes_that_could_not_be_sent_are_never_stored(
    codes_world: SlackWorld,
) -> None:
    await share(codes_world, FILE)
    outage(codes_world, 100)  # Slack is down
    await redeem_and_approve(codes_world)
    kept = json.dumps(await rows(codes_world.app.engine), default=str)
    assert "Coffee card" in kept  # the decision waits for its retry …
    assert not any(code in kept for code in CODES)  # … the codes never do


# -- Teams -----------------------------------------------------------------------------------


class Throttled(Plan):
    """Every message meets `most` 429s (Retry-After: 0): beyond the Sender's 5 attempts,
    without its back-off."""

    def status(self, method: str, identity: str) -> int | None:
        return 429 if super().status(method, identity) is not None else None


def storm(world: Stormy, spare: Callable[[str], bool]) -> None:
    c = world.connector
    c.storm = Throttled(seed=1, most=6, methods=frozenset({"send"}), always=True)
    c.spare = spare
    c.storm.on = True


@KINDS
async def test_a_teams_announcement_that_failed_is_sent_once_by_a_later_retry(
    kind: str, tmp_path: Path
) -> None:
    async with stormy(tmp_path, most=0, kind=kind) as world:
        storm(world, lambda conversation: "thread" not in conversation)
        gifts = await give_in_teams(world, 1)
        await world.settle()
        thread = f"announcement {gifts[0][0]}"
        await eventually(lambda: teams_delivered(world, gifts)[thread] == 1)
        await asyncio.sleep(0.5)
        assert teams_delivered(world, gifts)[thread] == 1
        [row] = await rows(world.app.engine)
        assert row["person_id"] is None and row["target"]["conversation"] == gifts[0][0]
        assert row["delivered_at"] is not None and row["gave_up_at"] is None


@KINDS
async def test_a_teams_dm_whose_send_failed_is_retried_without_waiting_for_contact(
    kind: str, tmp_path: Path
) -> None:
    async with stormy(tmp_path, most=0, kind=kind, retries=QUICK) as world:
        c = world.connector
        for who in TEAMS_PEOPLE:  # everyone has talked to laurel: their chats are known
            hello = act.message(c.url, sender=who, text="balance")
            assert (await world.http.post("/api/messages", json=hello)).status == 200
        await world.settle()
        storm(world, lambda conversation: "thread" in conversation)
        gifts = await give_in_teams(world, 1)
        await world.settle()
        receivers = gifts[0][1]
        aad = {who["id"]: who["aadObjectId"] for who in TEAMS_PEOPLE}

        def gave_you(member: str) -> int:
            chats = (c._one_to_one.get(member), f"a:personal-{aad[member]}")
            return sum("gave you" in str(s.activity) for s in c.sent if s.conversation_id in chats)

        await eventually(lambda: all(gave_you(m) == 1 for m in receivers))
        await asyncio.sleep(0.5)
        assert [gave_you(m) for m in receivers] == [1, 1]
        assert all(row["delivered_at"] is not None for row in await rows(world.app.engine))


# -- the migration ---------------------------------------------------------------------------


@KINDS
async def test_migration_0019_keeps_waiting_messages_both_ways(kind: str, tmp_path: Path) -> None:
    async with migrated_engine(kind, tmp_path) as engine:
        person = await registered_ana(engine)
        await migrate.downgrade(engine, "0018")
        waiting = {"platform": "teams", "person_id": person.id, "created_at": NOW}
        async with engine.begin() as conn:  # the 0018 shape: no due time, no target
            await conn.execute(sa.text(INSERT_0018), {**waiting, "body": '{"text": "hi"}'})
        await migrate.upgrade(engine)
        box = Outbox(engine, "teams")
        [kept] = await box.pending(person.id)
        assert (kept.body, kept.attempts, kept.target) == ({"text": "hi"}, 0, None)
        assert await box.due() == []  # it waits for Ana's next contact, as before
        await box.retry({"text": "to the channel"}, target={"conversation": "19:c"})
        await migrate.downgrade(engine, "0018")  # a channel's message has no place there
        async with engine.connect() as conn:
            left = (await conn.execute(sa.text("SELECT person_id FROM outbox"))).scalars().all()
        assert left == [person.id]


INSERT_0018 = (
    "INSERT INTO outbox (platform, person_id, body, created_at) "
    "VALUES (:platform, :person_id, :body, :created_at)"
)
