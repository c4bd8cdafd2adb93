"""A redemption end to end through the real Slack and Teams routes: the request, the
approver's DM with buttons, the click, and the requester told; on both engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.commands import GiveKudos, PutCatalogItem, Redeem, SyncDirectory
from core.directory import DirectoryRecord
from core.ledger import AccountKind, AccountRef
from core.rewards import CatalogItem, ItemKind

from . import teams_activities as act
from .slack_harness import SlackWorld, click, slack_world
from .slack_requests import slash_command
from .teams_harness import TeamsWorld, teams_world
from .test_teams import card_text

MUG = CatalogItem(slug="mug", name="Laurel mug", kind=ItemKind.MERCHANDISE, price=30, stock=2)


async def organisation(bus: Any) -> None:
    """Maria manages Ana, who has 50 points to spend."""
    await bus.handle(
        SyncDirectory(
            source="csv",
            records=(
                DirectoryRecord(email="maria@example.com", display_name="Maria Rossi"),
                DirectoryRecord(
                    email="ana@example.com",
                    display_name="Ana Lima",
                    manager_email="maria@example.com",
                ),
            ),
        )
    )
    await bus.handle(PutCatalogItem(item=MUG))


async def give_ana(world_uow: Any, bus: Any, points: int) -> None:
    async with world_uow(readonly=True) as uow:
        maria = await uow.people.by_email("maria@example.com")
        ana = await uow.people.by_email("ana@example.com")
    await bus.handle(
        GiveKudos(giver_id=maria.id, receiver_ids=(ana.id,), amount=points, reason="for the launch")
    )


async def earned_and_held(uow_factory: Any, email: str) -> tuple[int, int]:
    async with uow_factory(readonly=True) as uow:
        person = await uow.people.by_email(email)
        return (
            await uow.ledger.balance(AccountRef(AccountKind.EARNED, person.id)),
            await uow.ledger.balance(AccountRef(AccountKind.HELD, person.id)),
        )


@pytest.fixture(params=["sqlite", "pg"])
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(request.param, tmp_path) as built:
        built.api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        built.api.add_user("U2", email="maria@example.com", real_name="Maria Rossi")
        await organisation(built.app.bus)
        await give_ana(built.app.uow, built.app.bus, 50)
        yield built


async def test_a_slack_redemption_is_approved_by_the_manager_in_a_dm(slack: SlackWorld) -> None:
    url = slack.api.response_url("ana")
    await slack.post(slash_command("redeem mug", user_id="U1", response_url=url))
    answer = (await slack.api.wait_for_response("ana"))[0]
    assert "held until Maria Rossi decides" in answer["text"]
    await slack.settle()
    assert await earned_and_held(slack.app.uow, "ana@example.com") == (20, 30)
    asks = [
        c for c in slack.api.calls_to("chat.postMessage") if "asks for Laurel mug" in str(c.args)
    ]
    assert len(asks) == 1
    # Ana cannot approve her own request, even with the button in hand.
    refused = await click(slack, asks[0], "laurel_decide:approve", "U1", "self")
    assert "your own request" in refused["text"]
    decided = await click(slack, asks[0], "laurel_decide:approve", "U2", "maria")
    assert decided["replace_original"] and decided["text"].startswith("Approved by Maria Rossi")
    await slack.settle()
    assert await earned_and_held(slack.app.uow, "ana@example.com") == (20, 0)
    told = [c for c in slack.api.calls_to("chat.postMessage") if "was approved" in str(c.args)]
    assert len(told) == 1


async def test_shop_redemptions_and_cancel_in_slack(slack: SlackWorld) -> None:
    for line, name in (("shop", "shop"), ("redeem mug", "r1"), ("redemptions", "list")):
        await slack.post(
            slash_command(line, user_id="U1", response_url=slack.api.response_url(name))
        )
        await slack.api.wait_for_response(name)  # one after the other, as a person types
    shop = (await slack.api.wait_for_response("shop"))[0]["text"]
    assert "Laurel mug (mug)" in shop and "50 points" in shop
    listed = (await slack.api.wait_for_response("list"))[0]["text"]
    assert "waiting for a decision" in listed
    request_id = listed.split("#", 1)[1].split(" ", 1)[0]
    await slack.post(
        slash_command(
            f"cancel {request_id}", user_id="U1", response_url=slack.api.response_url("c")
        )
    )
    assert "are back in your balance" in (await slack.api.wait_for_response("c"))[0]["text"]
    await slack.settle()
    assert await earned_and_held(slack.app.uow, "ana@example.com") == (50, 0)


@pytest.fixture(params=["sqlite", "pg"])
async def teams(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    async with teams_world(request.param, tmp_path) as built:
        built.connector.add_member(
            "29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com"
        )
        built.connector.add_member(
            "29:maria", aad="aad-maria", name="Maria Rossi", email="maria@example.com"
        )
        await organisation(built.app.bus)
        await give_ana(built.app.uow, built.app.bus, 50)
        yield built


async def test_a_teams_redemption_is_approved_with_action_execute(teams: TeamsWorld) -> None:
    c = teams.connector
    ana, maria = (
        act.user("29:ana", "aad-ana", "Ana Lima"),
        act.user("29:maria", "aad-maria", "Maria Rossi"),
    )
    await teams.post(act.message(c.url, sender=maria, text="help"))  # Maria's chat is known
    ask = act.message(c.url, sender=ana, text="redeem mug")
    assert (await teams.post(ask)).status == 200
    await teams.settle()
    maria_chat = "a:personal-aad-maria"
    card = next(
        c.cards(s)[0] for s in c.to(maria_chat) if "asks for Laurel mug" in card_text(c.cards(s)[0])
    )
    card_id = next(
        s.id for s in c.to(maria_chat) if "asks for Laurel mug" in card_text(c.cards(s)[0])
    )
    data = next(a for a in card["actions"] if a["title"] == "Approve")["data"]
    click = act.invoke_action(
        c.url, sender=maria, data=data, reply_to=card_id, conversation_id=maria_chat
    )
    answer = await (await teams.post(click)).json()
    assert "Approved by Maria Rossi" in card_text(answer["value"])
    await teams.settle()
    assert await earned_and_held(teams.app.uow, "ana@example.com") == (20, 0)
    ana_chat = ask["conversation"]["id"]
    assert any("was approved" in card_text(c.cards(s)[0]) for s in c.to(ana_chat))


async def test_the_owner_of_an_experience_is_asked_to_arrange_it(slack: SlackWorld) -> None:
    from core.commands import Decide
    from core.decisions import Outcome

    slack.api.add_user("U3", email="hr@example.com", real_name="Hana Ruiz")
    await slack.app.bus.handle(
        SyncDirectory(
            source="csv",
            records=(DirectoryRecord(email="hr@example.com", display_name="Hana Ruiz"),),
        )
    )
    day_off = CatalogItem(
        slug="day-off",
        name="A day off",
        kind=ItemKind.EXPERIENCE,
        price=20,
        owner_email="hr@example.com",
    )
    await slack.app.bus.handle(PutCatalogItem(item=day_off))
    async with slack.app.uow(readonly=True) as uow:
        ana = await uow.people.by_email("ana@example.com")
        maria = await uow.people.by_email("maria@example.com")
    result = await slack.app.bus.handle(Redeem(person_id=ana.id, item="day-off"))
    key = result.redemption.decision_key
    await slack.app.bus.handle(Decide(key=key, outcome=Outcome.APPROVE, person_id=maria.id))
    await slack.settle()
    asks = [
        c
        for c in slack.api.calls_to("chat.postMessage")
        if "Please arrange A day off" in str(c.args)
    ]
    assert len(asks) == 1 and "Ana Lima" in str(asks[0].args)


async def test_a_teams_gift_card_code_arrives_once_after_approval(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    from adapters.persistence.gift_cards import GiftCardVault
    from adapters.secrets import SecretBox

    key = Fernet.generate_key().decode()
    async with teams_world("sqlite", tmp_path, LAUREL_SECRET_KEYS=key) as world:
        c = world.connector
        c.add_member("29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com")
        c.add_member("29:maria", aad="aad-maria", name="Maria Rossi", email="maria@example.com")
        await organisation(world.app.bus)
        await give_ana(world.app.uow, world.app.bus, 50)
        card = CatalogItem(slug="coffee", name="Coffee card", kind=ItemKind.GIFT_CARD, price=10)
        await world.app.bus.handle(PutCatalogItem(item=card))
        await GiftCardVault(world.app.engine, SecretBox.from_setting(key)).add("coffee", ["GC-T-1"])
        ana = act.user("29:ana", "aad-ana", "Ana Lima")
        maria = act.user("29:maria", "aad-maria", "Maria Rossi")
        await world.post(act.message(c.url, sender=maria, text="help"))
        ask = act.message(c.url, sender=ana, text="redeem coffee")
        await world.post(ask)
        await world.settle()
        chat = "a:personal-aad-maria"
        request = next(s for s in c.to(chat) if "asks for Coffee card" in card_text(c.cards(s)[0]))
        data = next(a for a in c.cards(request)[0]["actions"] if a["title"] == "Approve")["data"]
        click = act.invoke_action(
            c.url, sender=maria, data=data, reply_to=request.id, conversation_id=chat
        )
        assert (await world.post(click)).status == 200
        await world.settle()
        got = [s for s in c.to(ask["conversation"]["id"]) if "GC-T-1" in card_text(c.cards(s)[0])]
        assert len(got) == 1
