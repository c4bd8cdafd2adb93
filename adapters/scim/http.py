"""HTTP plumbing shared by the SCIM routes: bearer auth, SCIM errors, JSON in and out.

Every answer, errors included, is `application/scim+json` (RFC 7644 3.1, 3.12), and
every failure is a SCIM Error object, even a 404 for a path laurel does not serve.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import ValidationError
from scim2_models import Error, SCIMException

from adapters.i18n import Renderer
from core.errors import DomainError, InvalidDirectoryRecord, UnknownPerson
from core.messages import MsgId

from .errors import ScimError

log = logging.getLogger("laurel.scim")

ROOT = "/scim/v2"
SCIM_JSON = "application/scim+json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def respond(
    body: dict[str, Any], *, status: int = 200, location: str | None = None
) -> web.Response:
    headers = {"Location": location} if location else None
    return web.Response(
        text=json.dumps(body), status=status, content_type=SCIM_JSON, headers=headers
    )


def error_response(error: Error, headers: dict[str, str] | None = None) -> web.Response:
    status = int(error.status or 500)
    body = error.model_dump()
    return web.Response(
        text=json.dumps(body), status=status, content_type=SCIM_JSON, headers=headers
    )


async def read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.text())
    except ValueError as error:
        raise ScimError(400, "invalidSyntax", f"the body is not JSON: {error}") from error


def base_url(request: web.Request) -> str:
    """The SCIM root as the client reached it (behind a proxy: its scheme and host)."""
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    return f"{scheme}://{host}{ROOT}"


def resource_id(request: web.Request, kind: str) -> int:
    """laurel's ids are numbers; anything else names nothing."""
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise ScimError(404, None, f"{kind} {raw} not found")
    return int(raw)


def bearer(token: str) -> Middleware:
    """Refuse, before anything else runs, a request without `Authorization: Bearer <token>`."""
    expected = token.encode()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected):
            return await handler(request)
        error = Error(status=401, detail="a valid bearer token is required")
        challenge = 'Bearer realm="laurel SCIM"'
        if given:
            challenge += ', error="invalid_token"'
        return error_response(error, headers={"WWW-Authenticate": challenge})

    return middleware


@web.middleware
async def scim_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a SCIM Error."""
    try:
        return await handler(request)
    except ScimError as error:
        return error_response(error.to_error())
    except SCIMException as error:
        return error_response(error.to_error())
    except ValidationError as error:
        return error_response(Error.from_validation_errors(error)[0])
    except DomainError as error:
        return error_response(_domain_error(error))
    except web.HTTPMethodNotAllowed as error:
        allowed = ", ".join(sorted(error.allowed_methods))
        detail = f"{request.method} is not allowed here; use {allowed}"
        return error_response(Error(status=405, detail=detail), headers={"Allow": allowed})
    except web.HTTPException as error:
        if error.status >= 400:
            return error_response(Error(status=error.status, detail=error.reason))
        raise
    except Exception:
        log.exception("SCIM %s %s failed", request.method, request.path)
        return error_response(Error(status=500, detail="laurel could not handle this request"))


def _domain_error(error: DomainError) -> Error:
    detail = Renderer("en")(error.text())
    if isinstance(error, UnknownPerson):
        return Error(status=404, detail=detail)
    if isinstance(error, InvalidDirectoryRecord) and error.problem.key == MsgId.DIRECTORY_DUPLICATE:
        return Error(status=409, scim_type="uniqueness", detail=detail)
    return Error(status=400, scim_type="invalidValue", detail=detail)
