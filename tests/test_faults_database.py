"""Database outage: PostgreSQL goes away for a few seconds and comes back.

laurel's real web app (Slack, Teams, SCIM, the read API) talks to PostgreSQL through a TCP
proxy the test can cut: open connections are reset, new ones refused. While it is cut,
/healthz says 503, /kudos and a Teams message are answered with an apology, SCIM and the
API answer 5xx documents; nothing is half-written. Once it is back, the same process
answers again without a restart (the pool's pre-ping replaces the dead connections).

Then the rougher drop: laurel's own backends are terminated (`pg_terminate_backend`) over
and over for a few seconds while gifts flow. Every request is answered (a gift or an
apology), the ledger balances, and every recognition has its transfer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import migrate
from adapters.persistence.api_tokens import ApiTokens
from adapters.persistence.engine import create_engine
from adapters.persistence.tables import pending_commands, recognitions, transfers
from adapters.slack.app import SlackAdapter
from bot import web
from bot.bootstrap import App, bootstrap
from bot.settings import Settings

from . import teams_activities as act
from .audit import snapshot
from .conftest import PG_URL, drop_pg_schema, new_pg_schema
from .slack_fake import FakeSlackApi
from .slack_harness import SECRET
from .slack_requests import event, message_event, signed, slash_command
from .tcp_proxy import Proxy
from .teams_fake import FakeConnector

pytestmark = pytest.mark.skipif(not PG_URL, reason="LAUREL_TEST_PG_URL is not set")

SORRY = "Sorry, something went wrong on our side. Nothing was changed; please try again."
BUSY = "laurel is busy right now. Nothing was changed; please try again in a moment."
APOLOGIES = (SORRY, BUSY)  # BUSY: the connection died mid-work on every try
SCIM_TOKEN = "scim-outage-token"
ANA = act.user("29:ana", "aad-ana", "Ana Lima")
BEN = act.user("29:ben", "aad-ben", "Ben Weber")


@dataclass
class World:
    app: App
    http: TestClient
    api: FakeSlackApi
    connector: FakeConnector
    proxy: Proxy
    slack: SlackAdapter
    application: str  # PostgreSQL application_name of laurel's own connections
    api_token: str

    async def kudos(self, name: str, text: str = "<@U2|ben> +1 thanks for the cover") -> int:
        """A /kudos whose trigger_id and response_url are both `name`; the HTTP status."""
        built = slash_command(text, trigger_id=name, response_url=self.api.response_url(name))
        request = signed(built, SECRET)
        response = await self.http.post(
            "/slack/events", data=request.body.encode(), headers=request.headers
        )
        return response.status

    async def answer(self, name: str) -> str:
        return str((await self.api.wait_for_response(name, timeout=30))[0]["text"])

    async def health(self) -> int:
        return (await self.http.get("/healthz")).status

    async def settle(self) -> None:
        await self.api.quiet(period=0.1, timeout=30)
        await self.slack.notifier.drain()


@asynccontextmanager
async def outage_world() -> AsyncIterator[World]:
    assert PG_URL
    url = make_url(PG_URL)
    schema = await new_pg_schema()
    application = f"laurel-{schema}"
    async with (
        Proxy(url.host or "127.0.0.1", url.port or 5432) as proxy,
        FakeSlackApi() as api,
        FakeConnector() as connector,
    ):
        engine = create_engine(
            url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
            connect_args={
                "server_settings": {"search_path": schema, "application_name": application}
            },
        )
        try:
            await migrate.upgrade(engine)
            settings = Settings(
                DATABASE_URL="sqlite+aiosqlite:///unused.db",
                SLACK_BOT_TOKEN="xoxb-test",
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=api.url,
                LAUREL_TEAMS_INSECURE_DEV=True,
                LAUREL_SCIM_TOKEN=SCIM_TOKEN,
            )
            app = await bootstrap(settings, engine=engine, migrate_db=False)
            token = await ApiTokens(engine).create(
                "outage", ["recognitions:read"], at=app.clock.now()
            )
            web_app = web.build(app)
            async with TestClient(TestServer(web_app)) as http:
                api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
                api.add_user("U2", email="ben@example.com", real_name="Ben Weber")
                for who, email in ((ANA, "ana@example.com"), (BEN, "ben@example.com")):
                    connector.add_member(
                        who["id"], aad=who["aadObjectId"], name=who["name"], email=email
                    )
                yield World(
                    app, http, api, connector, proxy, web_app[web.SLACK], application, token
                )
        finally:
            proxy.restore()
            await engine.dispose()
            await drop_pg_schema(schema)


async def rows(engine: AsyncEngine, table: sa.Table) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(sa.select(table)))


async def nothing_half_written(world: World) -> None:
    """The ledger balances, and every recognition came with its transfer (one commit)."""
    (await snapshot(world.app.uow)).check()
    given = {f"kudos:{r.key}" for r in await rows(world.app.engine, recognitions)}
    moved = {t.key for t in await rows(world.app.engine, transfers) if t.kind == "kudos"}
    assert given == moved, f"a recognition without its transfer, or the reverse: {given ^ moved}"


async def teams_says(world: World, text: str) -> str:
    """Post a Teams message; what the bot answered (its last activity's text or card)."""
    before = len(world.connector.sent)
    activity = act.message(world.connector.url, sender=ANA, text=text)
    response = await world.http.post("/api/messages", json=activity)
    assert response.status in (200, 201), await response.text()
    sent = await world.connector.wait_for(lambda: len(world.connector.sent) > before, timeout=30)
    return str(sent[-1].activity)


async def scim(world: World, path: str) -> ClientResponse:
    return await world.http.get(
        f"/scim/v2{path}", headers={"Authorization": f"Bearer {SCIM_TOKEN}"}
    )


async def test_an_outage_is_answered_politely_and_recovered_from_without_a_restart() -> None:
    async with outage_world() as world:
        assert await world.kudos("before") == 200
        assert "You gave 1 point to Ben Weber." in await world.answer("before")
        assert SORRY not in await teams_says(world, "balance")
        await world.settle()

        world.proxy.cut()
        assert await world.health() == 503
        assert await world.kudos("during") == 200  # Slack's ack, then the answer:
        assert await world.answer("during") == SORRY
        dm = message_event("kudos <@U2> +1 during the outage", channel_type="im")
        request = signed(event(dm, event_id="EvOutage"), SECRET)
        answered = await world.http.post(
            "/slack/events", data=request.body.encode(), headers=request.headers
        )
        assert answered.status == 200
        [apology] = await world.api.wait_for("chat.postEphemeral", timeout=30)
        assert apology.args["text"] == SORRY
        assert SORRY in await teams_says(world, "kudos <at>Ben Weber</at> +1 in the dark")
        users = await scim(world, "/Users")
        assert users.status >= 500 and "json" in users.content_type
        listed = await world.http.get(
            "/api/v1/recognitions", headers={"Authorization": f"Bearer {world.api_token}"}
        )
        assert listed.status >= 500 and listed.content_type == "application/problem+json"
        await asyncio.sleep(2)  # a few seconds down in all
        assert await world.health() == 503

        world.proxy.restore()
        for _ in range(50):  # back by itself: no restart, at most a few seconds
            if await world.health() == 200:
                break
            await asyncio.sleep(0.1)
        assert await world.health() == 200
        assert await world.kudos("after") == 200
        assert "You gave 1 point to Ben Weber." in await world.answer("after")
        assert SORRY not in await teams_says(world, "history")
        assert (await scim(world, "/Users")).status == 200
        await world.settle()

        given = {r.key for r in await rows(world.app.engine, recognitions)}
        assert len(given) == 2  # before and after; nothing of the outage
        assert await rows(world.app.engine, pending_commands) == []
        await nothing_half_written(world)


async def terminate_backends(world: World, seconds: float) -> int:
    """Kill laurel's connections (only its own: other tests share the server) every 50 ms."""
    assert PG_URL
    dsn = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    killed = 0
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            killed += len(
                await conn.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    " AND application_name = $1",
                    world.application,
                )
            )
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return killed


async def test_backends_terminated_while_gifts_flow_leave_nothing_half_written() -> None:
    """Each /kudos is sent twice, as Slack does when it missed the first answer (same
    trigger_id): a retry after an apology may give, the two never give twice."""
    async with outage_world() as world:
        assert await world.kudos("warm-up") == 200
        await world.answer("warm-up")
        names = [f"k{n}" for n in range(30)]

        async def gifts() -> None:
            for n, name in enumerate(names):
                if n % 4 == 0:
                    await asyncio.sleep(0.1)
                assert await world.kudos(name, f"<@U2|ben> +1 thanks, {name}") == 200

        killing = asyncio.create_task(terminate_backends(world, 3.0))
        await asyncio.gather(gifts(), gifts())
        killed = await killing
        assert killed > 0, "no backend was terminated: the test proved nothing"
        answers = {n: await world.api.wait_for_response(n, count=2, timeout=30) for n in names}
        for both in answers.values():  # every request: a gift or an apology, never silence
            for answer in both:
                assert answer["text"] in APOLOGIES or "You gave 1 point" in answer["text"], answer
        for _ in range(50):
            if await world.health() == 200:
                break
            await asyncio.sleep(0.1)
        assert await world.kudos("after") == 200
        assert "You gave 1 point" in await world.answer("after")
        await world.settle()
        given = {r.key for r in await rows(world.app.engine, recognitions)}
        apologised = {n for n, both in answers.items() if all(a["text"] in APOLOGIES for a in both)}
        for name in set(names) - apologised:
            assert f"slack:command:{name}" in given  # "You gave" means it is there
        # Apologised twice, a gift is normally absent. It can be there when the connection
        # died after the server committed it and stayed unreachable through the bus's
        # retries (docs/operations.md): the gift is then recorded once, with its one
        # transfer, like every other.
        landed = {n for n in apologised if f"slack:command:{n}" in given}
        await nothing_half_written(world)  # each recognition is one transfer: never two
        print(
            f"{killed} backends terminated; {len(apologised)} of {len(names)} apologised twice,",
            f"{len(landed)} of them given all the same",
        )
