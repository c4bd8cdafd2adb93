"""Bearer tokens with scopes: who may read what (RFC 6750 challenges on refusal)."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from adapters.persistence.api_tokens import ApiToken, ApiTokens
from core.clock import Clock

from .problems import Handler, Problem
from .scopes import Scope

log = logging.getLogger("laurel.api")

REALM = 'Bearer realm="laurel API"'
# A token's last use is for operators spotting stale tokens: a minute is precise enough,
# and it spares a write per request.
TOUCH_EVERY = timedelta(minutes=1)


class Guard:
    def __init__(self, tokens: ApiTokens, clock: Clock) -> None:
        self._tokens = tokens
        self._clock = clock

    def protect(self, scope: Scope, handler: Handler) -> Handler:
        """The handler, run only for a live token that holds `scope`."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            await self.require(request, scope)
            return await handler(request)

        return guarded

    async def require(self, request: web.Request, scope: Scope) -> ApiToken:
        secret = _bearer(request)
        if secret is None:
            raise Problem(
                401,
                "an API token is required: Authorization: Bearer lrl_…",
                headers={"WWW-Authenticate": REALM},
            )
        token = await self._tokens.authenticate(secret)
        if token is None:
            raise Problem(
                401,
                "the API token is unknown or revoked",
                headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
            )
        if scope.value not in token.scopes:
            challenge = f'{REALM}, error="insufficient_scope", scope="{scope.value}"'
            raise Problem(
                403,
                f"this token lacks the scope {scope.value}",
                headers={"WWW-Authenticate": challenge},
            )
        await self._touch(token)
        return token

    async def _touch(self, token: ApiToken) -> None:
        now = self._clock.now()
        if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
            return
        try:
            await self._tokens.touch(token.id, at=now, every=TOUCH_EVERY)
        except Exception:  # bookkeeping: never fail a read because it could not be noted
            log.warning("could not record the use of API token %s", token.name, exc_info=True)


def _bearer(request: web.Request) -> str | None:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    given = given.strip()
    return given if scheme.lower() == "bearer" and given else None
