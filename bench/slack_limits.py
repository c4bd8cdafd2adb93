"""tests/slack_fake.py's fake Slack Web API, enforcing Slack's rate limits.

Slack limits each Web API method per app and workspace (Tier 3: 50+ calls a minute,
Tier 4: 100+, "sporadic bursts welcome"), and chat.postMessage also to about one message
per second per channel with short bursts. Beyond a limit it answers HTTP 429
`{"ok": false, "error": "ratelimited"}` with `Retry-After` in whole seconds. Here each limit
is a token bucket; a call that finds any of its buckets empty gets that answer, with the
seconds until the bucket has a token again (at least 1), and consumes nothing.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from aiohttp import web

from tests.slack_fake import Call, FakeSlackApi


@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: float  # the bucket's size: how many calls may come at once after a quiet spell
    per_channel: bool = False  # one bucket per channel (chat.postMessage), else per workspace


class RateLimitedSlack(FakeSlackApi):
    name = "rate-limited fake Slack API"

    def __init__(self, limits: dict[str, list[Limit]]) -> None:
        super().__init__()
        self.limits = limits
        self.limited: Counter[str] = Counter()  # 429 answers, by method
        self.accepted: dict[str, list[float]] = defaultdict(list)  # monotonic times, by method
        self.first_call = 0.0  # monotonic time of the first limited method's first call
        self._buckets: dict[tuple[str, str, str, int], tuple[float, float]] = {}

    def _fault_response(self, method: str, call: Call) -> web.Response | None:
        injected = super()._fault_response(method, call)
        if injected is not None or method not in self.limits:
            return injected
        now = time.monotonic()
        self.first_call = self.first_call or now
        levels = []
        wait = 0.0
        for i, limit in enumerate(self.limits[method]):
            channel = self._channel(call.args) if limit.per_channel else ""
            key = (method, call.token or "", channel, i)
            level, last = self._buckets.get(key, (limit.burst, now))
            level = min(limit.burst, level + (now - last) * limit.per_second)
            levels.append((key, level))
            if level < 1:
                wait = max(wait, (1 - level) / limit.per_second)
        spent = 0 if wait else 1
        for key, level in levels:
            self._buckets[key] = (level - spent, now)
        if not wait:
            self.accepted[method].append(now)
            return None
        self.limited[method] += 1
        call.failed = True
        return web.json_response(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
