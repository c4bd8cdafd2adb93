"""Messages a platform could not deliver yet, kept until they can be.

Two ways out. A message for a person laurel cannot reach yet (Teams: no personal chat)
waits for their next contact (`pending`). A message whose send failed after the client's
own retries (an outage) is due again later (`due`), with exponential backoff, and given
up after a day. Each `laurel serve` replica looks for due messages (adapters/chat/
undelivered.py `redelivery`); secrets never come here (the table is plain text).

A row is claimed (delivered_at set) before it is sent, so two replicas that reach for it
at the same moment never send it twice; a send that fails gives the claim back. A replica
that dies between the claim and the send loses that one message: at most once, never
twice, since a chat message cannot be taken back.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from .tables import outbox

Json = dict[str, Any]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Retries:
    """When a failed message is tried again: `first` after the failure, then twice as long
    each time up to `cap`, until `give_up` after it was first sent. Each replica looks for
    due messages every `every` seconds."""

    first: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)
    give_up: timedelta = timedelta(hours=24)
    every: float = 30.0

    def delay(self, attempts: int) -> timedelta:
        """How long after its `attempts`-th failed attempt a message is due again."""
        doublings = min(max(attempts - 1, 0), 30)  # 2**30 minutes is past any cap
        return min(self.first * (1 << doublings), self.cap)


class Verdict(enum.Enum):
    """What became of one redelivery."""

    SENT = "sent"
    LATER = "later"  # failed again, for a reason that may pass (an outage)
    NEVER = "never"  # the platform will never take it (no such channel, not a member …)
    WAIT = "wait"  # the person cannot be reached yet: no more timed retries, next contact


@dataclass(frozen=True, slots=True)
class Pending:
    id: int
    body: Json
    person_id: int | None = None
    target: Json | None = None
    attempts: int = 0
    created_at: datetime | None = None


Resend = Callable[[Pending], Awaitable[Verdict]]


class Outbox:
    def __init__(
        self,
        engine: AsyncEngine,
        platform: str,
        retries: Retries | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._engine = engine
        self._platform = platform
        self.retries = retries or Retries()
        self._now = now

    async def put(self, person_id: int, body: Json) -> None:
        """For the person's next contact: no timed retry."""
        await self._insert(person_id=person_id, body=body)

    async def retry(
        self, body: Json, *, person_id: int | None = None, target: Json | None = None
    ) -> None:
        """Its first attempt failed: due again after the first delay."""
        now = self._now()
        await self._insert(
            person_id=person_id,
            target=target,
            body=body,
            attempts=1,
            due_at=now + self.retries.delay(1),
        )

    async def _insert(self, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                outbox.insert().values(platform=self._platform, created_at=self._now(), **values)
            )

    async def pending(self, person_id: int) -> list[Pending]:
        """Undelivered messages for the person, oldest first."""
        query = self._select().where(outbox.c.person_id == person_id).order_by(outbox.c.id)
        async with self._engine.connect() as conn:
            return [_pending(row) for row in await conn.execute(query)]

    async def due(self, limit: int = 100) -> list[Pending]:
        """Messages whose retry is due, the longest waiting first."""
        query = (
            self._select()
            .where(outbox.c.due_at <= self._now())
            .order_by(outbox.c.due_at, outbox.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_pending(row) for row in await conn.execute(query)]

    def _select(self) -> sa.Select[Any]:
        c = outbox.c
        return sa.select(c.id, c.body, c.person_id, c.target, c.attempts, c.created_at).where(
            c.platform == self._platform, c.delivered_at.is_(None), c.gave_up_at.is_(None)
        )

    async def claim(self, message_id: int) -> bool:
        """True for the one caller that may send it."""
        query = outbox.update().where(outbox.c.id == message_id, outbox.c.delivered_at.is_(None))
        return await self._update(query.values(delivered_at=self._now()))

    async def release(self, message_id: int) -> None:
        """The send failed: the message waits for the next contact (or its due time)."""
        await self._give_back(message_id)

    async def redeliver(self, resend: Resend, *, contact: bool = False) -> list[Pending]:
        """One pass over the due messages: claim each, `resend` it, and give back those
        that failed with their next due time. Returns the messages given up on.

        `contact`: the platform also delivers a person's messages at their next contact
        (Teams), so a DM tried for a day goes on waiting for that instead of being dropped.
        """
        given_up = []
        for message in await self.due():
            if not await self.claim(message.id):
                continue  # another replica (or the person's contact) has it
            try:
                verdict = await resend(message)
            except Exception:  # not a platform's answer (the database): not left claimed
                await self._later(message)
                raise
            if verdict is Verdict.LATER and not self._expired(message):
                await self._later(message)
            elif verdict is not Verdict.SENT:
                waits = verdict is Verdict.WAIT or contact
                if waits and message.person_id is not None:
                    await self._give_back(message.id, due_at=None)
                else:
                    await self._give_back(message.id, due_at=None, gave_up_at=self._now())
                    given_up.append(message)
        return given_up

    def _expired(self, message: Pending) -> bool:
        created = message.created_at or self._now()
        return self._now() - created >= self.retries.give_up

    async def _later(self, message: Pending) -> None:
        attempts = message.attempts + 1
        due = self._now() + self.retries.delay(attempts)
        await self._give_back(message.id, due_at=due, attempts=attempts)

    async def _give_back(self, message_id: int, **values: Any) -> None:
        query = outbox.update().where(outbox.c.id == message_id, outbox.c.delivered_at.is_not(None))
        await self._update(query.values(delivered_at=None, **values))

    async def _update(self, query: sa.Update) -> bool:
        async with self._engine.begin() as conn:
            done = await conn.execute(query)
        return done.rowcount == 1


def _pending(row: sa.Row[Any]) -> Pending:
    return Pending(row.id, row.body, row.person_id, row.target, row.attempts, row.created_at)
