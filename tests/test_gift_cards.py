"""Gift cards: codes sealed at rest, reserved by a request, delivered once by DM after
approval; key rotation; no code in plain text in the database or the logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from adapters.persistence.gift_cards import GiftCardVault
from adapters.persistence.tables import gift_card_codes
from adapters.secrets import SecretBox
from core.commands import Decide, GiveKudos, PutCatalogItem, Redeem
from core.decisions import Outcome
from core.errors import OutOfStock
from core.events import GiftCardsLow
from core.rewards import CatalogItem, ItemKind

from .slack_harness import SlackWorld, slack_world
from .test_rewards_chat import organisation

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
CODES = ["GC-AAAA-1111", "GC-BBBB-2222"]
CARD = CatalogItem(slug="coffee", name="Coffee card", kind=ItemKind.GIFT_CARD, price=10)


@pytest.fixture(params=["sqlite", "pg"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(request.param, tmp_path, secret_keys=OLD_KEY) as built:
        built.api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        built.api.add_user("U2", email="maria@example.com", real_name="Maria Rossi")
        bus = built.app.bus
        await organisation(bus)
        await bus.handle(PutCatalogItem(item=CARD))
        async with built.app.uow(readonly=True) as uow:
            ana = await uow.people.by_email("ana@example.com")
            maria = await uow.people.by_email("maria@example.com")
        await bus.handle(
            GiveKudos(giver_id=maria.id, receiver_ids=(ana.id,), amount=30, reason="the launch")
        )
        built.ana, built.maria = ana, maria  # type: ignore[attr-defined]
        yield built


async def test_codes_are_sealed_reserved_and_delivered_once(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    vault = GiftCardVault(world.app.engine, SecretBox.from_setting(OLD_KEY))
    assert await vault.add("coffee", [*CODES, CODES[0]]) == 2  # the duplicate is skipped
    ana, maria = world.ana, world.maria  # type: ignore[attr-defined]
    r = (await world.app.bus.handle(Redeem(person_id=ana.id, item="coffee"))).redemption
    await world.app.bus.handle(
        Decide(key=r.decision_key, outcome=Outcome.APPROVE, person_id=maria.id)
    )
    await world.settle()
    dms = [str(c.args) for c in world.api.calls_to("chat.postMessage")]
    delivered = [d for d in dms if "GC-" in d]
    assert len(delivered) == 1 and CODES[0] in delivered[0]
    assert await vault.open_issued(r.key) == []  # shown once
    # Neither the database nor the logs hold a code in plain text.
    async with world.app.engine.connect() as conn:
        rows = (await conn.execute(sa.select(gift_card_codes))).mappings().all()
    stored = repr([dict(row) for row in rows])
    assert all(code not in stored for code in CODES)
    assert all(code not in caplog.text for code in CODES)


async def test_an_empty_pool_is_out_of_stock_and_a_low_one_warns(world: SlackWorld) -> None:
    ana = world.ana  # type: ignore[attr-defined]
    with pytest.raises(OutOfStock):
        await world.app.bus.handle(Redeem(person_id=ana.id, item="coffee"))
    vault = GiftCardVault(world.app.engine, SecretBox.from_setting(OLD_KEY))
    await vault.add("coffee", CODES)
    warned: list[GiftCardsLow] = []

    async def listen(event: object) -> None:
        warned.append(event)  # type: ignore[arg-type]

    world.app.bus.subscribe(GiftCardsLow, listen)
    await world.app.bus.handle(Redeem(person_id=ana.id, item="coffee"))
    assert [(w.item, w.left) for w in warned] == [("Coffee card", 1)]


async def test_codes_stay_readable_after_a_new_key_is_put_first(world: SlackWorld) -> None:
    await GiftCardVault(world.app.engine, SecretBox.from_setting(OLD_KEY)).add("coffee", CODES)
    ana, maria = world.ana, world.maria  # type: ignore[attr-defined]
    r = (await world.app.bus.handle(Redeem(person_id=ana.id, item="coffee"))).redemption
    await world.app.bus.handle(
        Decide(key=r.decision_key, outcome=Outcome.APPROVE, person_id=maria.id)
    )
    rotated = GiftCardVault(world.app.engine, SecretBox.from_setting(f"{NEW_KEY},{OLD_KEY}"))
    assert await rotated.open_issued(r.key) == [CODES[0]]
    only_new = GiftCardVault(world.app.engine, SecretBox.from_setting(NEW_KEY))
    with pytest.raises(Exception, match="no key"):
        await only_new.open_issued(r.key)


async def test_the_whole_lifecycle_through_the_slack_route(world: SlackWorld) -> None:
    """Request by /kudos, the manager's DM with buttons, the click, the code by DM."""
    from .slack_harness import click
    from .slack_requests import slash_command

    await GiftCardVault(world.app.engine, SecretBox.from_setting(OLD_KEY)).add("coffee", CODES)
    await world.post(
        slash_command("redeem coffee", user_id="U1", response_url=world.api.response_url("a"))
    )
    assert "held until Maria Rossi decides" in (await world.api.wait_for_response("a"))[0]["text"]
    await world.settle()
    ask = next(
        c for c in world.api.calls_to("chat.postMessage") if "asks for Coffee card" in str(c.args)
    )
    await click(world, ask, "laurel_decide:approve", "U2", "m")
    await world.settle()
    codes = [c for c in world.api.calls_to("chat.postMessage") if "GC-AAAA-1111" in str(c.args)]
    assert len(codes) == 1


async def test_a_code_added_before_a_key_rotation_is_still_recognised(world: SlackWorld) -> None:
    await GiftCardVault(world.app.engine, SecretBox.from_setting(OLD_KEY)).add("coffee", CODES)
    rotated = GiftCardVault(world.app.engine, SecretBox.from_setting(f"{NEW_KEY},{OLD_KEY}"))
    assert await rotated.add("coffee", [CODES[0], "GC-NEW-3333"]) == 1
