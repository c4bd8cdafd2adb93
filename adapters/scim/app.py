"""The SCIM service as an aiohttp sub-application, mounted by bot/web.py at /scim/v2.

A sub-application of its own so that its middlewares (bearer token first, then SCIM
errors) wrap every path under /scim/v2, unknown ones included, and nothing else.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from core.bus import MessageBus
from core.ports import UnitOfWorkFactory

from .discovery import Discovery
from .errors import ScimError, not_found
from .groups import Groups
from .http import ROOT, bearer, scim_errors
from .store import ScimStore
from .user_routes import Users

__all__ = ["ROOT", "build"]


def build(
    *, bus: MessageBus, uow: UnitOfWorkFactory, engine: AsyncEngine, token: str
) -> web.Application:
    """The sub-application; mount it with `app.add_subapp(ROOT, build(...))`."""
    if not token:
        raise ValueError("the SCIM bearer token is empty")
    store = ScimStore(engine)
    app = web.Application(middlewares=[bearer(token), scim_errors])
    app.router.add_routes(_resources("Users", Users(bus=bus, uow=uow, store=store)))
    app.router.add_routes(_resources("Groups", Groups(store=store)))
    discovery = Discovery()
    app.router.add_get("/ServiceProviderConfig", discovery.config)
    app.router.add_get("/Schemas", discovery.schemas)
    app.router.add_get("/Schemas/{id}", discovery.schema)
    app.router.add_get("/ResourceTypes", discovery.resource_types)
    app.router.add_get("/ResourceTypes/{id}", discovery.resource_type)
    app.router.add_post("/.search", _no_root_search)
    app.router.add_route("*", "/{tail:.*}", _unknown)
    return app


def _resources(name: str, endpoints: Users | Groups) -> list[web.RouteDef]:
    return [
        web.get(f"/{name}", endpoints.listing, allow_head=False),
        web.post(f"/{name}", endpoints.create),
        web.get(f"/{name}/{{id}}", endpoints.get, allow_head=False),
        web.put(f"/{name}/{{id}}", endpoints.replace),
        web.patch(f"/{name}/{{id}}", endpoints.patch),
        web.delete(f"/{name}/{{id}}", endpoints.delete),
    ]


async def _no_root_search(_: web.Request) -> web.Response:
    raise ScimError(501, None, "searching several resource types at once is not supported")


async def _unknown(request: web.Request) -> web.Response:
    """404 for a path laurel does not serve, 405 for a method another route lacks."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not request.match_info.route.resource:
            _, methods = await resource.resolve(request)
            allowed |= methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise not_found("resource", request.path)
