"""How a notifier reports a message that did not reach its person or channel when due,
and what tries it again later.

The notifiers call an `Undelivered` callback with one of the reasons below; the bot counts
them (`laurel_notifications_failed_total`), the adapters stay free of any metrics library.

A message that failed for a reason that may pass (an outage that outlasted the client's
retries) waits in the outbox and is tried again, with backoff, by `redelivery`, which each
`laurel serve` replica runs. One that will never pass (no such channel, the bot is not in
it, no such user) is counted once and dropped. Gift-card codes and shipping addresses are
never queued: the outbox is plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

ERROR = "error"  # the platform refused it, or stayed unreachable after the retries
UNREACHABLE = "unreachable"  # no account to send it to (yet): Teams queues it in the outbox
GAVE_UP = "gave_up"  # queued after an error, retried for a day, then dropped

log = logging.getLogger("laurel.outbox")

Undelivered = Callable[[str], None]


def ignore(reason: str) -> None:
    """The default: nobody counts."""


def redelivery(
    passes: Sequence[Callable[[], Awaitable[object]]], every: float
) -> Callable[[object], AsyncIterator[None]]:
    """An aiohttp cleanup context: while the server runs, each notifier's `redeliver` pass
    runs every `every` seconds (each replica: rows are claimed, so none is sent twice)."""

    async def running(_: object) -> AsyncIterator[None]:
        task = asyncio.create_task(_loop(passes, every))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return running


async def _loop(passes: Sequence[Callable[[], Awaitable[object]]], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        for one in passes:
            try:
                await one()
            except Exception as error:  # the database is down: the rows wait for next time
                log.warning("redelivery of queued messages failed: %r", error)
