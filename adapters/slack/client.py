"""The Slack Web API client: laurel's base URL, and retries that honour Slack's limits."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient


def web_client(
    token: str | None, base_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """bolt ignores SLACK_API_URL unless the client it gets was built with it.

    The default client retries connection errors only; 429 (after Retry-After) and 5xx
    (with back-off) are retried too, so a notification survives Slack's rate limits.
    """
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,  # shared: one connection pool (and TLS handshake) for every call
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=4),
        ],
    )


async def check_token(token: str | None, base_url: str) -> tuple[bool, str]:
    """(works, what to tell the operator) for a bot token, through auth.test."""
    try:
        answer = await web_client(token, base_url).auth_test()
    except SlackApiError as error:
        return False, f"the bot token is refused: {error.response['error']}"
    except OSError as error:
        return False, f"cannot reach {base_url}: {error}"
    return True, f"bot {answer.get('user')} in {answer.get('team')}"
