"""Socket Mode: with SLACK_APP_TOKEN laurel connects out to Slack and gets the same requests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import parse_qs

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from bot import web as laurel_web
from bot.bootstrap import bootstrap
from bot.settings import Settings

from .conftest import migrated_engine
from .slack_fake import FakeSlackApi
from .slack_harness import SECRET
from .slack_requests import slash_command


class FakeSocket:
    """Slack's side of a Socket Mode connection: says hello, sends envelopes, reads acks."""

    def __init__(self) -> None:
        self.outbox: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self.acks: list[dict[str, object]] = []
        self.connected = asyncio.Event()

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()

        async def send() -> None:
            while True:
                await ws.send_json(await self.outbox.get())

        sender = asyncio.create_task(send())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.acks.append(json.loads(message.data))
        finally:
            sender.cancel()
        return ws


async def test_a_slash_command_over_socket_mode(tmp_path: Path) -> None:
    socket = FakeSocket()
    ws_app = web.Application()
    ws_app.router.add_get("/link", socket.handler)
    async with (
        TestServer(ws_app) as ws_server,
        FakeSlackApi() as api,
        migrated_engine("sqlite", tmp_path) as engine,
    ):
        ws_url = str(ws_server.make_url("/link")).replace("http://", "ws://")
        api.handle("apps.connections.open", lambda args: {"ok": True, "url": ws_url})
        api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        api.add_user("U2", email="ben@example.com", real_name="Ben Weber")
        settings = Settings(
            DATABASE_URL="sqlite+aiosqlite:///unused.db",
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_APP_TOKEN="xapp-test",
            SLACK_API_URL=api.url,
        )
        app = await bootstrap(settings, engine=engine, migrate_db=False)
        async with TestClient(TestServer(laurel_web.build(app))):
            await asyncio.wait_for(socket.connected.wait(), 10)
            body, _ = slash_command(
                "<@U2|ben> +4 thanks for covering my shift", response_url=api.response_url("r1")
            )
            payload = {k: v[0] for k, v in parse_qs(body).items()}
            await socket.outbox.put(
                {
                    "envelope_id": "env-1",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": payload,
                }
            )
            reply = (await api.wait_for_response("r1", timeout=10))[0]
            assert "You gave 4 points to Ben Weber." in reply["text"]
            assert {"envelope_id": "env-1"}.items() <= socket.acks[0].items()
            opened = api.calls_to("apps.connections.open")
            assert opened and opened[0].token == "xapp-test"
