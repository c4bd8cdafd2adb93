"""Crash safety: `kill -9` of `laurel serve` in the middle of a load run, a restart, then
every acknowledged kudos is present and the ledger balances.

Concurrent signed /kudos requests go to a real `laurel serve` process; once some have
been acknowledged (HTTP 200) it is killed with SIGKILL while others are in flight. A
second process starts on the same database. Then:

* every request that got a 200 is either a recognition (its key is the request's
  trigger_id) or was answered on its response_url with a refusal;
* the ledger balances (tests/audit.py reads all of it back);
* Slack sending the same requests again (same trigger_id) counts nothing twice;
* requests that got no answer may be sent again and count once.

SQLite and PostgreSQL. The normal suite kills once during a short run on SQLite; the slow
tier kills three times in longer runs, on both engines.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from adapters.persistence.engine import create_engine
from adapters.persistence.tables import pending_commands, recognitions
from adapters.persistence.uow import SqlUnitOfWorkFactory
from adapters.slack import giving
from core.ledger import AccountKind

from .audit import snapshot
from .conftest import PG_URL
from .slack_fake import FakeSlackApi
from .slack_harness import SECRET, SlackWorld, slack_world
from .slack_requests import (
    app_mention_event,
    event,
    message_event,
    sign,
    signed,
    slash_command,
)
from .torture_serve import Kudos, Serve, pg_database, send, server_logs, start

PEOPLE = 24
UNKEPT = re.compile(r"/kudos slack:command:(\S+) acknowledged before it was kept")
UNKEPT_EVENT = re.compile(r"Slack event (\S+) acknowledged before it was kept")


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/crash.db"
        return
    if not PG_URL:
        pytest.skip("LAUREL_TEST_PG_URL is not set")
    async with pg_database() as url:
        yield url


async def load(
    server: Serve,
    api: FakeSlackApi,
    work: list[Kudos],
    clients: int,
    *,
    kill_after: int | None = None,
) -> None:
    """Send `work` from `clients` concurrent clients; with `kill_after`, SIGKILL the server
    once that many were acknowledged, while the rest are in flight or not yet sent."""
    queue = iter(work)
    acked = 0
    killed = asyncio.Event()

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal acked
        for kudos in queue:
            if killed.is_set():
                return
            await send(http, server.base, kudos, api.response_url(kudos.trigger))
            if kudos.status == 200:
                acked += 1
                if kill_after is not None and acked >= kill_after and not killed.is_set():
                    killed.set()
                    server.kill9()

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    if kill_after is not None:
        assert killed.is_set(), "the load ended before the kill"
        await server.wait_dead()


def gifts(count: int, first: int = 0, prefix: str = "T") -> list[Kudos]:
    people = [f"U{i}" for i in range(1, PEOPLE + 1)]
    rng = random.Random(first)
    made = []
    for n in range(first, first + count):
        giver, receiver = rng.sample(people, 2)
        made.append(Kudos(f"{prefix}{n:05d}", giver, receiver))
    return made


async def recorded(url: str) -> dict[str, int]:
    """Recognition key -> amount, read straight from the database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sa.select(recognitions.c.key, recognitions.c.amount))
            return {str(key): int(amount) for key, amount in rows}
    finally:
        await engine.dispose()


async def check_ledger(url: str) -> int:
    """Check the whole ledger; the points people earned, in total."""
    engine = create_engine(url)
    try:
        ledger = await snapshot(SqlUnitOfWorkFactory(engine))
    finally:
        await engine.dispose()
    ledger.check()  # transfers balance, cached = sum of entries, no key applied twice
    return sum(b for ref, b in ledger.balances.items() if ref.kind is AccountKind.EARNED)


def refused(api: FakeSlackApi, kudos: Kudos) -> bool:
    """Answered on its response_url with something other than a gift."""
    answers = api.responses.get(kudos.trigger, [])
    return any("You gave" not in str(answer) for answer in answers)


async def settle(
    api: FakeSlackApi,
    url: str,
    done: Callable[[dict[str, int]], bool],
    timeout: float = 60,  # noqa: ASYNC109
) -> dict[str, int]:
    """Wait until `done(recognitions)` holds (the work after the acks finishes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await recorded(url)
        if done(found) or loop.time() > deadline:
            return found
        await asyncio.sleep(0.5)


def key(kudos: Kudos) -> str:
    return f"slack:command:{kudos.trigger}"


async def crash_run(kind: str, tmp_path: Path, *, rounds: int, per_round: int) -> None:
    async with FakeSlackApi() as api, database(kind, tmp_path) as url:
        for i in range(1, PEOPLE + 1):
            api.add_user(f"U{i}", email=f"u{i}@example.com", real_name=f"Person {i}")
        env = {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api.url,
        }
        sent: list[Kudos] = []
        counter = itertools.count()
        server = await start(tmp_path, f"serve-{next(counter)}", env)
        try:
            for round_ in range(rounds):
                work = gifts(per_round, first=round_ * per_round)
                await load(server, api, work, clients=16, kill_after=per_round // 3)
                sent += work
                server = await start(tmp_path, f"serve-{next(counter)}", env)
            # A command the database could not keep within 2 s is acknowledged anyway (Slack
            # allows 3 s) and says so in the log: only those may be lost.
            logs = server_logs(tmp_path)
            unkept = set(UNKEPT.findall(logs))
            acked = [k for k in sent if k.status == 200 and k.trigger not in unkept]
            unanswered = [k for k in sent if k.status != 200]
            assert acked and unanswered, "the kill should fall in the middle of the load"

            def accounted(found: dict[str, int]) -> bool:
                return all(key(k) in found or refused(api, k) for k in acked)

            found = await settle(api, url, accounted)
            lost = [k.trigger for k in acked if key(k) not in found and not refused(api, k)]
            assert not lost, f"{len(lost)} of {len(acked)} acknowledged kudos were lost: {lost}"
            slowest = max(k.seconds for k in sent if k.status == 200)
            print(
                f"{kind}: {len(acked)} acknowledged and kept, {len(unkept)} acknowledged",
                f"unkept, {len(unanswered)} unanswered; slowest ack {slowest:.2f} s",
            )

            # Slack (or an impatient person) sends requests again with the same trigger_id:
            # the acknowledged ones must count once, the unanswered ones once at most.
            again = random.Random(7).sample(acked, min(20, len(acked))) + unanswered
            for kudos in again:
                kudos.status = None
            await load(server, api, again, clients=8)
            assert all(k.status == 200 for k in again), [k for k in again if k.status != 200]
            expected = {key(k) for k in sent}
            after = await settle(
                api, url, lambda found: all(key(k) in found or refused(api, k) for k in sent)
            )
            assert set(after) <= expected | {k for k in after if not k.startswith("slack:")}
            assert all(after[key(k)] == 1 for k in sent if key(k) in after)
            for kudos in acked:
                if key(kudos) in found:
                    assert key(kudos) in after  # a replay keeps the first result
            assert await check_ledger(url) == sum(after.values())  # each gift counted once
        finally:
            assert await server.stop() == 0, server.output()


async def test_kill_9_in_the_middle_of_a_load_loses_no_acknowledged_kudos(tmp_path: Path) -> None:
    await crash_run("sqlite", tmp_path, rounds=1, per_round=90)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "pg"])
async def test_three_kills_in_longer_load_runs(kind: str, tmp_path: Path) -> None:
    await crash_run(kind, tmp_path, rounds=3, per_round=300)


@dataclass
class DirectMessage(Kudos):
    """A gift DM'd to the app: `trigger` is its client_msg_id (the gift's key) and, with
    "Ev", its event_id. Bolt acknowledges an event before any listener runs."""

    def request(self, response_url: str) -> tuple[str, dict[str, str]]:
        dm = message_event(
            f"kudos <@{self.receiver}> +1 thanks for holding the fort ({self.trigger})",
            user_id=self.giver,
            channel_id=f"D{self.giver}",
            channel_type="im",
        )
        dm["client_msg_id"] = self.trigger
        request = signed(event(dm, event_id=f"Ev{self.trigger}"), SECRET)
        return request.body, request.headers


def dm_key(dm: Kudos) -> str:
    return f"slack:event:{dm.trigger}"


async def test_kill_9_between_the_acks_and_the_gifts_of_dms_loses_none(tmp_path: Path) -> None:
    """As for /kudos, with gifts sent as DMs: kill -9 while acknowledged DMs wait for
    their gift; the next start gives every one of them, once."""
    async with FakeSlackApi() as api, database("sqlite", tmp_path) as url:
        for i in range(1, PEOPLE + 1):
            api.add_user(f"U{i}", email=f"u{i}@example.com", real_name=f"Person {i}")
        env = {
            "DATABASE_URL": url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api.url,
        }
        server = await start(tmp_path, "serve-0", env)
        try:
            work: list[Kudos] = [
                DirectMessage(k.trigger, k.giver, k.receiver) for k in gifts(60, prefix="D")
            ]
            await load(server, api, work, clients=16, kill_after=20)
            at_kill = await recorded(url)
            server = await start(tmp_path, "serve-1", env)
            unkept = set(UNKEPT_EVENT.findall(server_logs(tmp_path)))
            acked = [k for k in work if k.status == 200 and f"Ev{k.trigger}" not in unkept]
            waiting = [k for k in acked if dm_key(k) not in at_kill]
            assert waiting, "the kill should fall between some acks and their gifts"
            found = await settle(api, url, lambda found: all(dm_key(k) in found for k in acked))
            lost = [k.trigger for k in acked if dm_key(k) not in found]
            assert not lost, f"{len(lost)} of {len(acked)} acknowledged DMs were lost: {lost}"
            assert set(found) <= {dm_key(k) for k in work}
            assert set(found.values()) == {1}
            assert await check_ledger(url) == len(found)  # each gift counted once
            print(
                f"{len(acked)} DMs acknowledged and kept, {len(waiting)} of them given only",
                f"after the restart; {len(unkept)} acknowledged unkept",
            )
        finally:
            assert await server.stop() == 0, server.output()


# -- the inbox that makes it so, in-process -----------------------------------------------


@pytest.fixture(params=["sqlite", "pg"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(request.param, tmp_path) as built:
        built.api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        built.api.add_user("U2", email="ben@example.com", real_name="Ben Weber")
        yield built


async def kept_rows(world: SlackWorld) -> list[str]:
    async with world.app.engine.connect() as conn:
        return list((await conn.execute(sa.select(pending_commands.c.key))).scalars())


def command(world: SlackWorld, trigger: str) -> dict[str, str]:
    """A /kudos as kept before its ack (what a crash leaves in the inbox)."""
    return {
        "team_id": "T1",
        "user_id": "U1",
        "text": "<@U2|ben> +7 kept through the crash",
        "channel_id": "C1",
        "trigger_id": trigger,
        "response_url": world.api.response_url(trigger),
    }


async def test_an_answered_kudos_leaves_nothing_in_the_inbox(world: SlackWorld) -> None:
    url = world.api.response_url("r1")
    response = await world.post(
        slash_command("<@U2|ben> +5 thanks for the review", response_url=url)
    )
    assert response.status == 200
    await world.api.wait_for_response("r1")
    await world.settle()
    assert await kept_rows(world) == []


async def test_a_kudos_a_crash_left_in_the_inbox_is_given_once_at_the_next_start(
    world: SlackWorld,
) -> None:
    inbox, ctx = world.slack.inbox, world.slack.ctx
    await inbox.keep("slack", "slack:command:TCRASH", command(world, "TCRASH"))
    before = datetime.now(UTC) + timedelta(seconds=1)
    assert await giving.recover(ctx, before) == 1
    [answer] = await world.api.wait_for_response("TCRASH")
    assert "You gave 7 points to Ben Weber." in answer["text"]
    assert await kept_rows(world) == []
    assert await giving.recover(ctx, before) == 0  # answered once

    # The gift was committed but the process died before forgetting it: replayed, not doubled.
    await inbox.keep("slack", "slack:command:TCRASH", command(world, "TCRASH"))
    assert await giving.recover(ctx, before + timedelta(seconds=1)) == 1
    await world.api.wait_for_response("TCRASH", count=2)
    await world.settle()
    async with world.app.engine.connect() as conn:
        found = await conn.execute(sa.select(recognitions.c.key, recognitions.c.amount))
        assert list(found) == [("slack:command:TCRASH", 7)]
    await check_ledger_of(world)


async def test_recovery_leaves_what_arrived_after_the_start_to_its_own_process(
    world: SlackWorld,
) -> None:
    before = datetime.now(UTC)
    await world.slack.inbox.keep("slack", "slack:command:TLATER", command(world, "TLATER"))
    assert await giving.recover(world.slack.ctx, before) == 0
    assert await kept_rows(world) == ["slack:command:TLATER"]


async def check_ledger_of(world: SlackWorld) -> None:
    (await snapshot(world.app.uow)).check()


async def test_slack_sending_a_dm_gift_again_counts_it_once(world: SlackWorld) -> None:
    """Slack sends an event again (same event_id, X-Slack-Retry-Num) when it missed the
    ack, for instance from a server that was killed: the gift counts once."""
    dm = message_event("kudos <@U2> +3 for the night shift", channel_type="im", channel_id="D1")
    for retry in (None, 1, 2):
        response = await world.post(event(dm, event_id="EvGift"), retry_num=retry)
        assert response.status == 200
    await world.settle()
    async with world.app.engine.connect() as conn:
        found = list(await conn.execute(sa.select(recognitions.c.key, recognitions.c.amount)))
    assert [amount for _, amount in found] == [3]
    await check_ledger_of(world)


# -- DMs and @mentions: bolt acknowledges them before any listener runs --------------------


def gift_event(kind: str, event_id: str) -> tuple[str, str]:
    if kind == "dm":
        dm = message_event("kudos <@U2> +3 for the night shift", channel_type="im", channel_id="D1")
        return event(dm, event_id=event_id)
    return event(app_mention_event("<@UBOT> kudos <@U2> +3 for the night shift"), event_id)


def replies(world: SlackWorld, kind: str) -> list[str]:
    """What the giver was answered: in the DM, or only for them under the @mention."""
    method = "chat.postMessage" if kind == "dm" else "chat.postEphemeral"
    return [str(c.args.get("text")) for c in world.api.calls_to(method)]


@pytest.mark.parametrize("kind", ["dm", "mention"])
async def test_an_event_gift_is_kept_before_its_ack_and_answered_at_the_next_start(
    world: SlackWorld, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    async def killed(*_: object) -> None:  # the process dies right after bolt's ack
        raise asyncio.CancelledError

    monkeypatch.setattr(giving, "_answer_event", killed)
    body = gift_event(kind, "EvKept")
    response = await world.post(body)
    assert response.status == 200
    assert await kept_rows(world) == ["EvKept"]  # on disk when Slack had its ack
    await world.settle()
    assert await recorded_in(world) == []  # nothing given: the "process" died
    monkeypatch.undo()

    before = datetime.now(UTC) + timedelta(seconds=1)
    assert await giving.recover(world.slack.ctx, before) == 1
    await world.settle()
    assert sum("You gave 3 points to Ben Weber." in r for r in replies(world, kind)) == 1
    [(key, amount)] = await recorded_in(world)
    assert key.startswith("slack:event:") and amount == 3
    assert await kept_rows(world) == []
    assert await giving.recover(world.slack.ctx, before) == 0  # answered once

    # Answered, but the process died before forgetting it: answered again (not refused as
    # a retry of itself), the gift replayed by its key, never given twice.
    payload = giving.event_payload(json.loads(body[0]), "T1", "UBOT")
    await world.slack.inbox.keep(giving.EVENTS, "EvKept", payload)
    assert await giving.recover(world.slack.ctx, before + timedelta(seconds=1)) == 1
    await world.settle()
    assert sum("You gave 3 points to Ben Weber." in r for r in replies(world, kind)) == 2
    assert await recorded_in(world) == [(key, 3)]
    await check_ledger_of(world)


async def test_an_answered_dm_leaves_nothing_in_the_inbox(world: SlackWorld) -> None:
    assert (await world.post(gift_event("dm", "EvDone"))).status == 200
    await world.api.wait_for("chat.postMessage")
    await world.settle()
    assert await kept_rows(world) == []
    assert [amount for _, amount in await recorded_in(world)] == [3]


async def test_an_unsigned_event_is_never_kept(world: SlackWorld) -> None:
    body, content_type = gift_event("dm", "EvForged")
    forged = await world.http.post(
        "/slack/events",
        data=body.encode(),
        headers={"Content-Type": content_type, **sign(body, "not-the-secret")},
    )
    assert forged.status == 401
    assert await kept_rows(world) == []


async def recorded_in(world: SlackWorld) -> list[tuple[str, int]]:
    async with world.app.engine.connect() as conn:
        found = await conn.execute(sa.select(recognitions.c.key, recognitions.c.amount))
        return [(str(k), int(a)) for k, a in found]
