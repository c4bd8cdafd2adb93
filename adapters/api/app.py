"""The read API as an aiohttp sub-application, mounted by bot/web.py at /api/v1.

A sub-application of its own so that its problem-details middleware covers every path
under /api/v1 (unknown paths and wrong methods included: aiohttp runs a sub-application's
middlewares for those too), and nothing else.
"""

from __future__ import annotations

from aiohttp import web

from adapters.persistence.api_tokens import ApiTokens
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.clock import Clock

from .auth import Guard
from .openapi import OPERATIONS, document
from .paging import respond
from .problems import problems
from .resources import Resources

ROOT = "/api/v1"


def build(*, uow: SqlUnitOfWorkFactory, clock: Clock) -> web.Application:
    """The sub-application; mount it with `app.add_subapp(ROOT, build(...))`."""
    app = web.Application(middlewares=[problems])
    guard = Guard(ApiTokens(uow.engine), clock)
    resources = Resources(uow, clock)
    spec = document()

    async def openapi(_: web.Request) -> web.Response:
        return respond(spec)  # public: describing the API reveals no data

    app.router.add_get("/openapi.json", openapi, allow_head=False)
    for op in OPERATIONS:
        handler = guard.protect(op.scope, getattr(resources, op.handler))
        app.router.add_get(op.path, handler, allow_head=False)
    return app
