"""GET one JSON document from an HRMS API: a timeout, retries, and one clear error.

HR systems rate-limit their APIs and have bad minutes (BambooHR answers 429 or 503 with
`Retry-After`), so a pull retries those and connection failures, waiting as the server
asks or else backing off exponentially. What retrying cannot fix (a refused token, a
wrong URL, an answer that is not JSON) fails at once. Either way the caller gets one
`HrmsUnavailable` whose message says why, and the directory is left as it was.
"""

from __future__ import annotations

import logging
from base64 import b64encode
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)
from yarl import URL

log = logging.getLogger(__name__)


class HrmsUnavailable(Exception):
    """The HRMS API did not hand over the directory; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How hard a pull tries before it gives up (tests shorten the waits)."""

    attempts: int = 5
    backoff: float = 1.0  # seconds before the first retry without Retry-After; doubles
    max_wait: float = 60.0  # no single wait is longer, whatever Retry-After says
    timeout: float = 30.0  # seconds for one request, answer included


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def basic_auth(user: str, password: str) -> str:
    """An `Authorization` header value for HTTP Basic auth (RFC 7617, UTF-8)."""
    return "Basic " + b64encode(f"{user}:{password}".encode()).decode("ascii")


async def get_json(url: str, *, headers: Mapping[str, str], policy: RetryPolicy) -> Any:
    """The decoded JSON answer of GET `url`; `HrmsUnavailable` when it cannot be had."""
    timeout = aiohttp.ClientTimeout(total=policy.timeout)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=_waiting(policy),
        retry=retry_if_exception_type(_Retryable),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            return await retrying(_get_once, session, url, headers)
        except _Retryable as error:
            raise HrmsUnavailable(
                f"GET {_shown(url)}: {error.reason} ({policy.attempts} attempts)"
            ) from None


async def _get_once(
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
) -> Any:
    try:
        async with session.get(url, headers=headers) as response:
            status = f"{response.status} {response.reason or ''}".strip()
            if response.status == 429 or response.status >= 500:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                raise _Retryable(status, wait)
            if response.status >= 400:
                raise HrmsUnavailable(f"GET {_shown(url)}: {status}{_hint(response.status)}")
            try:
                return await response.json(content_type=None)
            except ValueError:
                raise HrmsUnavailable(f"GET {_shown(url)}: the answer is not JSON") from None
    except aiohttp.InvalidURL:
        raise HrmsUnavailable(f"{_shown(url)} is not a URL (LAUREL_HRMS_URL)") from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise _Retryable(str(error) or type(error).__name__) from None


def _hint(status: int) -> str:
    if status in (401, 403):
        return " (the HRMS refused LAUREL_HRMS_TOKEN)"
    if status == 404:
        return " (check LAUREL_HRMS_URL)"
    return ""


def _shown(url: str) -> str:
    """The URL without any user or password someone put into it, for messages and logs."""
    return str(URL(url).with_user(None))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _waiting(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    """Wait as long as the server asked (capped), else back off exponentially."""
    backoff = wait_exponential(multiplier=policy.backoff, max=policy.max_wait)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return min(error.retry_after, policy.max_wait)
        return backoff(state)

    return wait
