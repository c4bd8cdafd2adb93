"""The Slack Web API client: laurel's base URL, and retries that honour Slack's limits."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from .pacing import PacedRateLimitRetry, PacedWebClient, Pacing


def web_client(
    token: str | None, base_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """bolt ignores SLACK_API_URL unless the client it gets was built with it.

    The default client retries connection errors only; 429 and 5xx (with back-off) are
    retried too, so a notification survives Slack's rate limits. A 429 holds its method for
    every call of this client (this workspace) until Retry-After has passed (pacing.py).
    """
    pacing = Pacing()
    return PacedWebClient(
        pacing=pacing,
        token=token,
        base_url=base_url,
        session=session,  # shared: one connection pool (and TLS handshake) for every call
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
            PacedRateLimitRetry(pacing),
            ServerErrorRetry(max_retry_count=4),
        ],
    )


class ServerErrorRetry(AsyncServerErrorRetryHandler):
    """slack_sdk retries 500 and 503 only: a 502 or 504 (a gateway in between, common in
    an incident) failed the call at once, and its DM or announcement was lost (found by
    tests/test_faults_platforms.py)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)


async def check_token(token: str | None, base_url: str) -> tuple[bool, str]:
    """(works, what to tell the operator) for a bot token, through auth.test."""
    try:
        answer = await web_client(token, base_url).auth_test()
    except SlackApiError as error:
        return False, f"the bot token is refused: {error.response['error']}"
    except OSError as error:
        return False, f"cannot reach {base_url}: {error}"
    return True, f"bot {answer.get('user')} in {answer.get('team')}"


async def check_app_token(app_token: str, base_url: str) -> tuple[bool, str]:
    """(works, what to tell the operator) for Socket Mode's app-level token: Slack hands
    out a connection URL for it (one that expires unused)."""
    try:
        await web_client(app_token, base_url).apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        return False, f"the app-level token (SLACK_APP_TOKEN) is refused: {error.response['error']}"
    except OSError as error:
        return False, f"cannot reach {base_url}: {error}"
    return True, "Socket Mode: Slack accepts the app-level token"
