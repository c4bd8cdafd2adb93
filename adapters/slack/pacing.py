"""Slack's rate limits, honoured by the whole client rather than call by call.

Slack answers 429 with `Retry-After` once a method's limit for the workspace is reached.
slack_sdk's own handler retries just that call, after Retry-After plus up to a second, five
times: a burst of deliveries (a reminder to thousands of people) finds the limit again on
every retry, and the fifth 429 drops the message. Here a 429 holds the method (for this
client, that is this workspace's token) until Retry-After has passed: the calls that were
refused retry then, and new calls of that method wait instead of asking. A call is retried
for as long as Slack asks it to wait, up to `MAX_WAITS` times.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

# Retry-After is at least a second: minutes of waiting, not a few seconds. Below 100:
# slack_sdk makes at most 100 attempts, and if a handler still asks for another it raises
# None (a TypeError) instead of Slack's answer; with 99 waits the last 429 is a SlackApiError.
MAX_WAITS = 99


class Pacing:
    """When each Web API method may be called again (monotonic time), for one workspace."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def hold(self, method: str, seconds: float) -> None:
        until = time.monotonic() + max(seconds, 0.0)
        self._until[method] = max(self._until.get(method, 0.0), until)

    async def ready(self, method: str) -> None:
        wait = self._until.get(method, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
            await self.ready(method)  # held again while we waited?


def retry_after(headers: Mapping[str, Any]) -> float:
    """Slack's Retry-After in seconds (1 when it is missing or unreadable)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return 1.0
    return 1.0


class PacedRateLimitRetry(AsyncRetryHandler):
    """429: hold the method for Retry-After, then retry once it is open again."""

    def __init__(self, pacing: Pacing, max_retry_count: int = MAX_WAITS) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._pacing = pacing

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None
        method = request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        self._pacing.hold(method, retry_after(response.headers))
        await self._pacing.ready(method)
        state.next_attempt_requested = True
        state.increment_current_attempt()


class PacedWebClient(AsyncWebClient):
    """An AsyncWebClient whose calls wait while Slack holds their method."""

    def __init__(self, *, pacing: Pacing, **options: Any) -> None:
        super().__init__(**options)
        self.pacing = pacing

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        await self.pacing.ready(api_method)
        return await super().api_call(api_method, **kwargs)
