"""laurel's periodic jobs. Each only sends a core command; the core decides who is due.

Every job is safe to run at any moment, as often as wanted: what it does is claimed in
the database with its effect. So the scheduler runs each job at start (catching up on
what was missed while laurel was down) and then every few minutes, so that people in
every time zone are served close to their local hour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from core.bus import MessageBus
from core.commands import (
    CelebrateMilestones,
    ChaseApprovals,
    Command,
    ExpirePoints,
    PostDigest,
    PurgeOldReasons,
    RefreshAllowances,
    RemindUnusedAllowance,
)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[], Awaitable[object]]


def _sends(bus: MessageBus, command: Command) -> Callable[[], Awaitable[object]]:
    async def run() -> object:
        return await bus.handle(command)

    return run


def standard_jobs(
    bus: MessageBus, directory_sync: Callable[[], Awaitable[object]] | None = None
) -> list[Job]:
    jobs = [
        Job("allowance", timedelta(minutes=15), _sends(bus, RefreshAllowances())),
        Job("reminders", timedelta(minutes=30), _sends(bus, RemindUnusedAllowance())),
        Job("celebrations", timedelta(minutes=30), _sends(bus, CelebrateMilestones())),
        Job("digest", timedelta(minutes=30), _sends(bus, PostDigest())),
        Job("approvals", timedelta(minutes=30), _sends(bus, ChaseApprovals())),
        Job("expiry", timedelta(hours=1), _sends(bus, ExpirePoints())),
        Job("retention", timedelta(days=1), _sends(bus, PurgeOldReasons())),
    ]
    if directory_sync is not None:
        jobs.append(Job("directory", timedelta(hours=6), directory_sync))
    return jobs
