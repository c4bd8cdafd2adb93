"""Who acts on an approved request, and what they read: one rule for every platform.

An experience is arranged by its named owner. Merchandise that ships goes to its owner,
else to the HR admins, with the shipping address opened from its seal: that card carries
personal data, so platforms never queue it in plain text (like gift-card codes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapters.persistence.gift_cards import GiftCardVault
from adapters.secrets import SecretsUnavailable
from core.people import Role
from core.ports import UnitOfWorkFactory
from core.rewards import CatalogItem, Redemption, RedemptionStatus

from .cards import Card, fulfil_card, ship_card

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Fulfilment:
    person_id: int
    card: Card
    private: bool  # holds an address: deliver now or not at all, never through a queue


async def fulfilments(
    uow: UnitOfWorkFactory, vault: GiftCardVault | None, r: Redemption, item: CatalogItem
) -> list[Fulfilment]:
    if r.status is not RedemptionStatus.APPROVED:
        return []
    async with uow(readonly=True) as work:
        requester = await work.people.get(r.person_id)
        owner = await work.people.by_email(item.owner_email) if item.owner_email else None
        admins = await work.people.with_role(Role.HR_ADMIN)
    if requester is None:
        return []
    if not item.ships:
        if owner is None:
            return []
        card = fulfil_card(r, item.name, requester.display_name)
        return [Fulfilment(owner.id, card, private=False)]
    address = _opened(vault, r)
    if address is None:
        return []
    card = ship_card(r, item.name, requester.display_name, address)
    senders = [owner.id] if owner is not None else admins
    return [Fulfilment(person_id, card, private=True) for person_id in senders]


def _opened(vault: GiftCardVault | None, r: Redemption) -> str | None:
    if r.shipping is None or vault is None:
        log.error("redemption %s ships but its address cannot be read", r.id)
        return None
    try:
        return vault.box.open(r.shipping)
    except SecretsUnavailable as error:
        log.error("redemption %s: shipping address not readable: %s", r.id, error)
        return None
