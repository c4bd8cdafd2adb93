"""Merchandise: sizes or variants with their own stock, and a shipping address that is
sealed the moment it arrives and opened only for whoever sends the parcel. Through the
core on every engine, and end to end through the Slack modal and the Teams card."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from adapters.persistence.tables import redemptions
from core.commands import CancelRedemption, GetShop, PutCatalogItem, Redeem, SyncDirectory
from core.directory import DirectoryRecord
from core.errors import NoVariants, OutOfStock, ShippingNeeded, VariantNeeded
from core.people import Person, Role
from core.rewards import CatalogItem, ItemKind, Variant

from . import teams_activities as act
from .harness import Harness
from .slack_harness import SlackWorld, slack_world
from .slack_requests import (
    block_actions,
    plain_text_input,
    slash_command,
    static_select,
    view_submission,
)
from .teams_harness import TeamsWorld, teams_world
from .test_rewards_chat import earned_and_held, give_ana, organisation
from .test_slack import assert_valid_blocks
from .test_teams import card_text, check_cards

HOODIE = CatalogItem(
    slug="hoodie",
    name="Hoodie",
    kind=ItemKind.MERCHANDISE,
    price=20,
    stock=10,
    variants=(Variant("S", 1), Variant("M"), Variant("L", 0)),
    ships=True,
)
SEALED = "sealed:"  # the fakes' stand-in for a real seal; the platform tests use Fernet
ADDRESS = "Ana Lima\nRua Augusta 10\n1100-053 Lisboa\nPortugal"


async def shop_with_hoodie(world: Harness) -> tuple[Person, Person]:
    await world.policy(min_reason_length=1)
    await world.bus.handle(PutCatalogItem(item=HOODIE))
    maria = await world.person("maria")
    ana = await world.person("ana", manager=maria)
    await world.give(maria, ana, amount=100, reason="thanks")
    return maria, ana


def redeem(ana: Person, variant: str | None, quantity: int = 1, **more: object) -> Redeem:
    return Redeem(
        person_id=ana.id, item="hoodie", variant=variant, quantity=quantity, shipping=SEALED, **more
    )


async def test_a_variant_must_be_one_the_item_has(world: Harness) -> None:
    _, ana = await shop_with_hoodie(world)
    for wrong in (None, "XXL"):
        with pytest.raises(VariantNeeded) as refused:
            await world.bus.handle(redeem(ana, wrong))
        assert refused.value.variants == ("S", "M", "L")
    await world.bus.handle(
        PutCatalogItem(item=CatalogItem(slug="pen", name="Pen", kind=ItemKind.MERCHANDISE, price=1))
    )
    with pytest.raises(NoVariants):
        await world.bus.handle(Redeem(person_id=ana.id, item="pen", variant="blue"))
    result = await world.bus.handle(redeem(ana, "m"))  # any case: stored as the catalog says
    assert result.redemption.variant == "M" and result.redemption.shipping == SEALED


async def test_each_variant_keeps_its_own_stock_and_gets_it_back(world: Harness) -> None:
    _, ana = await shop_with_hoodie(world)
    with pytest.raises(OutOfStock) as gone:
        await world.bus.handle(redeem(ana, "L"))
    assert gone.value.item == "Hoodie (L)"
    first = (await world.bus.handle(redeem(ana, "S"))).redemption
    with pytest.raises(OutOfStock):
        await world.bus.handle(redeem(ana, "S"))
    await world.bus.handle(CancelRedemption(person_id=ana.id, redemption_id=first.id))
    again = await world.bus.handle(redeem(ana, "S"))
    assert again.redemption.variant == "S"
    async with world.uow(readonly=True) as uow:
        hoodie = await uow.catalog.get("hoodie")
    assert hoodie is not None and hoodie.stock == 9 and hoodie.variant("S") == Variant("S", 0)
    assert hoodie.variant("M") == Variant("M", None)


async def test_an_item_that_ships_needs_an_address_and_says_what_the_form_needs(
    world: Harness,
) -> None:
    _, ana = await shop_with_hoodie(world)
    with pytest.raises(ShippingNeeded) as needed:
        await world.bus.handle(Redeem(person_id=ana.id, item="hoodie", variant="M", quantity=2))
    assert (needed.value.slug, needed.value.variant, needed.value.quantity) == ("hoodie", "M", 2)
    assert needed.value.variants == ("S", "M")  # L is sold out: the form does not offer it


async def test_the_shop_lists_variants_and_locks_an_item_with_none_left(world: Harness) -> None:
    _, ana = await shop_with_hoodie(world)
    sold_out = CatalogItem(
        slug="cap", name="Cap", kind=ItemKind.MERCHANDISE, price=5, variants=(Variant("one", 0),)
    )
    await world.bus.handle(PutCatalogItem(item=sold_out))
    view = await world.bus.handle(GetShop(person_id=ana.id))
    locks = {line.item.slug: line.locked for line in view.lines}
    assert locks == {"cap": "stock", "hoodie": None}
    listed = next(line.item for line in view.lines if line.item.slug == "hoodie")
    assert [v.name for v in listed.variants] == ["S", "M", "L"]


@pytest.fixture
def sql_world(sql_uow: object) -> Harness:
    return Harness(sql_uow)  # type: ignore[arg-type]


async def test_twenty_requests_for_the_last_of_a_size_give_one(sql_world: Harness) -> None:
    _, ana = await shop_with_hoodie(sql_world)
    outcomes = await asyncio.gather(
        *(sql_world.bus.handle(redeem(ana, "S")) for _ in range(20)), return_exceptions=True
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(won) == 1
    assert all(isinstance(o, OutOfStock) for o in outcomes if isinstance(o, BaseException))
    async with sql_world.uow(readonly=True) as uow:
        hoodie = await uow.catalog.get("hoodie")
    assert hoodie is not None and hoodie.stock == 9 and hoodie.variant("S") == Variant("S", 0)


# --- end to end: the address is sealed at the door and opened only for the sender ---

KEY = Fernet.generate_key().decode()


def no_plain_address(rows: list[str], log_text: str) -> None:
    for fragment in ("Rua Augusta", "1100-053"):
        assert not any(fragment in row for row in rows), "address stored in plain"
        assert fragment not in log_text, "address logged in plain"


async def stored_redemption_rows(engine: object) -> list[str]:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = (await conn.execute(sa.select(redemptions))).mappings().all()
    return [json.dumps(dict(row), default=str) for row in rows]


async def hoodie_shop(bus: object) -> None:
    await organisation(bus)
    await bus.handle(PutCatalogItem(item=HOODIE))  # type: ignore[attr-defined]
    await bus.handle(  # type: ignore[attr-defined]
        SyncDirectory(
            source="csv",
            complete=False,
            records=(DirectoryRecord(email="hr@example.com", display_name="Hana Ruiz"),),
        )
    )


@pytest.fixture(params=["sqlite", "pg"])
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(request.param, tmp_path, secret_keys=KEY) as built:
        built.api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        built.api.add_user("U2", email="maria@example.com", real_name="Maria Rossi")
        built.api.add_user("U3", email="hr@example.com", real_name="Hana Ruiz")
        await hoodie_shop(built.app.bus)
        await give_ana(built.app.uow, built.app.bus, 50)
        yield built


async def test_slack_asks_for_the_address_in_a_modal_and_the_sender_reads_it(
    slack: SlackWorld, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    from adapters.slack.blocks import SHIP_BUTTON, SHIP_MODAL

    from .slack_harness import click

    await grant_hr(slack.app.uow, "hr@example.com")  # HR sends what has no named owner
    url = slack.api.response_url("ana")
    await slack.post(slash_command("redeem hoodie M", user_id="U1", response_url=url))
    offered = (await slack.api.wait_for_response("ana"))[0]
    assert "sent to you by post" in offered["text"]
    assert_valid_blocks({"blocks": offered["blocks"]}, "message", tmp_path)
    button = next(b for b in offered["blocks"] if b["type"] == "actions")["elements"][0]
    assert button["action_id"] == SHIP_BUTTON
    await slack.post(
        block_actions(SHIP_BUTTON, button["value"], user_id="U1", ephemeral=True, response_url=url)
    )
    modal = (await slack.api.wait_for("views.open"))[0].args["view"]
    assert modal["callback_id"] == SHIP_MODAL
    assert_valid_blocks({"blocks": modal["blocks"]}, "modal", tmp_path)
    variant = next(b for b in modal["blocks"] if b.get("block_id") == "variant")
    assert variant["element"]["initial_option"]["value"] == "M"

    def submit(address: str, view_id: str) -> object:
        state = {
            "variant": {"variant": static_select("M")},
            "address": {"address": plain_text_input(address)},
        }
        meta = modal["private_metadata"]
        return view_submission(
            SHIP_MODAL, state, user_id="U1", private_metadata=meta, view_id=view_id
        )

    short = await slack.post(submit("Lisboa", "V7"))
    errors = json.loads(await short.text())
    assert (
        errors["response_action"] == "errors"
        and "complete shipping address" in errors["errors"]["address"]
    )
    assert await earned_and_held(slack.app.uow, "ana@example.com") == (50, 0)
    done = await slack.post(submit(ADDRESS, "V8"))
    assert done.status == 200 and not await done.text()
    again = await slack.post(submit(ADDRESS, "V8"))  # a double submission redeems once
    assert again.status == 200
    replaced = (await slack.api.wait_for_response("ana"))[-1]
    assert replaced["replace_original"] and "Hoodie (M)" in replaced["text"]
    await slack.settle()
    assert await earned_and_held(slack.app.uow, "ana@example.com") == (30, 20)
    asks = [
        c for c in slack.api.calls_to("chat.postMessage") if "asks for Hoodie (M)" in str(c.args)
    ]
    assert len(asks) == 1
    await click(slack, asks[0], "laurel_decide:approve", "U2", "maria")
    await slack.settle()
    parcels = [
        c
        for c in slack.api.calls_to("chat.postMessage")
        if "Please send 1 × Hoodie (M)" in str(c.args)
    ]
    assert len(parcels) == 1 and "Rua Augusta 10" in str(parcels[0].args)
    no_plain_address(await stored_redemption_rows(slack.app.engine), debug_logs.text)


async def grant_hr(uow_factory: object, email: str) -> None:
    async with uow_factory() as uow:  # type: ignore[operator]
        person = await uow.people.by_email(email)
        await uow.people.set_roles(person.id, person.roles | {Role.HR_ADMIN})
        await uow.commit()


@pytest.fixture(params=["sqlite", "pg"])
async def teams(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    async with teams_world(request.param, tmp_path, LAUREL_SECRET_KEYS=KEY) as built:
        c = built.connector
        c.add_member("29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com")
        c.add_member("29:maria", aad="aad-maria", name="Maria Rossi", email="maria@example.com")
        c.add_member("29:hana", aad="aad-hana", name="Hana Ruiz", email="hr@example.com")
        await hoodie_shop(built.app.bus)
        await give_ana(built.app.uow, built.app.bus, 50)
        await grant_hr(built.app.uow, "hr@example.com")
        yield built


async def test_teams_asks_for_the_address_on_the_card_and_the_sender_reads_it(
    teams: TeamsWorld, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    c = teams.connector
    ana = act.user("29:ana", "aad-ana", "Ana Lima")
    maria = act.user("29:maria", "aad-maria", "Maria Rossi")
    hana = act.user("29:hana", "aad-hana", "Hana Ruiz")
    for person in (maria, hana):  # their personal chats are known
        await teams.post(act.message(c.url, sender=person, text="help"))
    ask = act.message(c.url, sender=ana, text="redeem hoodie")
    await teams.post(ask)
    await teams.settle()
    reply = c.to(ask["conversation"]["id"])[-1]
    form = c.cards(reply)[0]
    check_cards(tmp_path, form)
    assert "sent to you by post" in card_text(form)
    [submit] = form["actions"]
    inputs = {i["id"]: i for i in form["body"] if i["type"].startswith("Input.")}
    assert [ch["value"] for ch in inputs["variant"]["choices"]] == ["S", "M"]

    def sent(variant: str, address: str) -> dict[str, object]:
        data = {**submit["data"], "variant": variant, "address": address}
        return act.invoke_action(
            c.url,
            sender=ana,
            data=data,
            reply_to=reply.id,
            verb=submit["verb"],
            conversation_id=ask["conversation"]["id"],
        )

    sold_out = await (await teams.post(sent("L", ADDRESS))).json()  # sold out meanwhile
    assert "Hoodie (L) is out of stock" in card_text(sold_out["value"])
    assert any(i.get("id") == "address" for i in sold_out["value"]["body"])  # the form again
    check_cards(tmp_path, sold_out["value"])
    done = await (await teams.post(sent("M", ADDRESS))).json()
    assert "Hoodie (M)" in card_text(done["value"]) and "held until Maria Rossi" in card_text(
        done["value"]
    )
    await teams.settle()
    assert await earned_and_held(teams.app.uow, "ana@example.com") == (30, 20)
    chat = "a:personal-aad-maria"
    request = next(s for s in c.to(chat) if "asks for Hoodie (M)" in card_text(c.cards(s)[0]))
    data = next(a for a in c.cards(request)[0]["actions"] if a["title"] == "Approve")["data"]
    click = act.invoke_action(
        c.url, sender=maria, data=data, reply_to=request.id, conversation_id=chat
    )
    assert (await teams.post(click)).status == 200
    await teams.settle()
    parcels = [
        s
        for s in c.to("a:personal-aad-hana")
        if "Please send 1 × Hoodie (M)" in card_text(c.cards(s)[0])
    ]
    assert len(parcels) == 1 and "Rua Augusta 10" in card_text(c.cards(parcels[0])[0])
    no_plain_address(await stored_redemption_rows(teams.app.engine), debug_logs.text)


async def test_the_slack_shop_redeems_with_a_button_and_opens_the_form_for_parcels(
    slack: SlackWorld, tmp_path: Path
) -> None:
    from adapters.slack.blocks import SHIP_MODAL

    await slack.app.bus.handle(
        PutCatalogItem(
            item=CatalogItem(
                slug="pen", name="Pen", kind=ItemKind.MERCHANDISE, price=5, ships=False
            )
        )
    )
    url = slack.api.response_url("shop")
    await slack.post(slash_command("shop", user_id="U1", response_url=url))
    shop = (await slack.api.wait_for_response("shop"))[0]
    assert_valid_blocks({"blocks": shop["blocks"]}, "message", tmp_path)
    buttons = next(b for b in shop["blocks"] if b.get("block_id") == "laurel_offers")["elements"]
    by_slug = {b["value"]: b for b in buttons}
    assert by_slug["pen"]["text"]["text"] == "Redeem Pen"
    pen = by_slug["pen"]
    answer_url = slack.api.response_url("pen")
    await slack.post(
        block_actions(
            pen["action_id"], "pen", user_id="U1", ephemeral=True, response_url=answer_url
        )
    )
    answer = (await slack.api.wait_for_response("pen"))[0]
    assert "Pen ×1" in answer["text"] and answer["replace_original"] is False
    hoodie = by_slug["hoodie"]
    await slack.post(block_actions(hoodie["action_id"], "hoodie", user_id="U1", ephemeral=True))
    modal = (await slack.api.wait_for("views.open"))[0].args["view"]
    assert modal["callback_id"] == SHIP_MODAL
    assert await earned_and_held(slack.app.uow, "ana@example.com") == (45, 5)  # only the pen


async def test_the_teams_shop_redeems_with_a_button_and_answers_parcels_with_the_form(
    teams: TeamsWorld, tmp_path: Path
) -> None:
    c = teams.connector
    ana = act.user("29:ana", "aad-ana", "Ana Lima")
    ask = act.message(c.url, sender=ana, text="shop")
    await teams.post(ask)
    await teams.settle()
    reply = c.to(ask["conversation"]["id"])[-1]
    shop = c.cards(reply)[0]
    check_cards(tmp_path, shop)
    [button] = [a for a in shop["actions"] if a["data"]["slug"] == "hoodie"]
    click = act.invoke_action(
        c.url,
        sender=ana,
        data=button["data"],
        reply_to=reply.id,
        verb=button["verb"],
        conversation_id=ask["conversation"]["id"],
    )
    form = (await (await teams.post(click)).json())["value"]
    check_cards(tmp_path, form)
    assert "sent to you by post" in card_text(form)
    assert any(i.get("id") == "address" for i in form["body"])
    assert await earned_and_held(teams.app.uow, "ana@example.com") == (50, 0)  # nothing held
