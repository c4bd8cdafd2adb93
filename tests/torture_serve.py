"""`laurel serve` as a child process that the torture suites can kill -9, restart, and load
with signed Slack requests; and a throw-away PostgreSQL database for it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

from .conftest import PG_URL
from .slack_harness import SECRET
from .slack_requests import signed, slash_command
from .test_serve import free_port

LAUREL = str(Path(sys.executable).with_name("laurel"))


@dataclass
class Serve:
    """One `laurel serve` process; its output goes to a file (a full pipe would stall it)."""

    process: asyncio.subprocess.Process
    base: str
    log: Path

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)

    async def wait_dead(self) -> None:
        await asyncio.wait_for(self.process.wait(), 15)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def server_logs(where: Path) -> str:
    """Everything the `laurel serve` processes started in `where` wrote."""
    return "".join(log.read_text(errors="replace") for log in sorted(where.glob("*.log")))


async def start(tmp_path: Path, name: str, env: dict[str, str], timeout: float = 60) -> Serve:  # noqa: ASYNC109
    """Start `laurel serve` and wait until /healthz answers 200."""
    port = free_port()
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE", "LAUREL_", "MICROSOFT_"))
    }
    environment.update(HOST="127.0.0.1", PORT=str(port), **env)
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            LAUREL, "serve", "--no-scheduler", cwd=tmp_path, env=environment, stdout=out, stderr=out
        )
    server = Serve(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise AssertionError(f"laurel serve exited: {server.output()}")
            try:
                async with http.get(f"{server.base}/healthz") as health:
                    if health.status == 200:
                        return server
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    server.kill9()
    raise AssertionError(f"laurel serve never became healthy: {server.output()}")


@asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database (laurel serve takes no schema option), dropped after."""
    assert PG_URL
    name = f"laurel_torture_{uuid.uuid4().hex[:10]}"
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@dataclass
class Kudos:
    """One /kudos request: who gives to whom, and what became of it."""

    trigger: str
    giver: str
    receiver: str
    status: int | None = None  # the HTTP status laurel answered; None: no answer (killed)
    seconds: float = 0.0  # how long the answer took
    body: str = field(default="", repr=False)

    def request(self, response_url: str) -> tuple[str, dict[str, str]]:
        built = slash_command(
            f"<@{self.receiver}> +1 thanks for holding the fort ({self.trigger})",
            user_id=self.giver,
            trigger_id=self.trigger,
            response_url=response_url,
        )
        request = signed(built, SECRET)
        return request.body, request.headers


async def send(http: aiohttp.ClientSession, base: str, kudos: Kudos, response_url: str) -> None:
    body, headers = kudos.request(response_url)
    started = time.monotonic()
    try:
        async with http.post(
            f"{base}/slack/events",
            data=body.encode(),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=10),
        ) as response:
            kudos.body = await response.text()
            kudos.status = response.status
    except (aiohttp.ClientError, TimeoutError):
        kudos.status = None
    kudos.seconds = time.monotonic() - started
