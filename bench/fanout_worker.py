"""The fan-out benchmark's laurel: the allowance reminder job, run once through the real bus
and the real Slack adapter (notifier, Web API client, retry handlers), as `laurel serve`'s
scheduler runs it, then drained the way shutdown drains it.

`python -m bench.fanout_worker` with DATABASE_URL, SLACK_* and BENCH_NOW (ISO time) set;
prints one JSON line: {"reminders": n, "job": seconds, "delivery": seconds}.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime

from bot import logs
from bot.bootstrap import bootstrap
from bot.settings import Settings
from bot.web import ChatAdapters
from core.commands import RemindUnusedAllowance


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


async def main() -> None:
    settings = Settings()
    logs.configure(settings.log_format)
    now = datetime.fromisoformat(os.environ["BENCH_NOW"])
    app = await bootstrap(settings, clock=FixedClock(now), migrate_db=False)
    chats = ChatAdapters.build(app)
    try:
        begin = time.perf_counter()
        reminders = await app.bus.handle(RemindUnusedAllowance())
        job = time.perf_counter() - begin
    finally:
        await chats.close()  # delivers what is in flight, as at shutdown
        await app.close()
    delivery = time.perf_counter() - begin
    print(json.dumps({"reminders": reminders, "job": job, "delivery": delivery}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
