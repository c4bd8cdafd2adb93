"""A fake Bot Framework Connector (REST API v3) on localhost, for driving the Teams adapter.

Usage::

    async with FakeConnector() as connector:
        connector.add_member("29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com")
        activity = ta.message(connector.url, sender=ana, text="<at>laurel</at> help")
        ...  # hand the activity to the adapter; it answers through connector.url
        [reply] = await connector.wait_for(count=1)
        assert reply.reply_to == activity["id"]

The paths and JSON shapes are those botframework-connector 4.17.1 (msrest) sends and accepts.
Conversation and member ids arrive percent-encoded (msrest quotes every path segment, so
"19:abc@thread.tacv2;messageid=1" becomes "19%3Aabc%40thread.tacv2%3Bmessageid%3D1"); the fake
splits the raw path and decodes each segment itself, so ids with ':', ';', '@', '=' or even '/'
are recorded exactly as the bot meant them.

Note msrest sends through `requests` with urllib3 retries: GET, PUT and DELETE answered 408 or
5xx (other than 501/505) are retried up to three times, and 429/503 with a Retry-After header
are retried after sleeping that long; POST is never retried. A fault injected for "member" or
"update" is therefore often invisible to the bot; one for "send" or "create" is not.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from aiohttp import web

from .local_server import LocalServer

__all__ = ["ADAPTIVE_CARD", "Call", "FakeConnector", "Sent"]

Json = dict[str, Any]

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"

UPLOAD_CHUNK_LIMIT = 4 * 1024 * 1024  # what Teams allows in one PUT of a file consent upload
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")

FAULT_KINDS = frozenset({"send", "update", "delete", "create", "member"})

_FAULT_CODES = {
    400: "BadArgument",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    412: "PreconditionFailed",
    413: "MessageSizeTooBig",
    429: "Throttled",
}


@dataclass
class Sent:
    """One activity the bot posted, replied, updated or deleted, as the connector accepted it."""

    method: str
    """"POST" (send, reply, or the first message of a created conversation), "PUT" or "DELETE"."""
    conversation_id: str
    reply_to: str | None
    """The activity id in the path of a reply, update or delete; None for a plain send."""
    activity: Json
    id: str
    """The activity id the fake answered (for PUT and DELETE: the id that was changed)."""

    @property
    def text(self) -> str | None:
        """The activity's text, the usual thing to assert on."""
        text = self.activity.get("text")
        return text if isinstance(text, str) else None


@dataclass
class Call:
    """Any request that reached the fake, failed or not, for auth and traffic assertions."""

    method: str
    path: str
    """The raw (still percent-encoded) path, without the query string."""
    status: int
    authorization: str | None


@dataclass
class _Fault:
    status: int
    times: int
    retry_after: int | None


class FakeConnector(LocalServer):
    """An aiohttp server on 127.0.0.1 standing in for the Teams serviceUrl."""

    name = "fake Connector"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []
        """Activities the connector accepted, oldest first; injected failures are not in it."""
        self.created: list[Json] = []
        """Request bodies (ConversationParameters JSON) of every accepted create conversation."""
        self.calls: list[Call] = []
        self.unexpected: list[str] = []
        """"METHOD /raw/path" of requests the fake has no route for (answered 404)."""
        self.members: dict[str, Json] = {}
        """Registered TeamsChannelAccount JSON by member id."""
        self.refuse_create = False
        """Answer every create conversation 403, as Teams does when the app isn't installed."""
        self._not_installed: set[str] = set()
        self._one_to_one: dict[str, str] = {}
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self.uploads: dict[str, bytearray] = {}
        """Bytes received at each upload URL handed out by `upload_url`, by that URL."""
        self.upload_ranges: list[str] = []
        """The Content-Range of every upload PUT the fake accepted, in order."""
        self._upload_sizes: dict[str, int] = {}
        self.shared: dict[str, bytes] = {}
        """Files people shared in a message (`add_file`), by download URL."""
        self._upload_ids = itertools.count(1)
        self._activity_ids = itertools.count(1)
        self._conversation_ids = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._dispatch)

    @property
    def url(self) -> str:
        """The serviceUrl to put in activities; ends with "/" as Teams' own do."""
        return f"{self.root}/"

    # -- test set-up -------------------------------------------------------------------------

    def add_member(
        self,
        member_id: str,
        *,
        aad: str,
        name: str,
        email: str | None = None,
        tenant: str = "tenant-1",
        upn: str | None = None,
        installed: bool = True,
    ) -> Json:
        """Register a Teams user and return the TeamsChannelAccount JSON lookups answer.

        `upn=None` uses the email, as in most tenants. `installed=False` makes creating a 1:1
        conversation with this user answer 403, like `refuse_create` but for one person.
        """
        given, _, surname = name.partition(" ")
        member: Json = {
            "id": member_id,
            "name": name,
            "aadObjectId": aad,
            "email": email,
            "userPrincipalName": upn if upn is not None else email,
            "tenantId": tenant,
            "givenName": given,
            "surname": surname or None,
            "userRole": "user",
        }
        self.members[member_id] = member
        if not installed:
            self._not_installed.add(member_id)
        return member

    def upload_url(self) -> str:
        """A OneDrive upload session's URL, as Teams puts in an accepted file consent; the
        file's bytes PUT there land in `uploads[url]`."""
        url = f"{self.root}/upload/session-{next(self._upload_ids)}"
        self.uploads[url] = bytearray()
        return url

    def add_file(self, content: bytes) -> str:
        """A file a person shared in their personal chat with the bot: the pre-authenticated
        `downloadUrl` Teams hands the bot (no Authorization needed), serving `content`."""
        url = f"{self.root}/download/file-{len(self.shared) + 1}"
        self.shared[url] = content
        return url

    def fail(self, kind: str, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` calls of `kind` with `status` and a Bot Framework error body.

        Kinds: "send" (send and reply), "update", "delete", "create", "member" (any member
        lookup). `retry_after` adds a Retry-After header. Failed calls stay out of `sent`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        self._faults[kind].append(_Fault(status, times, retry_after))

    def clear(self) -> None:
        """Forget recorded traffic (members, faults and refusals stay)."""
        self.sent.clear()
        self.created.clear()
        self.calls.clear()
        self.unexpected.clear()

    # -- inspection --------------------------------------------------------------------------

    @property
    def auth_headers(self) -> list[str | None]:
        """The Authorization header of every request, in order (None when absent)."""
        return [c.authorization for c in self.calls]

    def to(self, conversation_id: str) -> list[Sent]:
        """Everything accepted for one (decoded) conversation id, oldest first."""
        return [s for s in self.sent if s.conversation_id == conversation_id]

    @staticmethod
    def cards(sent: Sent) -> list[Json]:
        """The Adaptive Card contents among the activity's attachments."""
        attachments = sent.activity.get("attachments") or []
        return [a["content"] for a in attachments if a.get("contentType") == ADAPTIVE_CARD]

    async def wait_for(
        self,
        predicate: Callable[[], bool] | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is the point of the helper
    ) -> list[Sent]:
        """Wait until `predicate()` holds (or `count` activities were accepted); return `sent`."""
        done = predicate or (lambda: len(self.sent) >= count)
        if not await self._wait(done, timeout):
            what = getattr(predicate, "__name__", repr(predicate)) if predicate else f"{count}"
            raise AssertionError(f"waited {timeout}s for {what}; {self._summary()}")
        return list(self.sent)

    async def quiet(self, period: float = 0.2, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until no request arrived for `period` seconds, before asserting nothing was sent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = -1
        while (now := len(self.calls)) != seen:
            seen = now
            if loop.time() > deadline:
                raise AssertionError(f"the fake Connector never went quiet; {self._summary()}")
            await asyncio.sleep(period)

    def _summary(self) -> str:
        sent = "\n".join(f"  {s!r}" for s in self.sent) or "  (none)"
        calls = "\n".join(f"  {c.method} {c.path} -> {c.status}" for c in self.calls) or "  (none)"
        return f"sent:\n{sent}\ncalls:\n{calls}\nunexpected: {self.unexpected!r}"

    # -- HTTP --------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        """Route by method and decoded path segments, record the call, then wake waiters."""
        raw_path = request.rel_url.raw_path
        try:
            response = await self._route(request, [unquote(s) for s in raw_path.split("/")[1:]])
        except Exception as e:  # a bug in the fake: surface it on exit
            self.errors.append(e)
            response = _error(500, "InternalServerError", f"fake error: {e!r}")
        self.calls.append(
            Call(request.method, raw_path, response.status, request.headers.get("Authorization"))
        )
        await self._notify()
        return response

    async def _route(self, request: web.Request, path: list[str]) -> web.Response:
        match request.method, path:
            case "POST", ["v3", "conversations"]:
                return self._faulted("create") or self._create(await _body(request))
            case "POST", ["v3", "conversations", conversation, "activities"]:
                return self._faulted("send") or self._post(conversation, None, await _body(request))
            case "POST", ["v3", "conversations", conversation, "activities", activity_id]:
                body = await _body(request)
                return self._faulted("send") or self._post(conversation, activity_id, body)
            case "PUT", ["v3", "conversations", conversation, "activities", activity_id]:
                body = await _body(request)
                return self._faulted("update") or self._update(conversation, activity_id, body)
            case "DELETE", ["v3", "conversations", conversation, "activities", activity_id]:
                return self._faulted("delete") or self._delete(conversation, activity_id)
            case "GET", ["v3", "conversations", _, "members", member_id]:
                return self._faulted("member") or self._member(member_id)
            case "GET", ["v3", "conversations", _, "members"]:
                return self._faulted("member") or web.json_response(list(self.members.values()))
            case "GET", ["v3", "conversations", _, "pagedmembers"]:
                return self._faulted("member") or self._paged(request.rel_url.query_string)
            case "GET", ["download", name] if f"{self.root}/download/{name}" in self.shared:
                body = self.shared[f"{self.root}/download/{name}"]
                return web.Response(body=body, content_type="application/octet-stream")
            case "PUT", ["upload", session]:
                # the stream, not request.read(): a range may be bigger than aiohttp's 1 MiB cap
                body = await request.content.read()
                return self._upload(f"{self.root}/upload/{session}", request, body)
        self.unexpected.append(f"{request.method} {request.rel_url.raw_path}")
        return _error(404, "NotFound", "the fake Connector has no such route")

    def _faulted(self, kind: str) -> web.Response | None:
        """The injected failure for `kind`, if one is pending (consuming one of its times)."""
        faults = self._faults.get(kind)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        code = _FAULT_CODES.get(fault.status, "ServiceError")
        response = _error(fault.status, code, f"injected {kind} fault")
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(fault.retry_after)
        return response

    # -- answers -----------------------------------------------------------------------------

    def _next_activity_id(self) -> str:
        # Teams activity ids are epoch milliseconds as a string
        return str(1_700_000_000_000 + next(self._activity_ids))

    def _post(self, conversation: str, reply_to: str | None, activity: Json) -> web.Response:
        activity_id = self._next_activity_id()
        self.sent.append(Sent("POST", conversation, reply_to, activity, activity_id))
        return web.json_response({"id": activity_id})

    def _update(self, conversation: str, activity_id: str, activity: Json) -> web.Response:
        self.sent.append(Sent("PUT", conversation, activity_id, activity, activity_id))
        return web.json_response({"id": activity_id})

    def _delete(self, conversation: str, activity_id: str) -> web.Response:
        self.sent.append(Sent("DELETE", conversation, activity_id, {}, activity_id))
        return web.Response(status=200)

    def _create(self, parameters: Json) -> web.Response:
        """Open a 1:1 chat (same id per person, as Teams does) or start a channel thread."""
        members = [m.get("id", "") for m in parameters.get("members") or []]
        known = [self._resolve(m) for m in members]
        if self.refuse_create or any(m and m["id"] in self._not_installed for m in known):
            return _error(403, "Forbidden", "The bot is not installed for the user")
        self.created.append(parameters)
        activity = parameters.get("activity")
        activity_id = self._next_activity_id() if activity else None
        channel = ((parameters.get("channelData") or {}).get("channel") or {}).get("id")
        if channel:
            conversation = f"{channel};messageid={activity_id or self._next_activity_id()}"
        else:
            key = known[0]["id"] if known and known[0] else ",".join(members)
            if key not in self._one_to_one:
                self._one_to_one[key] = f"a:1to1-{next(self._conversation_ids)}"
            conversation = self._one_to_one[key]
        if activity and activity_id:
            self.sent.append(Sent("POST", conversation, None, activity, activity_id))
        body = {"id": conversation, "activityId": activity_id, "serviceUrl": self.url}
        return web.json_response(body, status=201)

    def _upload(self, url: str, request: web.Request, chunk: bytes) -> web.Response:
        """One range of an upload session: in order, no gaps, at most 4 MB, the same total
        each time (a broken rule is a bot bug: recorded in `errors`, answered 400)."""
        if url not in self.uploads:
            return _error(404, "itemNotFound", "no such upload session")
        received = self.uploads[url]
        found = _CONTENT_RANGE.fullmatch(request.headers.get("Content-Range", ""))
        first, last, size = (int(g) for g in found.groups()) if found else (-1, -1, -1)
        problem = _range_problem(
            first, last, size, self._upload_sizes.setdefault(url, size), len(received), chunk
        )
        if problem or request.headers.get("Content-Length") != str(len(chunk)):
            problem = problem or "Content-Length does not match the body"
            self.errors.append(AssertionError(f"upload {url}: {problem}"))
            return _error(400, "invalidRange", problem)
        received.extend(chunk)
        self.upload_ranges.append(request.headers["Content-Range"])
        if len(received) < size:
            return web.json_response({"nextExpectedRanges": [f"{len(received)}-"]}, status=202)
        return web.json_response({"id": url.rsplit("/", 1)[1], "size": size}, status=201)

    def _resolve(self, member_id: str) -> Json | None:
        """A registered member by Teams member id or AAD object id (Teams accepts either)."""
        if member_id in self.members:
            return self.members[member_id]
        return next((m for m in self.members.values() if m["aadObjectId"] == member_id), None)

    def _member(self, member_id: str) -> web.Response:
        member = self._resolve(member_id)
        if member is None:
            return _error(404, "MemberNotFoundInConversation", "The member was not found")
        return web.json_response(member)

    def _paged(self, query_string: str) -> web.Response:
        """One page of members; the continuation token is simply the next offset."""
        query = {k: v[0] for k, v in parse_qs(query_string).items()}
        members = list(self.members.values())
        start = int(query.get("continuationToken") or 0)
        size = int(query.get("pageSize") or len(members) or 1)
        end = start + size
        token = str(end) if end < len(members) else None
        return web.json_response({"members": members[start:end], "continuationToken": token})


def _error(status: int, code: str, message: str) -> web.Response:
    """A Bot Framework ErrorResponse, which msrest parses into ErrorResponseException."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _range_problem(
    first: int, last: int, size: int, expected_size: int, received: int, chunk: bytes
) -> str | None:
    """What is wrong with a Content-Range `bytes first-last/size`, if anything."""
    if first < 0:
        return "no Content-Range: bytes FIRST-LAST/SIZE"
    if size != expected_size:
        return f"total {size} after {expected_size}"
    if first != received:
        return f"range starts at {first}, {received} bytes were received"
    if last - first + 1 != len(chunk) or last >= size:
        return f"range {first}-{last}/{size} for {len(chunk)} bytes"
    if len(chunk) > UPLOAD_CHUNK_LIMIT:
        return f"{len(chunk)} bytes in one PUT, more than 4 MB"
    return None


async def _body(request: web.Request) -> Json:
    """The JSON object body; anything else is a bug in the caller worth failing loudly on."""
    body = json.loads(await request.read() or b"{}")
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object body, got {body!r}")
    return body
