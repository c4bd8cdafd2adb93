"""Two-phase holds on earned points: place (pending), then post or void exactly once.

Redemption uses these: a request holds the points so they cannot be spent twice;
approval posts them to the organisation's redeemed account; decline, cancel or
timeout voids the hold and the points return to the person, exactly.
"""

from __future__ import annotations

from datetime import datetime

from . import ledger
from .errors import ResolvedHold
from .ledger import Hold, HoldStatus, TransferKind, transfer
from .ports import UnitOfWork


async def place_hold(
    uow: UnitOfWork, *, key: str, person_id: int, amount: int, at: datetime
) -> Hold:
    """Raises `InsufficientFunds` when the person's earned balance cannot cover it."""
    move = (ledger.earned(person_id), ledger.held(person_id), amount)
    posted = await uow.ledger.post(transfer(f"hold:{key}", TransferKind.HOLD, move), at=at)
    if posted.replayed:
        first = await uow.ledger.hold_by_key(key)
        assert first is not None, f"hold {key} posted without its record"
        return first
    return await uow.ledger.add_hold(key=key, person_id=person_id, amount=amount, at=at)


async def resolve_hold(uow: UnitOfWork, hold_id: int, *, post: bool, at: datetime) -> Hold:
    """Post (spend) or void (refund) a pending hold; a second resolution raises `ResolvedHold`."""
    hold = await uow.ledger.get_hold(hold_id)
    status = HoldStatus.POSTED if post else HoldStatus.VOIDED
    if hold is None or not await uow.ledger.resolve_hold(hold_id, status, at=at):
        raise ResolvedHold(hold_id)
    source = ledger.held(hold.person_id)
    if post:
        move = transfer(
            f"hold-post:{hold.key}", TransferKind.HOLD_POST, (source, ledger.REDEEMED, hold.amount)
        )
    else:
        move = transfer(
            f"hold-void:{hold.key}",
            TransferKind.HOLD_VOID,
            (source, ledger.earned(hold.person_id), hold.amount),
        )
    await uow.ledger.post(move, at=at)
    return Hold(
        id=hold.id,
        key=hold.key,
        person_id=hold.person_id,
        amount=hold.amount,
        status=status,
        created_at=hold.created_at,
        resolved_at=at,
    )
