"""A fake Slack Web API on localhost that records every call, for driving the Slack adapter.

Usage::

    async with FakeSlackApi() as api:
        api.add_user("U2", email="ada@example.com", real_name="Ada Lovelace")
        client = AsyncWebClient(token="xoxb-test", base_url=api.url)
        ...
        [post] = await api.wait_for("chat.postMessage")
        assert post.args["channel"] == "C1"

Arguments arrive as JSON (values keep their types) or as form / query strings (values are
strings; booleans are "1"/"0"). Form values of `blocks`, `attachments`, `view`, `metadata` and
`files` that hold JSON are decoded, so `call.args["blocks"]` is a list either way.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from .local_server import LocalServer

__all__ = ["Call", "FakeSlackApi", "Fault"]

Json = dict[str, Any]
Handler = Callable[[Json], Json]

_JSON_ARGS = frozenset({"blocks", "attachments", "view", "metadata", "files"})


@dataclass
class Call:
    """One Web API call as the fake received it."""

    method: str
    args: Json
    token: str | None
    failed: bool = False


@dataclass
class Fault:
    """A pending injected failure for one method."""

    status: int
    times: int
    retry_after: int | None
    error: str


class FakeSlackApi(LocalServer):
    """An aiohttp server on 127.0.0.1 standing in for https://slack.com/api/ and response URLs."""

    name = "fake Slack API"

    def __init__(
        self,
        *,
        team_id: str = "T1",
        bot_user_id: str = "UBOT",
        bot_id: str = "B1",
        bot_token: str = "xoxb-test",
    ) -> None:
        super().__init__()
        self.team_id = team_id
        self.bot_token = bot_token
        """The only token the files that people shared (`add_file`) are served to."""
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.calls: list[Call] = []
        self.users: dict[str, Json] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.responses: dict[str, list[Json]] = defaultdict(list)
        self.uploads: dict[str, bytes] = {}
        self.shared: dict[str, bytes] = {}
        """Files people shared in a message (`add_file`), by file id."""
        self.messages: dict[str, list[Json]] = defaultdict(list)
        """Messages the app posted, by channel id, oldest first (for conversations.history)."""
        self._faults: dict[str, list[Fault]] = defaultdict(list)
        self._handlers: dict[str, Handler] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{key}/download/{name}", self._download)

    @property
    def url(self) -> str:
        """The Web API base URL for `AsyncWebClient(base_url=...)`; ends with "/api/"."""
        return f"{self.root}/api/"

    def response_url(self, name: str = "r1") -> str:
        """A response_url on this server; posts to it land in `self.responses[name]`."""
        return f"{self.root}/response/{name}"

    # -- test set-up -------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        real_name: str | None = None,
        display_name: str = "",
        tz: str = "Europe/Berlin",
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
    ) -> Json:
        """Store and return a Slack user object (the `user` of users.info).

        `email=None` makes one up (`u2@example.com`) for people, none for bots; `email=""`
        leaves it out, as Slack does without the users:read.email scope. `display_name`
        defaults to "" because many real profiles have none.
        """
        if email is None:
            email = "" if is_bot else f"{user_id.lower()}@example.com"
        real_name = real_name if real_name is not None else f"User {user_id}"
        name = email.split("@")[0] if email else user_id.lower()
        team = team_id or self.team_id
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        profile: Json = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name,
            "display_name_normalized": display_name,
            "image_72": f"https://avatars.example.com/{user_id}_72.png",
            "team": team,
        }
        if email:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = f"B{user_id}"
        user: Json = {
            "id": user_id,
            "team_id": team,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "tz": tz,
            "tz_label": datetime.now(ZoneInfo(tz)).tzname() or tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "updated": 1700000000,
            "profile": profile,
        }
        self.users[user_id] = user
        return user

    def add_file(self, content: bytes, name: str = "codes.csv", *, size: int | None = None) -> Json:
        """A file a person shared, as the `files` of their message event carry it. Its
        `url_private_download` serves `content` to `bot_token` only; any other request gets
        Slack's sign-in page (HTML, status 200), as a token without files:read does. Each
        download is recorded as a call of "files.download". `size` overrides the size the
        event states."""
        file_id = self._next_id("F")
        self.shared[file_id] = content
        private = f"{self.root}/files-pri/{self.team_id}-{file_id}"
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": "text/csv",
            "filetype": "csv",
            "size": len(content) if size is None else size,
            "mode": "hosted",
            "is_external": False,
            "url_private": f"{private}/{name}",
            "url_private_download": f"{private}/download/{name}",
        }

    def fail(
        self,
        method: str,
        status: int = 429,
        times: int = 1,
        retry_after: int | None = 1,
        error: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail; each is still recorded (failed=True).

        429 answers `{"ok": false, "error": "ratelimited"}` with a Retry-After header
        (`retry_after=None` omits it); 5xx answers an `internal_error` body; status 200 answers
        `{"ok": false, "error": error}` (e.g. "channel_not_found"), which clients do not retry.
        Note slack_sdk sleeps Retry-After + up to 1 s, so tests should use `retry_after=0`.
        """
        default = {429: "ratelimited", 200: "fatal_error"}.get(status, "internal_error")
        self._faults[method].append(Fault(status, times, retry_after, error or default))

    def handle(self, method: str, handler: Handler) -> None:
        """Answer `method` with `handler(args)` instead of the built-in answer."""
        self._handlers[method] = handler

    def clear(self) -> None:
        """Forget the recorded calls and responses (users, groups and faults stay)."""
        self.calls.clear()
        self.responses.clear()

    # -- inspection --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """All recorded calls of `method`, failed ones included, oldest first."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method_or_predicate: str | Callable[[Call], bool],
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the deadline is the point of the helper
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Wait until `count` matching calls were recorded and return all matching calls.

        Calls answered with an injected fault are skipped unless `include_failed`.
        """
        predicate: Callable[[Call], bool]
        if isinstance(method_or_predicate, str):
            what = method = method_or_predicate
            predicate = lambda c: c.method == method  # noqa: E731
        else:
            predicate = method_or_predicate
            what = getattr(predicate, "__name__", repr(predicate))

        def matches() -> list[Call]:
            return [c for c in self.calls if predicate(c) and (include_failed or not c.failed)]

        if not await self._wait(lambda: len(matches()) >= count, timeout):
            listing = "\n".join(f"  {c!r}" for c in self.calls) or "  (none)"
            raise AssertionError(
                f"expected {count} call(s) of {what} within {timeout}s, "
                f"got {len(matches())}; recorded calls:\n{listing}"
            )
        return matches()

    async def wait_for_response(
        self,
        name: str = "r1",
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Json]:
        """Wait until `count` posts reached response_url `name` and return all of them."""
        if not await self._wait(lambda: len(self.responses.get(name, [])) >= count, timeout):
            raise AssertionError(
                f"expected {count} post(s) to response_url {name!r} within {timeout}s; "
                f"responses: {dict(self.responses)!r}; calls: {self.calls!r}"
            )
        return list(self.responses[name])

    async def quiet(self, period: float = 0.2, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until nothing arrived for `period` seconds (before asserting no call was made)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = -1
        while (now := self._activity()) != seen:
            seen = now
            if loop.time() > deadline:
                raise AssertionError(f"the fake Slack API never went quiet: {self.calls!r}")
            await asyncio.sleep(period)

    def _activity(self) -> int:
        return len(self.calls) + sum(map(len, self.responses.values())) + len(self.uploads)

    # -- HTTP handlers -----------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args = await _read_args(request)
            token = _bearer(request.headers) or args.pop("token", None)
            call = Call(method, args, token)
            self.calls.append(call)
            response = self._fault_response(method, call)
            if response is None:
                if not token and method not in _CLIENT_AUTHENTICATED:
                    body: Json = {"ok": False, "error": "not_authed"}
                elif method in self._handlers:
                    body = self._handlers[method](args)
                else:
                    body = self._answer(method, args)
                response = web.json_response(body)
        except Exception as e:  # a bug in the fake: surface it on exit, answer like Slack would
            self.errors.append(e)
            response = web.json_response({"ok": False, "error": f"fake_error: {e!r}"}, status=500)
        await self._notify()
        return response

    async def _response(self, request: web.Request) -> web.Response:
        self.responses[request.match_info["name"]].append(await request.json())
        await self._notify()
        return web.json_response({"ok": True})

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        self.uploads[request.match_info["file_id"]] = data
        await self._notify()
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["key"].rsplit("-", 1)[-1]
        token = _bearer(request.headers)
        self.calls.append(Call("files.download", {"file": file_id}, token))
        await self._notify()
        if token != self.bot_token or file_id not in self.shared:
            return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")
        return web.Response(body=self.shared[file_id], content_type="text/csv")

    def _fault_response(self, method: str, call: Call) -> web.Response | None:
        faults = self._faults.get(method)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        call.failed = True
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return web.json_response(
            {"ok": False, "error": fault.error}, status=fault.status, headers=headers
        )

    # -- canned answers ----------------------------------------------------------------------

    def _next_ts(self) -> str:
        micros = 1_700_000_000_000_000 + 100 * next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _answer(self, method: str, args: Json) -> Json:
        answer = getattr(self, "_m_" + method.replace(".", "_"), None)
        return answer(args) if answer is not None else {"ok": True}

    def _m_auth_test(self, args: Json) -> Json:
        return {
            "ok": True,
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": "laurel",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_users_info(self, args: Json) -> Json:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _m_users_lookupByEmail(self, args: Json) -> Json:
        email = str(args.get("email", "")).lower()
        for user in self.users.values():
            if email and user["profile"].get("email", "").lower() == email:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _m_users_list(self, args: Json) -> Json:
        return {
            "ok": True,
            "members": list(self.users.values()),
            "cache_ts": 1700000000,
            "response_metadata": {"next_cursor": ""},
        }

    def _m_usergroups_users_list(self, args: Json) -> Json:
        group = str(args.get("usergroup"))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}

    def _m_conversations_open(self, args: Json) -> Json:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}}
        users = args.get("users")
        ids = users if isinstance(users, list) else str(users or "").split(",")
        ids = [u.strip() for u in ids if u.strip()]
        if not ids:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel = "D" + ids[0] if len(ids) == 1 else "G" + "".join(ids)
        return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel}}

    def _message(self, args: Json, ts: str) -> Json:
        message: Json = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": "A1",
            "team": self.team_id,
            "text": args.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in args:
                message[key] = args[key]
        return message

    @staticmethod
    def _channel(args: Json) -> str:
        channel = str(args.get("channel", ""))
        # posting to a user id lands in the bot's DM with that user
        return "D" + channel if channel[:1] in ("U", "W") else channel

    def _m_chat_postMessage(self, args: Json) -> Json:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        channel, ts = self._channel(args), self._next_ts()
        message = self._message(args, ts)
        self.messages[channel].append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_postEphemeral(self, args: Json) -> Json:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, args: Json) -> Json:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if not channel or not ts:
            return {"ok": False, "error": "message_not_found"}
        message = self._message(args, ts)
        stored = self.messages.get(channel, [])
        for i, old in enumerate(stored):
            if old["ts"] == ts:
                stored[i] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": message,
        }

    def _m_chat_delete(self, args: Json) -> Json:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if not channel or not ts:
            return {"ok": False, "error": "message_not_found"}
        if channel in self.messages:
            self.messages[channel] = [m for m in self.messages[channel] if m["ts"] != ts]
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_getPermalink(self, args: Json) -> Json:
        channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
        permalink = f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _m_conversations_history(self, args: Json) -> Json:
        messages = list(reversed(self.messages.get(str(args.get("channel", "")), [])))
        limit = int(args.get("limit") or 100)
        return {
            "ok": True,
            "messages": messages[:limit],
            "has_more": len(messages) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _m_reactions_get(self, args: Json) -> Json:
        channel, ts = str(args.get("channel", "")), str(args.get("timestamp", ""))
        found = [m for m in self.messages.get(channel, []) if m["ts"] == ts]
        message = found[0] if found else {"type": "message", "ts": ts, "text": ""}
        return {"ok": True, "type": "message", "channel": channel, "message": message}

    def _view(self, args: Json, view_id: str | None = None) -> Json:
        view = args.get("view")
        view = dict(view) if isinstance(view, Mapping) else {}
        view_id = view_id or self._next_id("V")
        view.setdefault("type", "modal")
        view.update(
            id=view_id,
            team_id=self.team_id,
            app_id="A1",
            bot_id=self.bot_id,
            app_installed_team_id=self.team_id,
            state={"values": {}},
            hash=f"1700000000.{view_id}",
            private_metadata=view.get("private_metadata", ""),
            callback_id=view.get("callback_id", ""),
            external_id=view.get("external_id", args.get("external_id", "")),
            root_view_id=view_id,
            previous_view_id=None,
        )
        return {"ok": True, "view": view}

    def _m_views_open(self, args: Json) -> Json:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._view(args)

    def _m_views_push(self, args: Json) -> Json:
        return self._m_views_open(args)

    def _m_views_update(self, args: Json) -> Json:
        view_id = args.get("view_id")
        if not view_id and not args.get("external_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._view(args, str(view_id) if view_id else None)

    def _m_views_publish(self, args: Json) -> Json:
        if not args.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return self._view(args)

    def _m_files_getUploadURLExternal(self, args: Json) -> Json:
        file_id = self._next_id("F")
        return {"ok": True, "upload_url": f"{self.root}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: Json) -> Json:
        files = args.get("files") or []
        return {
            "ok": True,
            "files": [
                {"id": f["id"], "title": f.get("title") or "", "name": f.get("title") or ""}
                for f in files
            ],
        }


# OAuth token exchange authenticates with the app's client id and secret, not a token.
_CLIENT_AUTHENTICATED = {"oauth.v2.access", "oauth.access", "oauth.v2.exchange"}


def _bearer(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("Authorization", "")
    return auth[len("Bearer ") :] if auth.startswith("Bearer ") else None


async def _read_args(request: web.Request) -> Json:
    """Merge query string and body (JSON, form or multipart) into one dict."""
    args: Json = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            args.update(body)
    elif request.can_read_body:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                args[key] = value.file.read()
            else:
                args[key] = value if isinstance(value, str) else bytes(value)
    for key in _JSON_ARGS & args.keys():
        value = args[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            args[key] = json.loads(value)
    return args
