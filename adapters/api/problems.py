"""Errors as RFC 9457 problem details (`application/problem+json`), for every path under
/api/v1, unknown ones and wrong methods included."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from core.errors import TransientStoreError

log = logging.getLogger("laurel.api")

PROBLEM_JSON = "application/problem+json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """A request the API refuses: its status, why, and headers the answer needs."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}

    def response(self) -> web.Response:
        body = {
            "type": "about:blank",  # RFC 9457: the status says it all; the title is its phrase
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }
        return web.Response(
            text=json.dumps(body, ensure_ascii=False),
            status=self.status,
            content_type=PROBLEM_JSON,
            headers=self.headers,
        )


def bad_request(detail: str) -> Problem:
    return Problem(400, detail)


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a problem document."""
    try:
        return await handler(request)
    except Problem as problem:
        return problem.response()
    except web.HTTPMethodNotAllowed as error:
        allowed = ", ".join(sorted(error.allowed_methods))
        detail = f"{request.method} is not allowed here: the API is read-only (use {allowed})"
        return Problem(405, detail, headers={"Allow": allowed}).response()
    except web.HTTPNotFound:
        return Problem(404, f"{request.path} is not part of this API").response()
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return Problem(error.status, f"{request.path}: {error.reason}").response()
    except TransientStoreError:
        return Problem(503, "the database is busy; retry", headers={"Retry-After": "1"}).response()
    except Exception:
        log.exception("API %s %s failed", request.method, request.path)
        return Problem(500, "laurel could not answer this request").response()
