"""Pulling the people directory from an HR system's API (LAUREL_HRMS_URL + LAUREL_HRMS_TOKEN).

An HRMS is one module in this package with one class that satisfies `HrmsClient`: a
`name` (the directory source it writes, e.g. "bamboohr") and `fetch()`, which pulls the
whole directory and returns it as `Parsed` records (the core's `SyncDirectory` does the
rest). Use `http_pull.get_json` for the HTTP part, so every client retries, times out
and fails with `HrmsUnavailable` in the same way.
"""

from __future__ import annotations

from typing import Protocol

from yarl import URL

from . import Parsed
from .bamboohr import BambooHrClient
from .http_pull import HrmsUnavailable, RetryPolicy


class HrmsClient(Protocol):
    """An HR system's directory, pulled whole; a pull that fails raises `HrmsUnavailable`."""

    name: str

    async def fetch(self) -> Parsed: ...


def client_from_settings(url: str, token: str) -> HrmsClient:
    """The client for the configured API. BambooHR's is the only API shape laurel speaks so
    far; a second one would come with a setting that names it."""
    if URL(url).scheme not in ("http", "https") or not URL(url).host:
        raise ValueError(f"LAUREL_HRMS_URL must be an http(s) URL, not {url!r}")
    return BambooHrClient(url=url, token=token)


__all__ = ["HrmsClient", "HrmsUnavailable", "RetryPolicy", "client_from_settings"]
