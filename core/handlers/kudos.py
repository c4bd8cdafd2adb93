"""Giving kudos and reversing them."""

from __future__ import annotations

import uuid
from dataclasses import fields, replace
from datetime import date, datetime
from functools import lru_cache
from operator import attrgetter

from .. import ledger
from ..clock import Clock
from ..commands import GiveKudos, RevokeKudos
from ..errors import (
    AlreadyRevoked,
    AmountOutOfRange,
    BotReceiver,
    DailyLimitReached,
    GiverInactive,
    InactivePerson,
    InsufficientAllowance,
    InsufficientFunds,
    NoReceivers,
    ReasonTooShort,
    RecognitionNotFound,
    SelfKudos,
    TransientStoreError,
    UnknownPerson,
    UnknownValue,
    ValuesRequired,
)
from ..events import KudosGiven, KudosRevoked, TierReached
from ..ledger import AccountRef, TransferKind, transfer
from ..people import Person
from ..periods import all_bucket_keys, local_day, period_containing
from ..policy import OrgConfig, tier_for, value_slug
from ..ports import UnitOfWork
from ..recognition import ALL_VALUES, Recognition, StatDelta, StatRole
from ..views import KudosResult, RevokeResult
from .allowance import current_allowance, entitlement, open_current_period


async def give_kudos(cmd: GiveKudos, uow: UnitOfWork, *, clock: Clock) -> KudosResult:
    key = cmd.idempotency_key or f"kudos:{uuid.uuid4()}"
    existing = await uow.recognitions.by_key(key)
    if existing is not None:
        return await _replay(uow, existing, clock.now())
    config, now = await uow.config.load(), clock.now()
    giver, receivers = await _people(uow, cmd)
    amount = _checked_amount(cmd.amount, config)
    reason = _checked_reason(cmd.reason, config)
    values = _checked_values(cmd.values, config)
    state = await open_current_period(uow, giver, config, now)
    total = amount * len(receivers)
    moves = [(ledger.allowance(giver.id), ledger.earned(r.id), amount) for r in receivers]
    try:
        posted = await uow.ledger.post(transfer(f"kudos:{key}", TransferKind.KUDOS, *moves), at=now)
    except InsufficientFunds:
        left = await uow.ledger.balance(ledger.allowance(giver.id))
        raise InsufficientAllowance(left=left, needed=total) from None
    if posted.replayed:  # a concurrent request with the same key won the race
        first = await uow.recognitions.by_key(key)
        if first is None:
            raise TransientStoreError(f"transfer {posted.key} without its recognition")
        return await _replay(uow, first, now)
    await _consume_daily(uow, giver, total, config, now)
    recognition = await uow.recognitions.add(
        Recognition(
            id=0,
            key=key,
            giver_id=giver.id,
            receiver_ids=tuple(r.id for r in receivers),
            amount=amount,
            reason=reason,
            values=values,
            source=cmd.source,
            created_at=now,
            context=dict(cmd.context),
        )
    )
    await _count(uow, recognition, config, sign=1)
    await _announce_tiers(uow, recognition, config)
    uow.emit(KudosGiven(recognition=recognition))
    return KudosResult(
        recognition=recognition,
        giver=giver,
        receivers=receivers,
        allowance=replace(state, left=state.left - total),
    )


async def revoke_kudos(cmd: RevokeKudos, uow: UnitOfWork, *, clock: Clock) -> RevokeResult:
    """Reverse a recognition exactly once.

    The giver gets the allowance back if the gift belongs to their current period
    (an old period's allowance has lapsed, so it returns to the organisation).
    Receivers lose what they still hold of it; points they already spent are
    written off against the organisation rather than driving a balance negative.
    """
    now = clock.now()
    recognition = await uow.recognitions.by_key(cmd.recognition_key)
    if recognition is None:
        raise RecognitionNotFound()
    if not await uow.recognitions.mark_revoked(recognition.id, at=now):
        raise AlreadyRevoked()
    config = await uow.config.load()
    giver = await uow.people.get(recognition.giver_id)
    if giver is None:
        raise UnknownPerson(str(recognition.giver_id))
    refund_to = await _refund_account(uow, giver, recognition, config, now)
    moves = await _reversal_moves(uow, recognition, refund_to)
    if moves:  # empty when every point was already spent and none returns to an allowance
        try:
            await uow.ledger.post(
                transfer(f"revoke:{recognition.key}", TransferKind.KUDOS_REVERSAL, *moves), at=now
            )
        except InsufficientFunds:  # a receiver spent points between our read and the debit
            raise TransientStoreError("balance moved during reversal") from None
    day = local_day(recognition.created_at, giver.tz).isoformat()
    await uow.giving.release(giver.id, day, recognition.total)
    await _count(uow, recognition, config, sign=-1)
    revoked = replace(recognition, revoked_at=now)
    uow.emit(KudosRevoked(recognition=revoked, reason=cmd.reason))
    refunded = recognition.total if refund_to.kind is ledger.AccountKind.ALLOWANCE else 0
    return RevokeResult(recognition=revoked, refunded_to_allowance=refunded)


async def _people(uow: UnitOfWork, cmd: GiveKudos) -> tuple[Person, tuple[Person, ...]]:
    ids = list(dict.fromkeys(cmd.receiver_ids))  # the same person named twice counts once
    found = await uow.people.get_many([cmd.giver_id, *ids])  # one read for everyone
    giver = found.get(cmd.giver_id)
    if giver is None:
        raise UnknownPerson(str(cmd.giver_id))
    if not giver.active:
        raise GiverInactive()
    if not ids:
        raise NoReceivers()
    if giver.id in ids:
        raise SelfKudos()
    receivers = []
    for person_id in ids:
        person = found.get(person_id)
        if person is None:
            raise UnknownPerson(str(person_id))
        if person.is_bot:
            raise BotReceiver(person.display_name)
        if not person.active:
            raise InactivePerson(person.display_name)
        receivers.append(person)
    return giver, tuple(receivers)


def _checked_amount(amount: int | None, config: OrgConfig) -> int:
    policy = config.policy
    chosen = policy.default_amount if amount is None else amount
    if not 1 <= chosen <= policy.per_gift_cap:
        raise AmountOutOfRange(chosen, policy.per_gift_cap)
    return chosen


def _checked_reason(reason: str, config: OrgConfig) -> str:
    cleaned = " ".join(reason.split())
    if len(cleaned) < config.policy.min_reason_length:
        raise ReasonTooShort(config.policy.min_reason_length)
    return cleaned


def _checked_values(names: tuple[str, ...], config: OrgConfig) -> tuple[str, ...]:
    active = config.active_values()
    for name in names:
        if value_slug(name) not in active:
            raise UnknownValue(name.lstrip("#"), active)
    if config.policy.values_required and not names:
        raise ValuesRequired(active)
    return tuple(dict.fromkeys(value_slug(n) for n in names))


async def _consume_daily(
    uow: UnitOfWork, giver: Person, total: int, config: OrgConfig, now: datetime
) -> None:
    limit = config.policy.daily_limit
    if not limit:
        return
    day = local_day(now, giver.tz).isoformat()
    if total > limit or not await uow.giving.consume(giver.id, day, total, limit=limit):
        given = await uow.giving.given_on(giver.id, day)
        raise DailyLimitReached(limit=limit, left=max(0, limit - given))


async def _count(
    uow: UnitOfWork, recognition: Recognition, config: OrgConfig, *, sign: int
) -> None:
    """Update the pre-aggregated leaderboard buckets (organisation calendar)."""
    day = local_day(recognition.created_at, config.policy.timezone)
    deltas = []
    for bucket in _bucket_keys(day):
        for value in (ALL_VALUES, *recognition.values):
            deltas.append(
                StatDelta(
                    role=StatRole.GIVEN,
                    bucket=bucket,
                    value=value,
                    person_id=recognition.giver_id,
                    points=sign * recognition.total,
                    count=sign,
                )
            )
            deltas.extend(
                StatDelta(
                    role=StatRole.RECEIVED,
                    bucket=bucket,
                    value=value,
                    person_id=r,
                    points=sign * recognition.amount,
                    count=sign,
                )
                for r in recognition.receiver_ids
            )
    # Sorted (concurrent gifts lock buckets in one order) by the fields StatDelta orders by,
    # fetched in C: its generated __lt__ builds two tuples per comparison.
    await uow.stats.add(sorted(deltas, key=_DELTA_ORDER))


_DELTA_ORDER = attrgetter(*(f.name for f in fields(StatDelta)))


@lru_cache(maxsize=8)
def _bucket_keys(day: date) -> tuple[str, ...]:
    """Every gift of a day counts in the same buckets."""
    return tuple(all_bucket_keys(day))


async def _announce_tiers(uow: UnitOfWork, recognition: Recognition, config: OrgConfig) -> None:
    for person_id in recognition.receiver_ids:
        after = await uow.stats.lifetime_received(person_id)
        reached = tier_for(after, config.tiers)
        if reached is not None and reached != tier_for(after - recognition.amount, config.tiers):
            uow.emit(
                TierReached(
                    person_id=person_id, tier=reached.name, badge=reached.badge, lifetime=after
                )
            )


async def _refund_account(
    uow: UnitOfWork, giver: Person, recognition: Recognition, config: OrgConfig, now: datetime
) -> AccountRef:
    """The giver's allowance if the gift is from the period they are in now, else issuance."""
    due = await entitlement(uow, giver, config)
    gift_period = period_containing(local_day(recognition.created_at, giver.tz), due.period)
    current = period_containing(local_day(now, giver.tz), due.period)
    opened = await uow.ledger.allowance_account(giver.id)
    if gift_period.key == current.key == opened.period_key:
        return ledger.allowance(giver.id)
    return ledger.ISSUANCE


async def _reversal_moves(
    uow: UnitOfWork, recognition: Recognition, refund_to: AccountRef
) -> list[tuple[AccountRef, AccountRef, int]]:
    moves = []
    for person_id in recognition.receiver_ids:
        source = ledger.earned(person_id)
        taken = min(recognition.amount, await uow.ledger.balance(source))
        if taken:
            moves.append((source, refund_to, taken))
        if recognition.amount - taken and refund_to != ledger.ISSUANCE:
            moves.append((ledger.ISSUANCE, refund_to, recognition.amount - taken))
    return moves


async def _replay(uow: UnitOfWork, recognition: Recognition, now: datetime) -> KudosResult:
    people = await uow.people.get_many([recognition.giver_id, *recognition.receiver_ids])
    giver = people[recognition.giver_id]
    state = await current_allowance(uow, giver, await uow.config.load(), now)
    return KudosResult(
        recognition=recognition,
        giver=giver,
        receivers=tuple(people[r] for r in recognition.receiver_ids),
        allowance=state,
        replayed=True,
    )
