"""Incoming Bot Framework activities as Microsoft Teams sends them, as plain camelCase dicts.

Tests post these to the adapter (or `Activity().deserialize(...)` them) instead of hand-writing
JSON, so every test sees the same fields Teams really fills in: serviceUrl, tenant in both
conversation and channelData, mention entities matching the `<at>` text, a clientInfo entity
with the locale. `service_url` is `FakeConnector.url`, where the bot will answer.

Usage::

    ana = ta.user("29:ana", "aad-ana", "Ana Lima")
    activity = ta.message(
        connector.url,
        sender=bo,
        text=f"{ta.mention(ta.BOT)} kudos {ta.mention(ana)} +10 for the release",
        mentions=[ta.BOT, ana],
    )
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "BOT",
    "conversation_update",
    "file_consent",
    "file_download",
    "installation_update",
    "invoke_action",
    "mention",
    "message",
    "user",
]

Json = dict[str, Any]

BOT: Json = {"id": "28:laurel-bot", "name": "laurel"}

_GROUP_TYPES = frozenset({"channel", "groupChat"})
_ids = itertools.count(1)


def user(member_id: str, aad: str, name: str) -> Json:
    """A Teams user as it appears in `from` and `membersAdded` (with its AAD object id)."""
    return {"id": member_id, "name": name, "aadObjectId": aad}


def mention(account: Json) -> str:
    """The `<at>` markup Teams puts in the text where `account` is mentioned."""
    return f"<at>{account['name']}</at>"


def message(
    service_url: str,
    *,
    sender: Json,
    text: str,
    conversation_id: str | None = None,
    conversation_type: str = "personal",
    tenant: str = "tenant-1",
    mentions: Sequence[Json] = (),
    team_id: str | None = None,
    activity_id: str | None = None,
    locale: str = "en-US",
    attachments: Sequence[Json] = (),
) -> Json:
    """A message typed by `sender`; `mentions` are the accounts its `<at>` tags stand for;
    `attachments` are files shared with it (`file_download`).

    Without `conversation_id`: a personal chat "a:personal-<aad>", a channel post (whose thread
    id ends in ";messageid=<its own id>", as Teams does for a new post) or a group chat.
    """
    activity_id = activity_id or _next_id()
    conversation_id = conversation_id or _default_conversation(
        sender, conversation_type, activity_id
    )
    activity = _base(
        "message", service_url, sender, conversation_id, conversation_type, tenant, activity_id
    )
    activity["channelData"] = _channel_data(tenant, conversation_id, conversation_type, team_id)
    activity["locale"] = locale
    activity["text"] = text
    activity["textFormat"] = "plain"
    if attachments:
        activity["attachments"] = [dict(a) for a in attachments]
    activity["entities"] = [_mention_entity(m) for m in mentions] + [
        {"type": "clientInfo", "locale": locale, "country": "US", "platform": "Web"}
    ]
    return activity


def invoke_action(
    service_url: str,
    *,
    sender: Json,
    data: Json,
    reply_to: str,
    verb: str = "laurel_decide",
    conversation_id: str | None = None,
    conversation_type: str = "personal",
    tenant: str = "tenant-1",
    team_id: str | None = None,
) -> Json:
    """A click on an Adaptive Card `Action.Execute` button of the bot's message `reply_to`.

    In a channel, pass the thread's `conversation_id`: the default is only right for a card
    that is itself the root post.
    """
    conversation_id = conversation_id or _default_conversation(sender, conversation_type, reply_to)
    activity = _base(
        "invoke", service_url, sender, conversation_id, conversation_type, tenant, _next_id()
    )
    activity["channelData"] = _channel_data(tenant, conversation_id, conversation_type, team_id)
    activity["name"] = "adaptiveCard/action"
    activity["replyToId"] = reply_to
    activity["value"] = {
        "action": {"type": "Action.Execute", "verb": verb, "data": data},
        "trigger": "manual",
    }
    activity["locale"] = "en-US"
    return activity


def file_consent(
    service_url: str,
    *,
    sender: Json,
    context: Json,
    reply_to: str,
    action: str = "accept",
    upload_url: str = "",
    name: str = "file.csv",
    conversation_id: str | None = None,
    tenant: str = "tenant-1",
) -> Json:
    """The person's answer to the bot's file consent card `reply_to` (in their personal chat).

    `context` is the card's acceptContext / declineContext. On accept Teams has created the
    file in the person's OneDrive and hands the bot an upload session URL (`upload_url`,
    e.g. `FakeConnector.upload_url()`) and the file's address; a decline carries neither.
    """
    conversation_id = conversation_id or _default_conversation(sender, "personal", reply_to)
    activity = _base("invoke", service_url, sender, conversation_id, "personal", tenant, _next_id())
    activity["channelData"] = _channel_data(tenant, conversation_id, "personal", None)
    activity["name"] = "fileConsent/invoke"
    activity["replyToId"] = reply_to
    value: Json = {"type": "fileUpload", "action": action, "context": dict(context)}
    if action == "accept":
        value["uploadInfo"] = {
            "name": name,
            "uploadUrl": upload_url,
            "contentUrl": f"https://contoso-my.sharepoint.com/personal/files/{name}",
            "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C8C",
            "fileType": name.rsplit(".", 1)[-1],
        }
    activity["value"] = value
    activity["locale"] = "en-US"
    return activity


def file_download(download_url: str, name: str = "codes.csv") -> Json:
    """A file a person shared in their personal chat with the bot, as the message's
    attachment: `download_url` (e.g. `FakeConnector.add_file(...)`) needs no token."""
    return {
        "contentType": "application/vnd.microsoft.teams.file.download.info",
        "contentUrl": f"https://contoso-my.sharepoint.com/personal/files/{name}",
        "name": name,
        "content": {
            "downloadUrl": download_url,
            "uniqueId": "5E6F7A8B-0000-4000-8000-000000000001",
            "fileType": name.rsplit(".", 1)[-1],
        },
    }


def conversation_update(
    service_url: str,
    *,
    members_added: Sequence[Json],
    conversation_id: str,
    conversation_type: str,
    tenant: str = "tenant-1",
    team_id: str | None = None,
    sender: Json | None = None,
) -> Json:
    """Members joined a chat or team; `BOT` among `members_added` means the bot was added."""
    people = [m for m in members_added if m.get("id") != BOT["id"]]
    sender = sender or (people[0] if people else {"id": "29:installer", "name": "Installer"})
    activity = _base(
        "conversationUpdate",
        service_url,
        sender,
        conversation_id,
        conversation_type,
        tenant,
        _next_id(),
    )
    channel_data = _channel_data(tenant, conversation_id, conversation_type, team_id)
    if team_id:
        channel_data["eventType"] = "teamMemberAdded"
    activity["channelData"] = channel_data
    activity["membersAdded"] = [dict(m) for m in members_added]
    return activity


def installation_update(
    service_url: str,
    *,
    sender: Json,
    conversation_id: str | None = None,
    action: str = "add",
    conversation_type: str = "personal",
    tenant: str = "tenant-1",
    team_id: str | None = None,
) -> Json:
    """The app was installed ("add") or uninstalled ("remove") by `sender`."""
    conversation_id = conversation_id or _default_conversation(sender, conversation_type, "")
    activity = _base(
        "installationUpdate",
        service_url,
        sender,
        conversation_id,
        conversation_type,
        tenant,
        _next_id(),
    )
    activity["channelData"] = _channel_data(tenant, conversation_id, conversation_type, team_id)
    activity["channelData"]["source"] = {"name": "message"}
    activity["action"] = action
    return activity


# -- shared parts ------------------------------------------------------------------------------


def _next_id() -> str:
    """A unique incoming activity id, in Teams' epoch-milliseconds style."""
    return f"1690000000{next(_ids):03d}"


def _default_conversation(sender: Json, conversation_type: str, activity_id: str) -> str:
    if conversation_type == "channel":
        return f"19:channel-1@thread.tacv2;messageid={activity_id}"
    if conversation_type == "groupChat":
        return "19:group-1@thread.v2"
    return f"a:personal-{sender.get('aadObjectId') or sender['id']}"


def _base(
    kind: str,
    service_url: str,
    sender: Json,
    conversation_id: str,
    conversation_type: str,
    tenant: str,
    activity_id: str,
) -> Json:
    """The fields every Teams activity carries."""
    conversation = {
        "id": conversation_id,
        "conversationType": conversation_type,
        "tenantId": tenant,
        "isGroup": conversation_type in _GROUP_TYPES,
    }
    now = datetime.now(UTC)
    return {
        "type": kind,
        "id": activity_id,
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "localTimestamp": now.isoformat(timespec="milliseconds"),
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": dict(sender),
        "recipient": dict(BOT),
        "conversation": conversation,
    }


def _channel_data(
    tenant: str, conversation_id: str, conversation_type: str, team_id: str | None
) -> Json:
    """Teams' channelData: tenant always, team and channel (the thread id's channel) if any."""
    data: Json = {"tenant": {"id": tenant}}
    if team_id:
        data["team"] = {"id": team_id}
        data["teamsTeamId"] = team_id
    if conversation_type == "channel":
        channel = conversation_id.split(";", 1)[0]
        data["channel"] = {"id": channel}
        data["teamsChannelId"] = channel
    return data


def _mention_entity(account: Json) -> Json:
    return {
        "type": "mention",
        "mentioned": {"id": account["id"], "name": account["name"]},
        "text": mention(account),
    }
