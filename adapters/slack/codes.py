"""Gift-card codes shared in laurel's DM: `admin catalog codes ITEM` with a CSV attached.

`/kudos-admin` cannot carry a file, so the admin shares the file in the DM with the line as
its message. The file is fetched from `url_private_download` with the bot token (the
`files:read` scope), which is only ever sent to Slack's own hosts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from slack_sdk.web.async_client import AsyncWebClient

from adapters.chat.codes import CodesDownloadFailed, CodesFileTooBig, SharedFile, download

from .context import log

PREFIX = "admin"
_LINE = (PREFIX, "catalog", "codes")


def is_codes_message(event: dict[str, Any]) -> bool:
    """A person's DM to laurel that starts with `admin catalog codes`, file or not."""
    if event.get("channel_type") != "im" or event.get("bot_id"):
        return False
    if event.get("subtype") not in (None, "file_share"):
        return False
    words = str(event.get("text") or "").split()[: len(_LINE)]
    return tuple(w.casefold() for w in words) == _LINE


def admin_line(event: dict[str, Any]) -> str:
    """The line without its `admin`, as `/kudos-admin` would get it."""
    return str(event.get("text") or "").strip()[len(PREFIX) :]


def shared_files(client: AsyncWebClient, event: dict[str, Any]) -> list[SharedFile]:
    return [_shared(client, file) for file in event.get("files") or []]


def _shared(client: AsyncWebClient, file: dict[str, Any]) -> SharedFile:
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    size = file.get("size")

    async def fetch(limit: int) -> bytes:
        if isinstance(size, int) and size > limit:
            raise CodesFileTooBig()  # known from the event: no need to download it
        if not _slack_host(url, client.base_url):
            log.warning("shared file %s is not on a Slack host", file.get("id"))
            raise CodesDownloadFailed()
        return await download(url, limit, {"Authorization": f"Bearer {client.token}"})

    return SharedFile(fetch)


def _slack_host(url: str, api_url: str) -> bool:
    """files.slack.com for slack.com/api/, by the same scheme: the bot token goes nowhere
    else."""
    file, api = urlsplit(url), urlsplit(api_url)
    host, api_host = file.hostname or "", api.hostname or ""
    if not host or not api_host or file.scheme != api.scheme:
        return False
    return host == api_host or host.endswith(f".{api_host}")
