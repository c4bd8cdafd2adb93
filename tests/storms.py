"""Stormy fakes: the Slack Web API and the Teams connector answering 429 and 5xx to most
calls, as a platform does during an incident.

The fakes' own `fail(...)` queues are consumed by whichever call comes next, so with many
deliveries in flight one message can meet every failure. Here each message (a method and
its arguments, or a conversation and its activity) has its own plan instead: a random run
of failures, then success. `most` bounds the run, so a storm can be made to stay within
the clients' retry budgets (Slack: 4 retries for 5xx; Teams: 5 attempts) or go beyond.
"""

from __future__ import annotations

import json
import random
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .slack_fake import Call, FakeSlackApi
from .teams_fake import FakeConnector, _error

STATUSES = (429, 429, 500, 502, 503, 504)


class Plan:
    """Which statuses a message meets, call after call, before it goes through."""

    def __init__(
        self, seed: int, most: int, methods: frozenset[str], *, always: bool = False
    ) -> None:
        self.seed = seed
        self.most = most
        self.always = always  # every message meets `most` failures, not a random number
        self.methods = methods
        self.on = False
        self.seen: Counter[str] = Counter()
        self.failed = 0

    def status(self, method: str, identity: str) -> int | None:
        if not self.on or method not in self.methods:
            return None
        key = f"{method} {identity}"
        rng = random.Random(zlib.crc32(key.encode()) ^ self.seed)
        length = self.most if self.always else rng.randint(0, self.most)
        run = [rng.choice(STATUSES) for _ in range(length)]
        attempt = self.seen[key]
        self.seen[key] += 1
        if attempt < len(run):
            self.failed += 1
            return run[attempt]
        return None


def _identity(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, default=str)


class StormySlackApi(FakeSlackApi):
    def __init__(self, *, seed: int = 1, most: int = 3, methods: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.storm = Plan(seed, most, frozenset(methods))

    def _fault_response(self, method: str, call: Call) -> web.Response | None:
        injected = super()._fault_response(method, call)
        if injected is not None:
            return injected
        status = self.storm.status(method, _identity(call.args))
        if status is None:
            return None
        call.failed = True
        error = "ratelimited" if status == 429 else "internal_error"
        headers = {"Retry-After": "0"} if status == 429 else {}
        return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


class StormyConnector(FakeConnector):
    """Storms `send` (posts to a conversation, replies included) and `create` (opening a
    personal chat), except in the conversations `spare` names."""

    def __init__(self, *, seed: int = 1, most: int = 3) -> None:
        super().__init__()
        self.storm = Plan(seed, most, frozenset({"send", "create"}))
        self.spare: Callable[[str], bool] = lambda conversation: False

    async def _route(self, request: web.Request, path: list[str]) -> web.Response:
        if request.method == "POST" and path[:2] == ["v3", "conversations"]:
            body = json.loads(await request.read() or b"{}")
            if len(path) == 2:
                kind, identity = "create", _identity(body.get("members") or [])
            elif len(path) >= 4 and path[3] == "activities" and not self.spare(path[2]):
                kind, identity = "send", f"{path[2]} {_identity(_content(body))}"
            else:
                kind, identity = "", ""
            status = self.storm.status(kind, identity)
            if status is not None:  # recorded in `calls` by the fake, kept out of `sent`
                response = _error(status, "Throttled" if status == 429 else "ServiceError", "storm")
                if status == 429:
                    response.headers["Retry-After"] = "0"
                return response
        return await super()._route(request, path)


def _content(activity: dict[str, Any]) -> dict[str, Any]:
    """What stays the same when the SDK sends an activity again."""
    return {k: activity.get(k) for k in ("type", "text", "summary", "attachments")}
