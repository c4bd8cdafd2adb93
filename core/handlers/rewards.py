"""Redeeming points: the request (hold, stock, approver), the decision, and cancelling.

The approver is the requester's manager from the directory, else a person with the
approver role, else an HR admin. Their decision is a `Decision` of kind "redemption":
the first click (on any platform) posts or voids the hold in the same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import uuid4

from .. import ledger
from ..audit import AuditEntry
from ..clock import Clock
from ..commands import (
    CancelRedemption,
    ChaseApprovals,
    GetRedemptions,
    GetShop,
    PutCatalogItem,
    Redeem,
)
from ..decisions import Decision, Outcome
from ..errors import (
    BadQuantity,
    InactivePerson,
    InsufficientFunds,
    ItemLimitReached,
    ItemUnavailable,
    NoApprover,
    NotEnoughPoints,
    NotTheApprover,
    NoVariants,
    OutOfStock,
    RedemptionClosed,
    SelfApproval,
    ShippingNeeded,
    TierTooLow,
    UnknownItem,
    UnknownPerson,
    UnknownRedemption,
    VariantNeeded,
)
from ..events import (
    GiftCardsLow,
    RedemptionApproved,
    RedemptionDeclined,
    RedemptionPlaced,
    RedemptionRequested,
)
from ..holds import place_hold, resolve_hold
from ..org import is_above
from ..people import Person, Role
from ..periods import PeriodKind, daytime, local_day, local_midnight, period_containing
from ..policy import tier_for
from ..ports import UnitOfWork
from ..rewards import (
    CatalogItem,
    ItemKind,
    Redemption,
    RedemptionResult,
    RedemptionStatus,
    RedemptionsView,
    ShopLine,
    ShopView,
)

KIND = "redemption"  # the decision kind this module owns
MAX_QUANTITY = 100


async def put_catalog_item(cmd: PutCatalogItem, uow: UnitOfWork, *, clock: Clock) -> None:
    await uow.catalog.put(cmd.item)


async def redeem(cmd: Redeem, uow: UnitOfWork, *, clock: Clock) -> RedemptionResult:
    key = cmd.idempotency_key or uuid4().hex
    earlier = await uow.redemptions.by_key(key)
    if earlier is not None:
        return await _result(uow, earlier)
    redemption = await _request(uow, cmd, key, clock.now())
    return await _result(uow, redemption)


async def _result(uow: UnitOfWork, redemption: Redemption) -> RedemptionResult:
    item = await uow.catalog.get(redemption.item_slug)
    assert item is not None, redemption.item_slug
    approver = None
    if redemption.approver_id is not None:
        found = await uow.people.get(redemption.approver_id)
        approver = found.display_name if found else None
    return RedemptionResult(redemption=redemption, item=item, approver=approver)


async def _request(uow: UnitOfWork, cmd: Redeem, key: str, now: datetime) -> Redemption:
    person = await _requester(uow, cmd.person_id)
    item = await _available(uow, cmd.item, person, now)
    if not 1 <= cmd.quantity <= MAX_QUANTITY:
        raise BadQuantity()
    variant = _variant(item, cmd)
    if item.per_person_limit is not None:
        await uow.people.lock(person.id)  # concurrent requests by one person count each other
    await _within_limit(uow, person, item, cmd.quantity, now)
    await _take(uow, item, key, cmd.quantity, variant)
    amount = item.price * cmd.quantity
    try:
        hold = await place_hold(
            uow, key=f"redemption:{key}", person_id=person.id, amount=amount, at=now
        )
    except InsufficientFunds:
        available = await uow.ledger.balance(ledger.earned(person.id))
        raise NotEnoughPoints(amount, available) from None
    approver = await approver_for(uow, person) if item.approval_needed else None
    redemption = await uow.redemptions.add(
        Redemption(
            id=0,
            key=key,
            person_id=person.id,
            item_slug=item.slug,
            quantity=cmd.quantity,
            points=amount,
            status=RedemptionStatus.PENDING,
            hold_id=hold.id,
            approver_id=approver.id if approver else None,
            created_at=now,
            variant=variant,
            shipping=cmd.shipping if item.ships else None,
        )
    )
    uow.emit(RedemptionPlaced(redemption=redemption))
    if not item.approval_needed:
        return await _approve(uow, redemption, now)
    await uow.decisions.add(
        Decision(
            key=redemption.decision_key,
            kind=KIND,
            subject=str(redemption.id),
            options=(Outcome.APPROVE, Outcome.DECLINE),
        )
    )
    uow.emit(RedemptionRequested(redemption=redemption, decision_key=redemption.decision_key))
    return redemption


def _variant(item: CatalogItem, cmd: Redeem) -> str | None:
    """The variant asked for, by its catalog name. An item that ships asks for the address
    first: a form that asks for it offers the variants too."""
    chosen = item.variant(cmd.variant)
    if item.ships and not cmd.shipping:
        names = tuple(v.name for v in item.variants if v.stock != 0)  # what the form offers
        variant = chosen.name if chosen else None
        raise ShippingNeeded(
            item.name, item.slug, variants=names, variant=variant, quantity=cmd.quantity
        )
    if item.variants and chosen is None:
        raise VariantNeeded(item.name, item.slug, tuple(v.name for v in item.variants))
    if not item.variants and cmd.variant:
        raise NoVariants(item.name, item.slug)
    return chosen.name if chosen else None


async def _take(
    uow: UnitOfWork, item: CatalogItem, key: str, quantity: int, variant: str | None
) -> None:
    """Stock (the item's and the variant's), or for a gift card as many codes from its
    pool, reserved for this request."""
    if item.kind is ItemKind.GIFT_CARD:
        taken = await uow.gift_cards.reserve(item.slug, key, quantity)
        left = await uow.gift_cards.available(item.slug) if taken else 0
        if taken and left <= (await uow.config.load()).policy.gift_card_low_water:
            uow.emit(GiftCardsLow(item=item.name, left=left))
    else:
        taken = await uow.catalog.take_stock(item.slug, quantity, variant)
    if not taken:
        raise OutOfStock(f"{item.name} ({variant})" if variant else item.name)


async def _give_back(uow: UnitOfWork, r: Redemption) -> None:
    item = await uow.catalog.get(r.item_slug)
    if item is not None and item.kind is ItemKind.GIFT_CARD:
        await uow.gift_cards.release(r.key)
    else:
        await uow.catalog.return_stock(r.item_slug, r.quantity, r.variant)


async def _requester(uow: UnitOfWork, person_id: int) -> Person:
    person = await uow.people.get(person_id)
    if person is None:
        raise UnknownPerson(str(person_id))
    if not person.active:
        raise InactivePerson(person.display_name)
    return person


async def _available(uow: UnitOfWork, slug: str, person: Person, now: datetime) -> CatalogItem:
    """The item, if this person may have it now (active, in its window, tier reached)."""
    item = await uow.catalog.get(slug.strip().casefold().lstrip("#"))
    if item is None:
        raise UnknownItem(slug)
    today = local_day(now, person.tz)
    if not item.active or (item.available_from and today < item.available_from):
        raise ItemUnavailable(item.name)
    if item.available_until and today > item.available_until:
        raise ItemUnavailable(item.name)
    if item.min_tier:
        config = await uow.config.load()
        needed = next((t for t in config.tiers if t.name == item.min_tier), None)
        reached = tier_for(await uow.stats.lifetime_received(person.id), config.tiers)
        if needed and (reached is None or reached.threshold < needed.threshold):
            raise TierTooLow(item.name, needed.name)
    return item


async def _within_limit(
    uow: UnitOfWork, person: Person, item: CatalogItem, quantity: int, now: datetime
) -> None:
    if item.per_person_limit is None:
        return
    month = period_containing(local_day(now, person.tz), PeriodKind.MONTH)
    since = local_midnight(month.start, person.tz)
    taken = await uow.redemptions.units_since(person.id, item.slug, since)
    if taken + quantity > item.per_person_limit:
        raise ItemLimitReached(item.name, item.per_person_limit)


async def approver_for(uow: UnitOfWork, person: Person) -> Person:
    """The manager, else an approver, else an HR admin; never the requester."""
    if person.manager_id is not None:
        manager = await uow.people.get(person.manager_id)
        if manager is not None and manager.active:
            return manager
    for role in (Role.APPROVER, Role.HR_ADMIN):
        for candidate in await uow.people.with_role(role):
            if candidate != person.id:
                found = await uow.people.get(candidate)
                if found is not None:
                    return found
    raise NoApprover()


async def decide_redemption(uow: UnitOfWork, decision: Decision) -> None:
    """The Decision effect: decline refunds; approve spends the hold, unless a large
    request still needs finance's decision (the second one)."""
    redemption = await uow.redemptions.get(int(decision.subject))
    assert redemption is not None, decision.subject
    assert decision.decided_by is not None and decision.decided_at is not None
    if decision.decided_by == redemption.person_id:
        raise SelfApproval()
    finance = decision.key == redemption.finance_key
    if not await _may_decide(uow, decision.decided_by, redemption, finance=finance):
        raise NotTheApprover()
    if decision.outcome is not Outcome.APPROVE:
        note = decision.note
        await _refund(uow, redemption, RedemptionStatus.DECLINED, decision.decided_at, note)
    elif not finance and await _needs_finance(uow, redemption):
        await _ask_finance(uow, redemption, decision.decided_by)
    else:
        await _approve(uow, redemption, decision.decided_at)
    await _audit_decision(uow, decision, redemption.id)


async def _needs_finance(uow: UnitOfWork, r: Redemption) -> bool:
    threshold = (await uow.config.load()).policy.finance_approval_points
    return bool(threshold) and r.points >= threshold


async def _finance_approver(uow: UnitOfWork, r: Redemption, *excluded: int) -> int | None:
    """Someone in finance (else HR) who is neither the requester nor excluded."""
    first = await uow.decisions.get(r.decision_key)
    skip = {r.person_id, *excluded, *([first.decided_by] if first and first.decided_by else [])}
    for role in (Role.FINANCE, Role.HR_ADMIN):
        chosen = [i for i in await uow.people.with_role(role) if i not in skip]
        if chosen:
            return chosen[0]
    return None


async def _ask_finance(uow: UnitOfWork, r: Redemption, first: int) -> None:
    """The manager said yes to a large request: finance decides second (else HR)."""
    chosen = await _finance_approver(uow, r, first)
    if chosen is None:
        raise NoApprover()
    await uow.redemptions.reroute(r.id, chosen)
    await uow.decisions.add(
        Decision(
            key=r.finance_key,
            kind=KIND,
            subject=str(r.id),
            options=(Outcome.APPROVE, Outcome.DECLINE),
        )
    )
    routed = replace(r, approver_id=chosen)
    uow.emit(RedemptionRequested(redemption=routed, decision_key=r.finance_key))


async def _may_decide(
    uow: UnitOfWork, person_id: int, redemption: Redemption, *, finance: bool
) -> bool:
    """First decision: the routed approver, anyone above the requester, or HR. Second
    (finance) decision: someone in finance or HR who did not take the first: whoever the
    request was routed to, the role is what counts there."""
    decider = await uow.people.get(person_id)
    if decider is None or not decider.active:
        return False
    if finance:
        first = await uow.decisions.get(redemption.decision_key)
        took_first = first is not None and first.decided_by == person_id
        return bool({Role.FINANCE, Role.HR_ADMIN} & decider.roles) and not took_first
    if person_id == redemption.approver_id or Role.HR_ADMIN in decider.roles:
        return True
    return await is_above(uow, person_id, redemption.person_id)


async def _approve(uow: UnitOfWork, redemption: Redemption, at: datetime) -> Redemption:
    await resolve_hold(uow, redemption.hold_id, post=True, at=at)
    await uow.gift_cards.issue(redemption.key)  # a gift card's codes are theirs now
    if not await uow.redemptions.close(redemption.id, RedemptionStatus.APPROVED, at=at, note=""):
        raise RedemptionClosed()
    approved = replace(redemption, status=RedemptionStatus.APPROVED, decided_at=at)
    uow.emit(RedemptionApproved(redemption=approved))
    return approved


async def _refund(
    uow: UnitOfWork, redemption: Redemption, status: RedemptionStatus, at: datetime, note: str
) -> Redemption:
    if not await uow.redemptions.close(redemption.id, status, at=at, note=note):
        raise RedemptionClosed()
    await resolve_hold(uow, redemption.hold_id, post=False, at=at)
    await _give_back(uow, redemption)
    refunded = replace(redemption, status=status, decided_at=at, note=note)
    uow.emit(RedemptionDeclined(redemption=refunded))
    return refunded


async def cancel_redemption(cmd: CancelRedemption, uow: UnitOfWork, *, clock: Clock) -> Redemption:
    """The requester withdraws a pending request: the decision is taken (by them, as
    cancelled) so that a later Approve click learns it is over, and the points come back."""
    redemption = await uow.redemptions.get(cmd.redemption_id)
    if redemption is None or redemption.person_id != cmd.person_id:
        raise UnknownRedemption()
    now = clock.now()
    if not await _close_open_decision(uow, redemption, cmd.person_id, now, ""):
        raise RedemptionClosed()
    return await _refund(uow, redemption, RedemptionStatus.CANCELLED, now, "")


async def get_shop(cmd: GetShop, uow: UnitOfWork, *, clock: Clock) -> ShopView:
    """Every active item, with why it is locked for this person (tier, stock, window)."""
    person = await _requester(uow, cmd.person_id)
    now = clock.now()
    earned = await uow.ledger.balance(ledger.earned(person.id))
    lines = []
    for item in await uow.catalog.items():
        if item.active:
            lines.append(ShopLine(item=item, locked=await _lock(uow, item, person, earned, now)))
    return ShopView(earned=earned, lines=lines)


async def _lock(
    uow: UnitOfWork, item: CatalogItem, person: Person, earned: int, now: datetime
) -> str | None:
    """Why the person cannot have the item now, if they cannot."""
    if item.sold_out:
        return "stock"
    if item.kind is ItemKind.GIFT_CARD and not await uow.gift_cards.available(item.slug):
        return "stock"
    try:
        await _available(uow, item.slug, person, now)
    except TierTooLow:
        return "tier"
    except ItemUnavailable:
        return "window"
    return "points" if item.price > earned else None


async def get_redemptions(cmd: GetRedemptions, uow: UnitOfWork, *, clock: Clock) -> RedemptionsView:
    if cmd.approver:
        found = await uow.redemptions.pending_for(cmd.person_id)
    else:
        found = await uow.redemptions.of_person(cmd.person_id, limit=cmd.limit)
    items = {i.slug: i for i in await uow.catalog.items()}
    people = await uow.people.get_many(sorted({r.person_id for r in found}))
    return RedemptionsView(
        redemptions=found,
        items=items,
        people={i: p.display_name for i, p in people.items()},
    )


async def _close_open_decision(
    uow: UnitOfWork, r: Redemption, person_id: int | None, now: datetime, note: str
) -> bool:
    """Take whichever decision is still open (the first, or finance's) as cancelled."""
    for key in (r.decision_key, r.finance_key):
        if await uow.decisions.claim(key, Outcome.CANCEL, person_id, now, note):
            return True
    return False


async def chase_approvals(cmd: ChaseApprovals, uow: UnitOfWork, *, clock: Clock) -> int:
    """Each undecided request, by age: after `approval_remind_days` its approver is reminded
    (in their daytime, unless they muted approvals), after `approval_escalate_days` it goes
    to the approver's manager, after `approval_expire_days` it is refunded. Each step
    happens once (claimed in `uow.runs`)."""
    policy, now = (await uow.config.load()).policy, clock.now()
    acted = 0
    for r in await uow.redemptions.pending():
        days = (now - r.created_at).days
        if days >= policy.approval_expire_days:
            acted += await _expire(uow, r, now)
        elif days >= policy.approval_escalate_days:
            acted += await _escalate(uow, r, now)
        elif days >= policy.approval_remind_days:
            acted += await _remind(uow, r, now)
    return acted


async def _expire(uow: UnitOfWork, r: Redemption, now: datetime) -> int:
    if not await _close_open_decision(uow, r, None, now, "expired"):
        return 0
    await _refund(uow, r, RedemptionStatus.EXPIRED, now, "")
    return 1


async def _escalate(uow: UnitOfWork, r: Redemption, now: datetime) -> int:
    """To the approver's manager; a request waiting for finance goes to someone else in
    finance instead (a manager cannot take finance's decision)."""
    key = await _open_key(uow, r)
    if key == r.finance_key:
        target = await _finance_approver(uow, r, r.approver_id or 0)
    else:
        approver = await uow.people.get(r.approver_id or 0)
        above = (
            await uow.people.get(approver.manager_id) if approver and approver.manager_id else None
        )
        usable = above is not None and above.active and above.id != r.person_id
        target = above.id if above is not None and usable else None
    if target is None:
        return await _remind(uow, r, now)  # nobody to go to: keep reminding the approver
    if not await uow.runs.claim("approval:escalate", str(r.id), at=now):
        return 0
    await uow.redemptions.reroute(r.id, target)
    routed = replace(r, approver_id=target)
    uow.emit(RedemptionRequested(redemption=routed, decision_key=key, reminder=True))
    return 1


async def _remind(uow: UnitOfWork, r: Redemption, now: datetime) -> int:
    approver = await uow.people.get(r.approver_id or 0)
    if approver is None or "approvals" in approver.muted:
        return 0
    if not daytime(now, approver.tz):  # in the approver's working day
        return 0
    if not await uow.runs.claim("approval:remind", f"{r.id}:{r.approver_id}", at=now):
        return 0
    uow.emit(RedemptionRequested(redemption=r, decision_key=await _open_key(uow, r), reminder=True))
    return 1


async def _open_key(uow: UnitOfWork, r: Redemption) -> str:
    """The decision still waiting: finance's once the first one is taken."""
    first = await uow.decisions.get(r.decision_key)
    return r.finance_key if first is not None and first.outcome is not None else r.decision_key


async def reroute_from(uow: UnitOfWork, person: Person, now: datetime) -> None:
    """`person` changed manager: their pending requests go to the new one. `person` left:
    their own pending requests are cancelled (refunded: nothing is delivered to a leaver),
    and requests waiting for their decision go to their manager (finance's stay finance's)."""
    for r in await uow.redemptions.of_person(person.id, limit=100):
        if r.status is not RedemptionStatus.PENDING:
            continue
        if not person.active:
            if await _close_open_decision(uow, r, None, now, "left"):
                await _refund(uow, r, RedemptionStatus.CANCELLED, now, "")
        elif await _open_key(uow, r) == r.decision_key:
            await _send_to(uow, r, (await approver_for(uow, person)).id)
    if person.active:
        return
    above = await uow.people.get(person.manager_id) if person.manager_id else None
    for r in await uow.redemptions.pending_for(person.id):
        if await _open_key(uow, r) == r.finance_key:
            target = await _finance_approver(uow, r, person.id)
        elif above is not None and above.active and above.id != r.person_id:
            target = above.id
        else:
            requester = await uow.people.get(r.person_id)
            target = (await approver_for(uow, requester)).id if requester else None
        if target is not None:
            await _send_to(uow, r, target)


async def _send_to(uow: UnitOfWork, r: Redemption, approver_id: int) -> None:
    if approver_id != r.approver_id and approver_id != r.person_id:
        await uow.redemptions.reroute(r.id, approver_id)
        routed = replace(r, approver_id=approver_id)
        uow.emit(RedemptionRequested(redemption=routed, decision_key=await _open_key(uow, r)))


async def _audit_decision(uow: UnitOfWork, decision: Decision, redemption_id: int) -> None:
    """One audit entry per approval decision, with the status it left the request in (a
    manager's yes to a large request leaves it pending for finance)."""
    after = await uow.redemptions.get(redemption_id)
    assert after is not None and decision.outcome is not None and decision.decided_at
    step = "finance_" if decision.key == after.finance_key else ""
    await uow.audit.append(
        AuditEntry(
            actor_id=decision.decided_by,
            action=f"redemption.{step}{decision.outcome.value}",
            subject=f"redemption:{redemption_id}",
            at=decision.decided_at,
            before={"status": RedemptionStatus.PENDING.value},
            after={"status": after.status.value, "points": after.points},
        )
    )
