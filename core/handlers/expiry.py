"""Points expiry: earned points expire a number of months after they came, oldest first.

Points received on 11 January, with three months, can be used through 11 April (in the
person's own time zone) and are gone at midnight.

First in, first out without lots to keep: everything that ever left a person's earned
account (spent, held, reversed, expired) used the oldest points first, so what is due to
expire is what came before the cutoff minus all that left. Held points have left the
account, so they never expire while held; points refunded come back as new points.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .. import ledger
from ..clock import Clock
from ..commands import ExpirePoints
from ..events import PointsExpiring
from ..ledger import TransferKind, transfer
from ..periods import local_day, local_midnight, months_before
from ..ports import UnitOfWork


async def expire_points(cmd: ExpirePoints, uow: UnitOfWork, *, clock: Clock) -> int:
    """Expire what is due (at each person's local midnight) and warn of what comes next;
    returns the points expired now."""
    policy, now = (await uow.config.load()).policy, clock.now()
    months = policy.points_expire_months
    if months <= 0:
        return 0
    people = await uow.people.active_people()
    cutoffs = {p.id: _cutoff(now, p.tz, months) for p in people}
    soon = {
        p.id: _cutoff(now + timedelta(days=policy.expiry_warning_days), p.tz, months)
        for p in people
    }
    due_now = await uow.ledger.earned_flows(cutoffs)
    due_soon = await uow.ledger.earned_flows(soon)
    expired = 0
    for person in people:
        came, left = due_now.get(person.id, (0, 0))
        amount = min(came - left, await uow.ledger.balance(ledger.earned(person.id)))
        if amount > 0:
            expired += await _expire(
                uow, person.id, amount, now, local_day(now, person.tz).isoformat()
            )
        came_soon, _ = due_soon.get(person.id, (0, 0))
        coming = came_soon - left - max(amount, 0)
        if coming > 0 and "expiry" not in person.muted:
            # Points before a cutoff are gone at its midnight: the last day is the one before.
            on = local_day(now + timedelta(days=policy.expiry_warning_days - 1), person.tz)
            key = f"{person.id}:{on.isoformat()[:7]}"  # one warning a month at most
            if await uow.runs.claim("expiry:warning", key, at=now):
                uow.emit(PointsExpiring(person_id=person.id, points=coming, on=on))
    return expired


def _cutoff(instant: datetime, tz: str, months: int) -> datetime:
    """Points that came before this moment are due: local midnight, `months` back."""
    return local_midnight(months_before(local_day(instant, tz), months), tz)


async def _expire(uow: UnitOfWork, person_id: int, amount: int, now: datetime, day: str) -> int:
    move = (ledger.earned(person_id), ledger.EXPIRED, amount)
    posted = await uow.ledger.post(
        transfer(f"expiry:{person_id}:{day}", TransferKind.EXPIRY, move), at=now
    )
    return 0 if posted.replayed else amount
