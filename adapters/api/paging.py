"""Cursor pages and the query parameters the listings share (`limit`, `cursor`, `from`, `to`).

A cursor is opaque to clients: base64 of the last id of the page, so a walk sees every
row once, whatever arrives meanwhile. The next page's URL is in the body (`next`) and in
a `Link: <…>; rel="next"` header (RFC 8288); the last page has `next: null`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web

from adapters.persistence.api_reads import Window

from .problems import bad_request

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_ID = 2**63 - 1  # ids are BIGINT: a larger number names nothing (and would not bind)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    after: int  # the last id of the previous page; 0 before the first
    limit: int

    @property
    def fetch(self) -> int:
        """One row more than the page holds: whether it exists says if a next page does."""
        return self.limit + 1


def page_request(request: web.Request) -> PageRequest:
    return PageRequest(
        after=decode_cursor(request.query.get("cursor")), limit=_limit(request.query.get("limit"))
    )


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_request(f"limit: a whole number from 1 to {MAX_LIMIT}, not {raw!r}")
    return int(raw)


def parse_id(raw: str) -> int | None:
    """A path's id as a number, or None when it cannot be one of laurel's ids."""
    if raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID:
        return int(raw)
    return None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not (text.isascii() and text.isdigit() and int(text) <= MAX_ID):
        raise bad_request("cursor: use the `next` link of the previous page as it is")
    return int(text)


def window(request: web.Request) -> Window:
    since, until = _moment(request, "from"), _moment(request, "to")
    if since is not None and until is not None and since >= until:
        raise bad_request("from must be before to")
    return Window(since, until)


def _moment(request: web.Request, name: str) -> datetime | None:
    """An ISO 8601 date (midnight UTC) or date-time (UTC unless it has an offset)."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(
            f"{name}: an ISO 8601 date (2026-01-31) or date-time (2026-01-31T09:00:00Z), "
            f"not {raw!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def page_response(
    request: web.Request,
    page: PageRequest,
    rows: Sequence[T],
    *,
    key: Callable[[T], int],
    render: Callable[[T], dict[str, Any]],
) -> web.Response:
    """The page (rows fetched with `page.fetch`), with the link to the next one if any."""
    shown = rows[: page.limit]
    next_url = _next_url(request, key(shown[-1])) if len(rows) > page.limit else None
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else None
    return respond({"data": [render(row) for row in shown], "next": next_url}, headers=headers)


def respond(body: dict[str, Any], *, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, headers=headers, dumps=_dumps)


def _next_url(request: web.Request, last_id: int) -> str:
    """Absolute, as the client reached laurel (behind a proxy: its scheme and host)."""
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    rest = request.rel_url.update_query(cursor=encode_cursor(last_id))
    return f"{scheme}://{host}{rest}"


def _dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)  # names in any script, as they are
