"""How a notifier reports a message that did not reach its person or channel when due.

The notifiers call an `Undelivered` callback with one of the reasons below; the bot counts
them (`laurel_notifications_failed_total`), the adapters stay free of any metrics library.
"""

from __future__ import annotations

from collections.abc import Callable

ERROR = "error"  # the platform refused it, or stayed unreachable after the retries
UNREACHABLE = "unreachable"  # no account to send it to (yet): Teams queues it in the outbox

Undelivered = Callable[[str], None]


def ignore(reason: str) -> None:
    """The default: nobody counts."""
