"""Teams decisions (Adaptive Card Action.Execute), one person across Slack and Teams, and
the security of /api/messages. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.i18n import Renderer
from adapters.teams import cards
from core.commands import OpenDecision
from core.decisions import Decision
from core.ledger import AccountKind, AccountRef
from core.ports import UnitOfWork

from . import teams_activities as act
from .slack_requests import slash_command
from .teams_harness import TeamsWorld, teams_world
from .test_teams import card_text, check_cards

MARIA = act.user("29:maria", "aad-maria", "Maria Rossi")
OMAR = act.user("29:omar", "aad-omar", "Omar Haddad")


@pytest.fixture(params=["sqlite", "pg"])
async def decision_world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[TeamsWorld, list[str]]]:
    applied: list[str] = []

    async def effect(uow: UnitOfWork, decision: Decision) -> None:
        applied.append(decision.key)

    async with teams_world(request.param, tmp_path, effects={"test": effect}) as built:
        for who, email in ((MARIA, "maria@example.com"), (OMAR, "omar@example.com")):
            built.connector.add_member(
                who["id"], aad=who["aadObjectId"], name=who["name"], email=email
            )
        yield built, applied


async def say(world: TeamsWorld, sender: dict[str, Any], line: str) -> dict[str, Any]:
    message = act.message(world.connector.url, sender=sender, text=line)
    assert (await world.post(message)).status == 200
    return message


async def send_decision_card(world: TeamsWorld, to_email: str) -> tuple[str, str]:
    """laurel asks for a decision in someone's personal chat: (conversation, message id)."""
    decision = await world.app.bus.handle(OpenDecision(key="dec-1", kind="test", subject="42"))
    card = cards.decision_card(["Gift card for Omar, 50 points?"], decision, Renderer("en"))
    async with world.app.uow(readonly=True) as uow:
        person = await uow.people.by_email(to_email)
    assert person is not None
    before = len(world.connector.sent)
    await world.teams.notifier.tell(person, cards.message(card, "Gift card?"))
    sent = world.connector.sent[before]
    return sent.conversation_id, sent.id


def click(
    world: TeamsWorld, sender: dict[str, Any], outcome: str, conversation: str, card_id: str
) -> dict[str, Any]:
    return act.invoke_action(
        world.connector.url,
        sender=sender,
        data={"key": "dec-1", "outcome": outcome, "lines": ["Gift card for Omar, 50 points?"]},
        reply_to=card_id,
        conversation_id=conversation,
    )


async def test_action_execute_decides_once_and_refreshes_the_card(
    decision_world: tuple[TeamsWorld, list[str]], tmp_path: Path
) -> None:
    world, applied = decision_world
    await say(world, MARIA, "help")
    await say(world, OMAR, "help")
    conversation, card_id = await send_decision_card(world, "maria@example.com")
    sent_card = world.connector.sent[-1].activity
    assert [a["title"] for a in sent_card["attachments"][0]["content"]["actions"]] == [
        "Approve",
        "Decline",
    ]
    check_cards(tmp_path, sent_card)

    response = await world.post(click(world, MARIA, "approve", conversation, card_id))
    assert response.status == 200
    body = await response.json()
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    refreshed = body["value"]
    assert "actions" not in refreshed
    assert "Approved by Maria Rossi" in card_text(refreshed)
    check_cards(tmp_path, {"attachments": [cards.attachment(refreshed)]})
    # Everyone who sees the message sees the decision: the message itself was updated.
    updates = [s for s in world.connector.sent if s.method == "PUT"]
    assert len(updates) == 1 and updates[0].reply_to == card_id
    assert applied == ["dec-1"]

    # A later click, by anyone, changes nothing and gets the decided card.
    late = await world.post(click(world, OMAR, "decline", conversation, card_id))
    assert late.status == 200
    assert "Approved by Maria Rossi" in card_text((await late.json())["value"])
    assert applied == ["dec-1"]


async def test_concurrent_clicks_give_one_outcome(
    decision_world: tuple[TeamsWorld, list[str]],
) -> None:
    world, applied = decision_world
    await say(world, MARIA, "help")
    await say(world, OMAR, "help")
    conversation, card_id = await send_decision_card(world, "maria@example.com")
    clicks = [
        click(
            world,
            MARIA if i % 2 else OMAR,
            "approve" if i % 2 else "decline",
            conversation,
            card_id,
        )
        for i in range(20)
    ]
    responses = await asyncio.gather(*(world.post(c) for c in clicks))
    assert {r.status for r in responses} == {200}
    verdicts = {card_text((await r.json())["value"]).splitlines()[-1] for r in responses}
    assert len(verdicts) == 1  # every clicker sees the same single outcome
    assert applied == ["dec-1"]
    assert len([s for s in world.connector.sent if s.method == "PUT"]) == 1


async def test_unknown_actions_are_refused_politely(
    decision_world: tuple[TeamsWorld, list[str]],
) -> None:
    world, applied = decision_world
    await say(world, MARIA, "help")
    conversation, card_id = await send_decision_card(world, "maria@example.com")
    bad = click(world, MARIA, "approve", conversation, card_id)
    bad["value"]["action"]["verb"] = "something_else"
    response = await world.post(bad)
    assert response.status == 200
    assert (await response.json())["statusCode"] == 400
    missing = click(world, MARIA, "approve", conversation, card_id)
    missing["value"]["action"]["data"]["key"] = "no-such-decision"
    answer = await (await world.post(missing)).json()
    assert answer["type"] == "application/vnd.microsoft.activity.message"
    assert applied == []


async def earned(world: TeamsWorld, email: str) -> int:
    async with world.app.uow(readonly=True) as uow:
        person = await uow.people.by_email(email)
        assert person is not None
        return await uow.ledger.balance(AccountRef(AccountKind.EARNED, person.id))


@pytest.fixture(params=["sqlite", "pg"])
async def both(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    async with teams_world(request.param, tmp_path) as built:
        # Ana and Ben are in Slack and in Teams, with the same e-mail.
        built.slack.api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        built.slack.api.add_user("U2", email="ben@example.com", real_name="Ben Weber")
        built.connector.add_member(
            "29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com"
        )
        built.connector.add_member(
            "29:ben", aad="aad-ben", name="Ben Weber", email="ben@example.com"
        )
        yield built


async def test_one_person_one_balance_across_slack_and_teams(both: TeamsWorld) -> None:
    world = both
    ana, ben = act.user("29:ana", "aad-ana", "Ana Lima"), act.user("29:ben", "aad-ben", "Ben Weber")
    await world.slack.policy(daily_limit=30)

    response = await world.slack.post(
        slash_command("<@U2|ben> +20 thanks for the release notes", user_id="U1")
    )
    assert response.status == 200
    await world.settle()
    teams_gift = act.message(
        world.connector.url,
        sender=ana,
        text=f"kudos {act.mention(ben)} +15 and for the migration",
        mentions=[ben],
    )
    assert (await world.post(teams_gift)).status == 200
    await world.settle()
    # The daily limit is shared: 20 in Slack + 15 in Teams is over 30, so Teams refused.
    refusal = card_text(
        world.connector.cards(world.connector.to(teams_gift["conversation"]["id"])[-1])[0]
    )
    assert "30" in refusal
    assert await earned(world, "ben@example.com") == 20

    ok = act.message(
        world.connector.url,
        sender=ana,
        text=f"kudos {act.mention(ben)} +10 and for the migration",
        mentions=[ben],
    )
    assert (await world.post(ok)).status == 200
    await world.settle()
    assert await earned(world, "ben@example.com") == 30

    # Ben's Teams balance shows what he got in both places; Ana's allowance too.
    balance = await _say_card(world, ben, "balance")
    assert "30 points" in balance
    allowance = await _say_card(world, ana, "balance")
    assert "70" in allowance  # 100 - 20 (Slack) - 10 (Teams)
    async with world.app.uow(readonly=True) as uow:
        assert await uow.people.count() == 2  # one person each, two platforms


async def _say_card(world: TeamsWorld, sender: dict[str, Any], line: str) -> str:
    message = await say(world, sender, line)
    sent = [s for s in world.connector.sent if s.reply_to == message["id"]]
    return card_text(world.connector.cards(sent[-1])[0])


async def test_each_person_is_told_once_on_the_platform_they_use(both: TeamsWorld) -> None:
    world = both
    ana, ben = act.user("29:ana", "aad-ana", "Ana Lima"), act.user("29:ben", "aad-ben", "Ben Weber")
    await say(world, ben, "help")  # Ben uses Teams too now
    # Given in Slack: Ben uses Slack (he was found there by e-mail), so Slack tells him.
    await world.slack.post(slash_command("<@U2|ben> +5 thanks for the release notes", user_id="U1"))
    await world.settle()
    slack_dms = [
        c for c in world.slack.api.calls_to("chat.postMessage") if "gave you" in str(c.args)
    ]
    teams_dms = [s for s in world.connector.sent if "gave you" in str(s.activity)]
    assert (len(slack_dms), len(teams_dms)) == (1, 0)
    # Given in Teams: Teams tells him, Slack stays quiet.
    gift = act.message(
        world.connector.url,
        sender=ana,
        text=f"kudos {act.mention(ben)} +5 for the migration plan",
        mentions=[ben],
    )
    await world.post(gift)
    await world.settle()
    slack_dms = [
        c for c in world.slack.api.calls_to("chat.postMessage") if "gave you" in str(c.args)
    ]
    teams_dms = [s for s in world.connector.sent if "gave you" in str(s.activity)]
    assert (len(slack_dms), len(teams_dms)) == (1, 1)


async def test_a_decline_carries_the_reason_typed_on_the_card(
    decision_world: tuple[TeamsWorld, list[str]], tmp_path: Path
) -> None:
    world, _ = decision_world
    await say(world, MARIA, "help")
    conversation, card_id = await send_decision_card(world, "maria@example.com")
    card = world.connector.sent[-1].activity["attachments"][0]["content"]
    assert any(i.get("type") == "Input.Text" and i["id"] == "note" for i in card["body"])
    decline = click(world, MARIA, "decline", conversation, card_id)
    decline["value"]["action"]["data"]["note"] = "  not this quarter  "
    assert (await world.post(decline)).status == 200
    async with world.app.uow(readonly=True) as uow:
        decided = await uow.decisions.get("dec-1")
    assert decided is not None and decided.note == "not this quarter"
