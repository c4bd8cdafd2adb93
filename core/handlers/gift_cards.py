"""Gift-card codes an HR admin adds in chat: the pool they go to, and the audit entry.

The codes never reach the core: the adapter seals them into the pool, and the core
counts them (`GiftCardPool`) and logs how many were added.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..audit import AuditEntry
from ..clock import Clock
from ..commands import GetCodePool, RecordCodes
from ..errors import NotAGiftCard, UnknownItem
from ..ports import UnitOfWork
from ..rewards import ItemKind
from .admin_queries import require_admin

ACTION = "catalog.codes"


@dataclass(frozen=True, slots=True, kw_only=True)
class CodePool:
    slug: str
    name: str
    available: int  # codes not yet reserved


async def get_code_pool(cmd: GetCodePool, uow: UnitOfWork, *, clock: Clock) -> CodePool:
    await require_admin(uow, cmd.actor_id)
    return await _pool(uow, cmd.item)


async def record_codes(cmd: RecordCodes, uow: UnitOfWork, *, clock: Clock) -> CodePool:
    """The codes are in the pool already (the adapter's own transaction): the entry says
    so whatever happened to the actor's role since, so no check refuses it here."""
    pool = await _pool(uow, cmd.item)
    await uow.audit.append(
        AuditEntry(
            actor_id=cmd.actor_id,
            action=ACTION,
            subject=f"item:{pool.slug}",
            at=clock.now(),
            after={"added": cmd.added, "skipped": cmd.skipped},
            platform=cmd.platform,
        )
    )
    return pool


async def _pool(uow: UnitOfWork, slug: str) -> CodePool:
    item = await uow.catalog.get(slug)
    if item is None:
        raise UnknownItem(slug)
    if item.kind is not ItemKind.GIFT_CARD:
        raise NotAGiftCard(item.name)
    available = await uow.gift_cards.available(item.slug)
    return CodePool(slug=item.slug, name=item.name, available=available)
