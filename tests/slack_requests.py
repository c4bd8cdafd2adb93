"""Correctly signed Slack requests, shaped like the ones Slack sends to `/slack/events`.

Each builder returns `(body, content_type)`; `signed()` adds the headers::

    req = signed(slash_command("@ada thanks", response_url=api.response_url("r1")), SECRET)
    resp = await http.post("/slack/events", data=req.body.encode(), headers=req.headers)

Interactive payloads are form-encoded `payload=<json>`, slash commands plain form fields and
events a JSON envelope, exactly as Slack sends them. The default `response_url` points at a
closed local port, so a test that forgot to pass `api.response_url(...)` fails fast instead of
calling Slack.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any, NamedTuple
from urllib.parse import urlencode

__all__ = [
    "FORM",
    "JSON",
    "UNSET_RESPONSE_URL",
    "SignedRequest",
    "app_home_opened_event",
    "app_mention_event",
    "block_actions",
    "message_event",
    "message_shortcut",
    "multi_users_select",
    "number_input",
    "plain_text_input",
    "reaction_added_event",
    "retry_headers",
    "shortcut",
    "sign",
    "signed",
    "signed_headers",
    "slash_command",
    "static_select",
    "url_verification",
    "users_select",
    "view_submission",
]

Json = dict[str, Any]
Body = tuple[str, str]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
UNSET_RESPONSE_URL = "http://127.0.0.1:9/response-url-not-set"
API_APP_ID = "A1"
VERIFICATION_TOKEN = "verification-token"
BOT_USER_ID = "UBOT"
BOT_ID = "B1"
TEAM_DOMAIN = "example"

_seq = itertools.count(1)


class SignedRequest(NamedTuple):
    """A body and the headers (signature, timestamp, content type, retries) to send with it."""

    body: str
    headers: dict[str, str]


# -- signing ---------------------------------------------------------------------------------


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """X-Slack-Signature and X-Slack-Request-Timestamp for `body` (v0, HMAC-SHA256)."""
    ts = int(time.time()) if timestamp is None else timestamp
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": str(ts)}


def retry_headers(num: int = 1, reason: str = "http_timeout") -> dict[str, str]:
    """Headers Slack adds when it re-delivers an event (reasons: http_timeout, http_error, ...)."""
    return {"X-Slack-Retry-Num": str(num), "X-Slack-Retry-Reason": reason}


def signed_headers(
    body: str,
    content_type: str,
    secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """Content-Type, signature headers and, with `retry_num`, the retry headers."""
    headers = {"Content-Type": content_type, **sign(body, secret, timestamp)}
    if retry_num is not None:
        headers.update(retry_headers(retry_num, retry_reason))
    return headers


def signed(
    built: Body,
    secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> SignedRequest:
    """Sign a builder's `(body, content_type)`."""
    body, content_type = built
    headers = signed_headers(
        body,
        content_type,
        secret,
        timestamp=timestamp,
        retry_num=retry_num,
        retry_reason=retry_reason,
    )
    return SignedRequest(body, headers)


# -- helpers ---------------------------------------------------------------------------------


def _trigger_id() -> str:
    n = next(_seq)
    return f"{1700000000000 + n}.{1000000000 + n}.{hashlib.md5(str(n).encode()).hexdigest()}"


def _action_ts() -> str:
    return f"{int(time.time())}.{next(_seq):06d}"


def _form_payload(payload: Json) -> Body:
    return urlencode({"payload": json.dumps(payload)}), FORM


def _user(user_id: str, team_id: str) -> Json:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str) -> Json:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def _bot_message() -> Json:
    ts = f"1700000000.{next(_seq):06d}"
    return {
        "type": "message",
        "subtype": "bot_message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": API_APP_ID,
        "text": "",
        "ts": ts,
        "blocks": [],
    }


# -- slash commands and events ---------------------------------------------------------------


def slash_command(
    text: str,
    user_id: str = "U1",
    team_id: str = "T1",
    channel_id: str = "C1",
    command: str = "/kudos",
    trigger_id: str | None = None,
    response_url: str = UNSET_RESPONSE_URL,
    *,
    channel_name: str = "general",
    user_name: str | None = None,
) -> Body:
    """A slash command, form-encoded field for field as Slack sends it."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }
    return urlencode(fields), FORM


def event(event: Json, event_id: str = "Ev1", team_id: str = "T1") -> Body:
    """An Events API `event_callback` envelope around `event`."""
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}",
    }
    return json.dumps(envelope), JSON


def url_verification(challenge: str = "challenge-token") -> Body:
    """The handshake Slack sends when the Request URL is configured."""
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return json.dumps(body), JSON


def message_event(
    text: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    ts: str | None = None,
    *,
    thread_ts: str | None = None,
    channel_type: str = "channel",
    team_id: str = "T1",
) -> Json:
    """A plain `message` event (put it in `event(...)`)."""
    ts = ts or f"1700000001.{next(_seq):06d}"
    result: Json = {
        "type": "message",
        "user": user_id,
        "text": text,
        "ts": ts,
        "team": team_id,
        "channel": channel_id,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts:
        result["thread_ts"] = thread_ts
    return result


def app_mention_event(
    text: str, user_id: str = "U1", channel_id: str = "C1", ts: str | None = None
) -> Json:
    """An `app_mention` event; `text` should contain `<@UBOT>`."""
    result = message_event(text, user_id, channel_id, ts)
    del result["channel_type"]
    result["type"] = "app_mention"
    return result


def reaction_added_event(
    reaction: str,
    user_id: str = "U1",
    item_user: str = "U2",
    channel_id: str = "C1",
    item_ts: str = "1700000001.000100",
) -> Json:
    """A `reaction_added` event: `user_id` reacted with `reaction` to `item_user`'s message."""
    return {
        "type": "reaction_added",
        "user": user_id,
        "reaction": reaction,
        "item_user": item_user,
        "item": {"type": "message", "channel": channel_id, "ts": item_ts},
        "event_ts": f"1700000002.{next(_seq):06d}",
    }


def app_home_opened_event(user_id: str = "U1", tab: str = "home") -> Json:
    """An `app_home_opened` event for `user_id`."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D" + user_id,
        "tab": tab,
        "event_ts": f"1700000003.{next(_seq):06d}",
    }


# -- interactivity ---------------------------------------------------------------------------


def block_actions(
    action_id: str,
    value: str | None = None,
    user_id: str = "U1",
    team_id: str = "T1",
    channel_id: str = "C1",
    *,
    block_id: str = "b1",
    action_type: str = "button",
    message: Json | None = None,
    container: Json | None = None,
    view: Json | None = None,
    ephemeral: bool = False,
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
) -> Body:
    """A `block_actions` payload for one action.

    In a message (default): carries channel, message (a bot message unless given; none when
    `ephemeral`) and response_url. With `view` (a modal or App Home): carries the view instead.
    Select-type actions report `value` as `selected_option`, users_select as `selected_user`.
    """
    action: Json = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": _action_ts(),
    }
    if action_type in ("static_select", "external_select", "overflow", "radio_buttons"):
        option = {"text": {"type": "plain_text", "text": value or ""}, "value": value}
        action["selected_option"] = option
    elif action_type == "users_select":
        action["selected_user"] = value
    else:
        if action_type == "button":
            action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
        if value is not None:
            action["value"] = value
    payload: Json = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        view = {"id": "V1", "type": "modal", "team_id": team_id, "state": {"values": {}}, **view}
        payload["container"] = container or {"type": "view", "view_id": view["id"]}
        payload["view"] = view
    else:
        msg = None if ephemeral else (message or _bot_message())
        message_ts = msg["ts"] if msg else f"1700000000.{next(_seq):06d}"
        payload["container"] = container or {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": "general"}
        if msg is not None:
            payload["message"] = msg
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url
    payload["actions"] = [action]
    return _form_payload(payload)


def view_submission(
    callback_id: str,
    state_values: Json,
    user_id: str = "U1",
    private_metadata: str = "",
    *,
    team_id: str = "T1",
    view_id: str = "V1",
    response_urls: list[Json] | None = None,
    trigger_id: str | None = None,
) -> Body:
    """A modal's `view_submission`; `state_values` is `{block_id: {action_id: {...}}}`.

    Build the inner values with `plain_text_input`, `users_select`, `multi_users_select`,
    `static_select` or `number_input`.
    """
    view = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": state_values},
        "hash": f"1700000000.{view_id}",
        "title": {"type": "plain_text", "text": "Laurel", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
        "submit": {"type": "plain_text", "text": "Send", "emoji": True},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": API_APP_ID,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    payload = {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "view": view,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form_payload(payload)


def shortcut(
    callback_id: str, user_id: str = "U1", *, team_id: str = "T1", trigger_id: str | None = None
) -> Body:
    """A global shortcut (`type: shortcut`)."""
    payload = {
        "type": "shortcut",
        "token": VERIFICATION_TOKEN,
        "action_ts": _action_ts(),
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id or _trigger_id(),
    }
    return _form_payload(payload)


def message_shortcut(
    callback_id: str,
    message: Json,
    channel_id: str = "C1",
    user_id: str = "U1",
    *,
    team_id: str = "T1",
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
) -> Body:
    """A message shortcut (`type: message_action`) on `message` (needs `ts`, usually `user`)."""
    payload = {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": _action_ts(),
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "channel": {"id": channel_id, "name": "general"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id or _trigger_id(),
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": {"type": "message", **message},
    }
    return _form_payload(payload)


# -- view state values -----------------------------------------------------------------------


def plain_text_input(value: str | None) -> Json:
    """State of a plain_text_input (`None` when left empty)."""
    return {"type": "plain_text_input", "value": value}


def number_input(value: str | None) -> Json:
    """State of a number_input (Slack reports the number as a string)."""
    return {"type": "number_input", "value": value}


def users_select(user_id: str | None) -> Json:
    """State of a users_select."""
    return {"type": "users_select", "selected_user": user_id}


def multi_users_select(user_ids: list[str]) -> Json:
    """State of a multi_users_select."""
    return {"type": "multi_users_select", "selected_users": list(user_ids)}


def static_select(value: str | None, text: str | None = None) -> Json:
    """State of a static_select (`None` when nothing is chosen)."""
    option = None
    if value is not None:
        option = {
            "text": {"type": "plain_text", "text": text or value, "emoji": True},
            "value": value,
        }
    return {"type": "static_select", "selected_option": option}
