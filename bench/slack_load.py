"""Load for the end-to-end benchmark: a minimal fake Slack Web API, signed /kudos requests
from N concurrent clients, and throughput counted as rows durably in the database."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from rich.progress import Progress, TaskID

from .common import LOCALHOST

USERS = 1000  # U0..U999 exist in the fake; giver U{c}, receiver U{RECEIVER_OFFSET + c}
RECEIVER_OFFSET = 500
SEND_TIMEOUT = 120.0  # sending one level
RECORD_TIMEOUT = 60.0  # waiting, after the last ack, for the rows
STALLED = 10.0  # ... unless no row arrived for this long: the rest are not coming
QUIET_TIMEOUT = 30.0  # waiting for laurel's notifications to stop
POLL = 0.02


class FakeSlack:
    """Just enough Web API for /kudos, answered at once; counts calls and response_url posts.

    Deliberately cheaper than tests/slack_fake.py (which keeps every call): it shares the
    machine's two cores with the server under test.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.responses = 0
        self.apologies = 0  # response_url posts without blocks: laurel's "something went wrong"
        self.last_activity = time.monotonic()
        self._runner: web.AppRunner | None = None
        self.root = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{n}", self._response)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOCALHOST, 0).start()
        host, port = self._runner.addresses[0][:2]
        self.root = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.root}/api/"

    def response_url(self, n: int) -> str:
        return f"{self.root}/response/{n}"

    async def _response(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        self.responses += 1
        self.apologies += not (isinstance(body, dict) and body.get("blocks"))
        self.last_activity = time.monotonic()
        return web.json_response({"ok": True})

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        elif request.can_read_body:
            args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        self.calls[method] += 1
        self.last_activity = time.monotonic()
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "laurel",
                "team_id": "T1",
                "user_id": "UBOT",
                "bot_id": "B1",
                "is_enterprise_install": False,
            }
        if method == "users.info":
            user = slack_user(str(args.get("user", "")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            email = str(args.get("email", ""))
            user = (
                slack_user(email.split("@")[0].upper()) if email.endswith("@example.com") else None
            )
            return {"ok": True, "user": user} if user else {"ok": False, "error": "users_not_found"}
        if method == "conversations.open":
            users = str(args.get("users", "")).split(",")[0].strip()
            return {"ok": True, "channel": {"id": f"D{users}"}}
        if method == "chat.postMessage":
            ts = f"{time.time():.6f}"
            return {"ok": True, "channel": args.get("channel", ""), "ts": ts}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        return {"ok": True}


def slack_user(user_id: str) -> dict[str, Any] | None:
    if not (user_id[:1] == "U" and user_id[1:].isdigit() and int(user_id[1:]) < USERS):
        return None
    n = int(user_id[1:])
    name = f"Bench User {n}"
    return {
        "id": user_id,
        "team_id": "T1",
        "name": f"u{n}",
        "real_name": name,
        "deleted": False,
        "is_bot": False,
        "tz": "Europe/Berlin",
        "tz_offset": 3600,
        "profile": {
            "email": f"u{n}@example.com",
            "real_name": name,
            "display_name": "",
            "image_72": f"https://avatars.example.com/{user_id}_72.png",
            "team": "T1",
        },
    }


_triggers = itertools.count(1)


def slash_command(
    secret: str, giver: int, receiver: int, response_url: str
) -> tuple[str, dict[str, str]]:
    """A /kudos form body exactly as Slack sends it, with v0 signature headers."""
    n = next(_triggers)
    body = urlencode(
        {
            "token": "bench-verification-token",
            "team_id": "T1",
            "team_domain": "example",
            "channel_id": "C1",
            "channel_name": "general",
            "user_id": f"U{giver}",
            "user_name": f"u{giver}",
            "command": "/kudos",
            "text": f"<@U{receiver}|u{receiver}> +1 thanks for the help",
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{n}.{secrets.token_hex(8)}",
        }
    )
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Signature": f"v0={digest}",
        "X-Slack-Request-Timestamp": ts,
    }
    return body, headers


@dataclass
class Result:
    sent: int = 0
    errors: int = 0  # answers other than 200, and requests that got no answer
    recorded: int = 0
    elapsed: float = 0.0  # first request until the last row counted was there
    sending: float = 0.0  # first request until the last ack
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Gifts durably recorded per second (never acknowledgements)."""
        return self.recorded / self.elapsed if self.elapsed else 0.0

    @property
    def lost(self) -> int:
        return self.sent - self.recorded


async def load(
    *,
    url: str,
    secret: str,
    clients: int,
    requests: int,
    count: Callable[[], Awaitable[int]],
    response_url: Callable[[int], str],
    progress: Progress,
    task: TaskID,
) -> Result:
    """`requests` signed /kudos from `clients` concurrent clients; throughput counts rows."""
    result = Result()
    before = await count()
    queue = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    start = time.perf_counter()
    deadline = start + SEND_TIMEOUT

    async def client(c: int, http: aiohttp.ClientSession) -> None:
        for n in queue:
            if time.perf_counter() > deadline:
                return
            body, headers = slash_command(secret, c, RECEIVER_OFFSET + c, response_url(n))
            sent = time.perf_counter()
            try:
                async with http.post(url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            result.latencies.append(time.perf_counter() - sent)
            result.sent += 1
            result.errors += not ok
            progress.advance(task)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(client(c, http) for c in range(clients)))
    result.sending = time.perf_counter() - start
    # Acks alone do not count: wait until the rows are in the database.
    label = progress.tasks[task].description
    recorded, changed = await count() - before, time.perf_counter()
    give_up = changed + RECORD_TIMEOUT
    while recorded < result.sent:
        progress.update(task, description=f"{label} (recorded {recorded}/{result.sent})")
        now = time.perf_counter()
        if now > give_up or now - changed > STALLED:
            break
        await asyncio.sleep(POLL)
        latest = await count() - before
        if latest != recorded:
            recorded, changed = latest, time.perf_counter()
    progress.update(task, description=f"{label} (recorded {recorded}/{result.sent})")
    result.recorded, result.elapsed = recorded, changed - start
    return result


async def settle(fake: FakeSlack, period: float = 0.5) -> None:
    """Wait until laurel's notifications and response_url posts stop (bounded in time)."""
    deadline = time.monotonic() + QUIET_TIMEOUT
    while time.monotonic() < deadline:
        if time.monotonic() - fake.last_activity >= period:
            return
        await asyncio.sleep(period / 3)
