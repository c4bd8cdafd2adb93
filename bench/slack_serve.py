"""Signed /kudos through the real `laurel serve`, against a bare verify-and-INSERT baseline.

Everything runs on 127.0.0.1: a fresh PostgreSQL database per run, `laurel serve` as a
subprocess, a minimal fake Slack Web API (and response URLs) in this process, and the
baseline (`python -m bench.slack_serve baseline`) as a second subprocess, so that neither
server shares an event loop with the load generator.

laurel acknowledges a slash command before it records the gift, so throughput is counted
as rows durably in the database: after the last ack, `recognitions` is polled until it
holds every gift sent (or stops growing, or a timeout), and gifts recorded are divided by
the time from the first request until the last of them was there. The baseline is
measured the same way on its own table.

Each level gets its own `laurel serve` process (same database), warmed up so that every
giver and receiver is synced, so that work left over from one level (laurel keeps
working after the acks) never lands in the next one's figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlencode

import aiohttp
import asyncpg
from aiohttp import web
from rich.progress import Progress, TaskID
from sqlalchemy.engine import URL, make_url

from .common import PG_URL, median, ms, percentile

HOST = "127.0.0.1"
LEVELS = ((1, 400), (8, 1000), (32, 1000), (128, 1000))  # (clients, requests)
USERS = 1000  # U0..U999 exist in the fake; giver U{c}, receiver U{500 + c}
RECEIVER_OFFSET = 500
STARTUP_TIMEOUT = 60.0
LEVEL_TIMEOUT = 90.0  # sending one level
RECORD_TIMEOUT = 45.0  # waiting, after the last ack, for the rows
STALLED = 5.0  # ... unless no row arrived for this long: the rest are not coming
QUIET_TIMEOUT = 10.0  # waiting for laurel's notifications after the warm-up
STOP_TIMEOUT = 5.0  # SIGTERM, then SIGKILL
POLL = 0.02
ERROR_RECORD = re.compile(r"\bERROR:[\w.]+:")  # how an ERROR record starts in laurel's log
BASELINE_POOL = 10
BASELINE_TABLE = "bench_baseline_gifts"


# -- the fake Slack Web API ------------------------------------------------------------------


class FakeSlack:
    """Just enough Web API for /kudos, answered at once; counts calls and response_url posts."""

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
        await web.TCPSite(self._runner, HOST, 0).start()
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
            user = _user(str(args.get("user", "")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            email = str(args.get("email", ""))
            user = _user(email.split("@")[0].upper()) if email.endswith("@example.com") else None
            return {"ok": True, "user": user} if user else {"ok": False, "error": "users_not_found"}
        if method == "conversations.open":
            users = str(args.get("users", "")).split(",")[0].strip()
            return {"ok": True, "channel": {"id": f"D{users}"}}
        if method == "chat.postMessage":
            ts = f"{time.time():.6f}"
            return {"ok": True, "channel": args.get("channel", ""), "ts": ts}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method == "chat.getPermalink":
            channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
            link = f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}"
            return {"ok": True, "channel": channel, "permalink": link}
        return {"ok": True}


def _user(user_id: str) -> dict[str, Any] | None:
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


# -- database, ports, processes --------------------------------------------------------------


def _dsn(url: URL) -> str:
    """An asyncpg DSN for a SQLAlchemy URL (drivername without +asyncpg)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _check_local(url: URL) -> None:
    if url.host != HOST:
        raise SystemExit(f"the slack benchmark only talks to {HOST}, not {url.host or 'a socket'}")


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[URL]:
    """`CREATE DATABASE laurel_bench_<random>` on PG_URL's server; dropped (FORCE) afterwards."""
    assert PG_URL
    server = make_url(PG_URL)
    _check_local(server)
    name = f"laurel_bench_{secrets.token_hex(5)}"
    admin = await asyncpg.connect(_dsn(server), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server.set(database=name)
    finally:
        admin = await asyncpg.connect(_dsn(server), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    url: str
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def rss(self) -> int:
        """VmRSS of the process in KiB (0 once it is gone)."""
        return _status_kib(self.process.pid, "VmRSS")

    def logged_errors(self) -> int:
        """Log records of level ERROR so far (one per failure, with its traceback)."""
        try:
            return len(ERROR_RECORD.findall(self.log.read_text(errors="replace")))
        except OSError:
            return 0

    def cpu(self) -> float:
        """User + system CPU seconds the process has used so far."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@contextlib.asynccontextmanager
async def subprocess_server(
    name: str, argv: list[str], env: dict[str, str], port: int
) -> AsyncIterator[Server]:
    """Start argv, wait for GET /healthz = 200 on port; SIGTERM (then SIGKILL) on the way out."""
    workdir = Path(tempfile.mkdtemp(prefix=f"laurel-bench-{name.replace(' ', '-')}-"))
    log_path = workdir / "server.log"
    log: TextIO = log_path.open("w")
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=workdir,  # no stray .env is read
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(name, process, f"http://{HOST}:{port}", log_path)
    try:
        await _wait_healthy(server)
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


async def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.tail()}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{server.url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{server.name} not healthy after {STARTUP_TIMEOUT:.0f} s:\n{server.tail()}")


def _environment(**values: str) -> dict[str, str]:
    """This process's environment without Slack or database settings, plus `values`."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "LAUREL_", "BENCH_"))
    }
    return {**inherited, **values}


def laurel_serve(
    db: URL, fake: FakeSlack, secret: str
) -> contextlib.AbstractAsyncContextManager[Server]:
    port = free_port()
    env = _environment(
        DATABASE_URL=db.render_as_string(hide_password=False),
        PORT=str(port),
        HOST=HOST,
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=secret,
        SLACK_API_URL=fake.api_url,
        LAUREL_AUTO_MIGRATE="true",
    )
    laurel = Path(sys.executable).with_name("laurel")
    return subprocess_server("laurel serve", [str(laurel), "serve"], env, port)


def baseline_serve(db: URL, secret: str) -> contextlib.AbstractAsyncContextManager[Server]:
    port = free_port()
    root = str(Path(__file__).resolve().parents[1])
    env = _environment(
        BENCH_BASELINE_DSN=_dsn(db),
        BENCH_BASELINE_PORT=str(port),
        BENCH_BASELINE_SECRET=secret,
        PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    )
    argv = [sys.executable, "-m", "bench.slack_serve", "baseline"]
    return subprocess_server("baseline", argv, env, port)


async def configure_allowance(db: URL) -> None:
    """A generous policy through the real command, so that no gift is refused."""
    from adapters.persistence.engine import create_engine
    from adapters.persistence.uow import SqlUnitOfWorkFactory
    from core.bus import MessageBus, default_handlers
    from core.clock import SystemClock
    from core.commands import ConfigureOrganisation
    from core.policy import GivingPolicy

    engine = create_engine(db.render_as_string(hide_password=False))
    try:
        bus = MessageBus(
            uow_factory=SqlUnitOfWorkFactory(engine), handlers=default_handlers(SystemClock())
        )
        policy = GivingPolicy(allowance=100_000_000, per_gift_cap=1000)
        await bus.handle(ConfigureOrganisation(policy=policy))
    finally:
        await engine.dispose()


# -- the baseline server (a subprocess) ------------------------------------------------------


async def baseline_main() -> None:
    """Verify the signature with slack_sdk, INSERT one row, answer 200."""
    from slack_sdk.signature import SignatureVerifier

    dsn, port = os.environ["BENCH_BASELINE_DSN"], int(os.environ["BENCH_BASELINE_PORT"])
    verifier = SignatureVerifier(os.environ["BENCH_BASELINE_SECRET"])
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=BASELINE_POOL)
    assert pool is not None
    await pool.execute(
        f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} ("
        " id bigserial PRIMARY KEY, key text NOT NULL UNIQUE, giver text NOT NULL,"
        " receiver_text text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
    )
    insert = f"INSERT INTO {BASELINE_TABLE} (key, giver, receiver_text) VALUES ($1, $2, $3)"

    async def events(request: web.Request) -> web.Response:
        raw = await request.read()
        if not verifier.is_valid_request(raw, dict(request.headers)):
            return web.json_response({"error": "invalid signature"}, status=401)
        form = parse_qs(raw.decode())
        await pool.execute(insert, form["trigger_id"][0], form["user_id"][0], form["text"][0])
        return web.Response(status=200)

    async def healthz(_: web.Request) -> web.Response:
        await pool.execute("SELECT 1")
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await pool.close()


# -- load ------------------------------------------------------------------------------------

_triggers = itertools.count(1)


def slash_command(secret: str, giver: int, receiver: int, response_url: str) -> tuple[str, dict]:
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
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
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
    deadline = start + LEVEL_TIMEOUT

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


async def settle(fake: FakeSlack, period: float = 0.3) -> None:
    """Wait until laurel's notifications and response_url posts stop (bounded in time)."""
    deadline = time.monotonic() + QUIET_TIMEOUT
    while time.monotonic() < deadline:
        if time.monotonic() - fake.last_activity >= period:
            return
        await asyncio.sleep(period / 3)


# -- the suite -------------------------------------------------------------------------------


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


@dataclass
class LaurelLevel:
    result: Result
    idle_rss: int  # KiB, after the warm-up
    end_rss: int  # KiB, when the last gift was counted
    cpu: float  # seconds laurel serve used during the level (notifications included)
    apologies: int  # "something went wrong" answers posted to response_url
    logged_errors: int


async def run(progress: Progress) -> list[dict[str, str]]:
    if not PG_URL:
        progress.console.log("slack: skipped, it needs LAUREL_BENCH_PG_URL (or LAUREL_TEST_PG_URL)")
        return []
    secret = secrets.token_hex(16)
    fake = FakeSlack()
    await fake.start()
    try:
        async with fresh_database() as db:
            return await _suite(db, fake, secret, progress)
    finally:
        await fake.close()


async def _suite(db: URL, fake: FakeSlack, secret: str, progress: Progress) -> list[dict[str, str]]:
    conn = await asyncpg.connect(_dsn(db), timeout=10)
    try:

        async def gifts() -> int:
            return int(await conn.fetchval("SELECT count(*) FROM recognitions"))

        async def inserted() -> int:
            return int(await conn.fetchval(f"SELECT count(*) FROM {BASELINE_TABLE}"))

        rows = []
        async with baseline_serve(db, secret) as baseline:
            for clients, requests in LEVELS:
                ours = await _laurel_level(db, fake, secret, clients, requests, gifts, progress)
                task = progress.add_task(f"baseline, {clients} clients", total=requests)
                cpu_before = baseline.cpu()
                base = await load(
                    url=f"{baseline.url}/slack/events",
                    secret=secret,
                    clients=clients,
                    requests=requests,
                    count=inserted,
                    response_url=fake.response_url,
                    progress=progress,
                    task=task,
                )
                base_cpu = (baseline.cpu() - cpu_before) / max(base.recorded, 1)
                r = ours.result
                progress.console.log(
                    f"{clients} clients: laurel {r.rate:.0f} gifts/s ({r.recorded}/{r.sent}"
                    f" recorded in {r.elapsed:.1f} s, {ours.apologies} apologies,"
                    f" {ours.logged_errors} ERROR records, CPU per gift"
                    f" {ms(ours.cpu / max(r.recorded, 1))}); baseline {base.rate:.0f}/s"
                    f" (CPU per insert {ms(base_cpu)})"
                )
                rows.append(_row(clients, requests, ours, base))
        return rows
    finally:
        await conn.close()


async def _laurel_level(
    db: URL,
    fake: FakeSlack,
    secret: str,
    clients: int,
    requests: int,
    gifts: Callable[[], Awaitable[int]],
    progress: Progress,
) -> LaurelLevel:
    """A fresh `laurel serve`, warmed up for these clients, then `requests` signed /kudos."""
    async with laurel_serve(db, fake, secret) as laurel:
        await configure_allowance(db)  # the server has migrated the database by now
        url = f"{laurel.url}/slack/events"
        task = progress.add_task(f"laurel warm-up, {clients} clients", total=clients)
        warmed = await load(
            url=url,
            secret=secret,
            clients=clients,
            requests=clients,  # one each: every giver and receiver of this level is synced
            count=gifts,
            response_url=fake.response_url,
            progress=progress,
            task=task,
        )
        if warmed.errors or warmed.lost:
            raise RuntimeError(
                f"warm-up failed: {warmed.errors} errors, {warmed.recorded}/{warmed.sent}"
                f" recorded\n{laurel.tail()}"
            )
        await settle(fake)
        idle_rss, cpu_before, apologies = laurel.rss(), laurel.cpu(), fake.apologies
        task = progress.add_task(f"laurel serve, {clients} clients", total=requests)
        result = await load(
            url=url,
            secret=secret,
            clients=clients,
            requests=requests,
            count=gifts,
            response_url=fake.response_url,
            progress=progress,
            task=task,
        )
        end_rss = laurel.rss()
        await settle(fake)
        return LaurelLevel(
            result=result,
            idle_rss=idle_rss,
            end_rss=end_rss,
            cpu=laurel.cpu() - cpu_before,
            apologies=fake.apologies - apologies,
            logged_errors=laurel.logged_errors(),
        )


def _row(clients: int, requests: int, ours: LaurelLevel, base: Result) -> dict[str, str]:
    r = ours.result
    errors = f"{r.errors} / {base.errors}"
    if r.lost or base.lost:
        errors += f"; not recorded: {r.lost} / {base.lost}"
    return {
        "clients": str(clients),
        "requests": f"{requests:,}",
        "laurel gifts/s": f"{r.rate:.0f}",
        "baseline/s": f"{base.rate:.0f}",
        "laurel/baseline": f"{r.rate / base.rate:.2f}" if base.rate else "–",
        "laurel ack p50 / p99": f"{ms(median(r.latencies))} / {ms(percentile(r.latencies, 99))}",
        "baseline p50 / p99": (
            f"{ms(median(base.latencies))} / {ms(percentile(base.latencies, 99))}"
        ),
        "errors laurel / baseline": errors,
        "laurel RSS idle → end": f"{_mib(ours.idle_rss)} → {_mib(ours.end_rss)}",
    }


if __name__ == "__main__" and sys.argv[1:] == ["baseline"]:
    asyncio.run(baseline_main())
