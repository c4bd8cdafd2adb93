"""Deliveries that run after a command's answer, and can be waited for at shutdown.

A notifier's delivery must never hold up the command that caused it (Slack's 3-second
ack, a Teams reply), so it runs as a task of its own; shutdown and tests drain them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("laurel.delivery")


class Background:
    def __init__(self, limit: int | None = None) -> None:
        """`limit`: how many deliveries run at once; the others wait their turn (a burst of
        thousands would otherwise hold every database connection and meet the platform's
        rate limit thousands of times)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._slots = asyncio.Semaphore(limit) if limit else None

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work if self._slots is None else self._in_turn(work))
        self._tasks.add(task)  # held here: the loop keeps only weak references to tasks
        task.add_done_callback(self._done)

    async def _in_turn(self, work: Coroutine[Any, Any, Any]) -> Any:
        assert self._slots is not None
        async with self._slots:
            return await work

    def _done(self, task: asyncio.Task[Any]) -> None:
        """A delivery that failed unexpectedly is logged with its trace, not lost silently."""
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("a delivery failed", exc_info=error)

    async def drain(self) -> None:
        """Wait for deliveries in flight, and for any they start."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
