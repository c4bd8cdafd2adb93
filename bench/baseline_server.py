"""The end-to-end baseline: a bare aiohttp handler that verifies the Slack signature and does
one INSERT, then answers 200. One process, like `laurel serve`.

`python -m bench.baseline_server` with BENCH_BASELINE_DSN, _PORT and _SECRET set.
"""

from __future__ import annotations

import asyncio
import os
import signal
from urllib.parse import parse_qs

import asyncpg
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

LOCALHOST = "127.0.0.1"  # imports kept to what the server needs: its RSS is a baseline
POOL = 10  # laurel's default pool size
TABLE = "bench_baseline_gifts"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " id bigserial PRIMARY KEY, key text NOT NULL UNIQUE, giver text NOT NULL,"
    " receiver_text text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
)
INSERT = f"INSERT INTO {TABLE} (key, giver, receiver_text) VALUES ($1, $2, $3)"


async def main() -> None:
    dsn, port = os.environ["BENCH_BASELINE_DSN"], int(os.environ["BENCH_BASELINE_PORT"])
    verifier = SignatureVerifier(os.environ["BENCH_BASELINE_SECRET"])
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=POOL)
    assert pool is not None
    await pool.execute(CREATE)

    async def events(request: web.Request) -> web.Response:
        raw = await request.read()
        if not verifier.is_valid_request(raw, dict(request.headers)):
            return web.json_response({"error": "invalid signature"}, status=401)
        form = parse_qs(raw.decode())
        await pool.execute(INSERT, form["trigger_id"][0], form["user_id"][0], form["text"][0])
        return web.Response(status=200)

    async def healthz(_: web.Request) -> web.Response:
        await pool.execute("SELECT 1")
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None, handle_signals=True)
    await runner.setup()
    await web.TCPSite(runner, LOCALHOST, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
