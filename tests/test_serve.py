"""`laurel serve` as operators run it: a real process, a real port, a fake Slack."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from .slack_fake import FakeSlackApi
from .slack_harness import SECRET
from .slack_requests import signed, slash_command

LAUREL = str(Path(sys.executable).with_name("laurel"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serve(tmp_path: Path, **env: str) -> AsyncIterator[str]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))}
    environment.update(
        HOST="127.0.0.1", PORT=str(port), DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/serve.db"
    )
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        LAUREL,
        "serve",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status in (200, 503):
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        yield base
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 15)
    assert process.returncode == 0, (await process.stderr.read()).decode()  # type: ignore[union-attr]


async def test_a_signed_kudos_through_laurel_serve(tmp_path: Path) -> None:
    async with FakeSlackApi() as api:
        api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        api.add_user("U2", email="ben@example.com", real_name="Ben Weber")
        async with (
            serve(
                tmp_path,
                SLACK_BOT_TOKEN="xoxb-test",
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=api.url,
            ) as base,
            aiohttp.ClientSession() as http,
        ):
            request = signed(
                slash_command(
                    "<@U2|ben> +10 shipped the release on time", response_url=api.response_url("r1")
                ),
                SECRET,
            )
            async with http.post(
                f"{base}/slack/events", data=request.body.encode(), headers=request.headers
            ) as response:
                assert response.status == 200
            reply = (await api.wait_for_response("r1", timeout=15))[0]
            assert "You gave 10 points to Ben Weber." in reply["text"]
            await api.wait_for(
                lambda c: c.method == "chat.postMessage" and c.args.get("channel") == "DU2",
                timeout=15,
            )
            async with http.get(f"{base}/healthz") as health:
                assert (health.status, await health.json()) == (200, {"status": "ok"})


async def test_healthz_is_503_while_the_database_is_down(tmp_path: Path) -> None:
    down = "postgresql+asyncpg://postgres@127.0.0.1:1/none"
    async with (
        serve(tmp_path, DATABASE_URL=down, LAUREL_AUTO_MIGRATE="0") as base,
        aiohttp.ClientSession() as http,
        http.get(f"{base}/healthz") as health,
    ):
        assert health.status == 503
        assert await health.json() == {"status": "unavailable"}


async def test_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))
        }
        environment.update(
            HOST="127.0.0.1",
            PORT=str(port),
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/serve.db",
        )
        process = await asyncio.create_subprocess_exec(
            LAUREL,
            "serve",
            cwd=tmp_path,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode != 0
    [line] = stderr.decode().strip().splitlines()
    assert line.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert "address already in use" in line.casefold()
