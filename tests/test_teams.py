"""Teams end to end: Bot Framework activities into the real /api/messages route, a fake
connector service (the activity's serviceUrl) out. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.persistence.tables import outbox, recognitions, teams_users
from core.commands import ConfigureOrganisation
from core.ledger import AccountKind, AccountRef
from core.policy import CompanyValue

from . import teams_activities as act
from .teams_harness import TeamsWorld, teams_world

VALIDATORS = Path(__file__).resolve().parents[2] / "shared" / "validators"
ANA = act.user("29:ana", "aad-ana", "Ana Lima")
BEN = act.user("29:ben", "aad-ben", "Ben Weber")
CHLOE = act.user("29:chloe", "aad-chloe", "Chloé Martin")


@pytest.fixture(params=["sqlite", "pg"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    async with teams_world(request.param, tmp_path) as built:
        for who, email in ((ANA, "ana@example.com"), (BEN, "ben@example.com")):
            built.connector.add_member(
                who["id"], aad=who["aadObjectId"], name=who["name"], email=email
            )
        built.connector.add_member(
            CHLOE["id"], aad=CHLOE["aadObjectId"], name=CHLOE["name"], email="chloe@example.com"
        )
        await built.app.bus.handle(
            ConfigureOrganisation(
                values=tuple(CompanyValue(slug=s, name=s.title()) for s in ("ownership", "craft"))
            )
        )
        yield built


async def earned(world: TeamsWorld, email: str) -> int:
    async with world.app.uow(readonly=True) as uow:
        person = await uow.people.by_email(email)
        assert person is not None
        return await uow.ledger.balance(AccountRef(AccountKind.EARNED, person.id))


async def count(world: TeamsWorld, table: sa.Table, *where: Any) -> int:
    async with world.app.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table).where(*where)
        return int((await conn.execute(query)).scalar_one())


def card_text(card: dict[str, Any]) -> str:
    """Every TextBlock's text in a card, in order, one per line."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return "\n".join(found)


def check_cards(tmp_path: Path, *activities: dict[str, Any]) -> None:
    """Every card laurel sent validates against the Adaptive Cards 1.5 schema."""
    script = VALIDATORS / "check_adaptive_card.py"
    if not script.is_file():
        return
    files = []
    for i, activity in enumerate(activities):
        path = tmp_path / f"card{i}.json"
        path.write_text(json.dumps(activity), encoding="utf-8")
        files.append(str(path))
    done = subprocess.run(
        [sys.executable, str(script), *files], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_personal_kudos_replies_dms_the_receiver(world: TeamsWorld, tmp_path: Path) -> None:
    c = world.connector
    message = act.message(
        c.url,
        sender=ANA,
        text=f"kudos {act.mention(BEN)} +10 shipped it #ownership",
        mentions=[BEN],
    )
    response = await world.post(message)
    assert response.status == 200
    await world.settle()

    reply = c.to(message["conversation"]["id"])
    assert len(reply) == 1 and reply[0].reply_to == message["id"]
    assert "10 points to Ben Weber" in card_text(c.cards(reply[0])[0])
    assert await earned(world, "ben@example.com") == 10

    # Ben never talked to laurel: his personal chat is created through the connector.
    assert len(c.created) == 1
    assert c.created[0]["members"][0]["id"] == "29:ben"
    dm = [s for s in c.sent if s.conversation_id != message["conversation"]["id"]]
    assert len(dm) == 1
    assert "Ana Lima gave you 10 points" in card_text(c.cards(dm[0])[0])
    assert c.unexpected == []
    check_cards(tmp_path, reply[0].activity, dm[0].activity)


async def test_channel_kudos_announces_in_the_thread_and_confirms_privately(
    world: TeamsWorld,
) -> None:
    c = world.connector
    message = act.message(
        c.url,
        sender=ANA,
        text=(
            f"{act.mention(act.BOT)} kudos {act.mention(BEN)} {act.mention(CHLOE)} +5 "
            "great demo with laurel #craft"
        ),
        conversation_type="channel",
        team_id="19:team@thread.tacv2",
        mentions=[act.BOT, BEN, CHLOE],
    )
    assert (await world.post(message)).status == 200
    await world.settle()

    thread = c.to(message["conversation"]["id"])
    assert len(thread) == 1, thread
    assert thread[0].reply_to == message["id"]
    text = card_text(c.cards(thread[0])[0])
    assert "Ana Lima gave 5 points to Ben Weber and Chloé Martin" in text
    assert "great demo with laurel" in text  # the bot's name in the reason is kept
    assert "#craft" in text
    assert await earned(world, "ben@example.com") == 5
    assert await earned(world, "chloe@example.com") == 5
    # Ana's confirmation (with her allowance) and the two receivers' DMs are personal.
    personal = [s for s in c.sent if s.conversation_id != message["conversation"]["id"]]
    assert len(personal) == 3
    assert any(
        "You have" in card_text(c.cards(s)[0]) or "left" in card_text(c.cards(s)[0])
        for s in personal
    )


async def test_a_retried_message_gives_once(world: TeamsWorld) -> None:
    c = world.connector
    message = act.message(
        c.url, sender=ANA, text=f"kudos {act.mention(BEN)} +3 thanks for the review", mentions=[BEN]
    )
    for _ in range(3):
        assert (await world.post(message)).status == 200
    await world.settle()
    assert await earned(world, "ben@example.com") == 3
    assert await count(world, recognitions) == 1


async def test_text_commands_answer_with_cards(world: TeamsWorld, tmp_path: Path) -> None:
    c = world.connector
    answers = []
    for line in ("balance", "history", "leaderboard month", "values", "help", "lang de", "balance"):
        message = act.message(c.url, sender=ANA, text=line)
        assert (await world.post(message)).status == 200
        sent = c.to(message["conversation"]["id"])
        answers.append(sent[-1].activity)
    texts = [card_text(a["attachments"][0]["content"]) for a in answers]
    assert "Ana Lima" in texts[0] and "100" in texts[0]
    assert "Deutsch" in texts[5]
    assert "Punkte" in texts[6]  # the language choice sticks
    check_cards(tmp_path, *answers)


async def test_bad_input_gets_one_polite_card_and_changes_nothing(world: TeamsWorld) -> None:
    c = world.connector
    for line in (
        f"kudos {act.mention(BEN)} +abc nope",
        "frobnicate",
        f"kudos {act.mention(ANA)} +1 me",
    ):
        mentions = [BEN] if "Ben" in line else [ANA] if "Ana" in line else []
        message = act.message(c.url, sender=ANA, text=line, mentions=mentions)
        assert (await world.post(message)).status == 200
        sent = [s for s in c.sent if s.reply_to == message["id"]]
        assert len(sent) == 1
        assert c.cards(sent[0])[0]["body"][0]["items"][0]["color"] == "Attention"
    await world.settle()
    assert await count(world, recognitions) == 0


async def test_a_typed_token_is_not_a_mention(world: TeamsWorld) -> None:
    c = world.connector
    message = act.message(c.url, sender=ANA, text="kudos <at:0> +5 sneaky")
    assert (await world.post(message)).status == 200
    await world.settle()
    assert await count(world, recognitions) == 0


async def test_welcome_card_when_added_to_a_team_once(world: TeamsWorld, tmp_path: Path) -> None:
    c = world.connector
    update = act.conversation_update(
        c.url,
        members_added=[act.BOT],
        conversation_id="19:general@thread.tacv2",
        conversation_type="channel",
        team_id="19:team@thread.tacv2",
    )
    assert (await world.post(update)).status == 200
    assert (await world.post(update)).status == 200  # a retried delivery
    sent = c.to("19:general@thread.tacv2")
    assert len(sent) == 1
    assert "Hi, I'm laurel" in card_text(c.cards(sent[0])[0])
    check_cards(tmp_path, sent[0].activity)


async def test_undeliverable_dm_waits_and_arrives_on_first_contact(world: TeamsWorld) -> None:
    c = world.connector
    c.refuse_create = True  # the app is not installed for Ben yet
    message = act.message(
        c.url, sender=ANA, text=f"kudos {act.mention(BEN)} +7 nice pairing session", mentions=[BEN]
    )
    assert (await world.post(message)).status == 200
    await world.settle()
    assert await count(world, outbox, outbox.c.delivered_at.is_(None)) == 1
    assert [
        s
        for s in c.sent
        if "Ben" in json.dumps(s.activity) and "gave you" in json.dumps(s.activity)
    ] == []

    c.refuse_create = False
    installed = act.installation_update(c.url, sender=BEN, conversation_id="a:ben-personal")
    assert (await world.post(installed)).status == 200
    await world.settle()
    delivered = c.to("a:ben-personal")
    assert len(delivered) == 1
    assert "Ana Lima gave you 7 points" in card_text(c.cards(delivered[0])[0])
    assert await count(world, outbox, outbox.c.delivered_at.is_(None)) == 0
    async with world.app.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(teams_users).where(teams_users.c.aad_object_id == "aad-ben")
            )
        ).one()
    assert row.conversation_id == "a:ben-personal"


async def test_bad_requests_are_refused_without_effect(world: TeamsWorld) -> None:
    r = await world.http.post(
        "/api/messages", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status == 400
    r = await world.http.post(
        "/api/messages", data=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert r.status == 415
    r = await world.http.post("/api/messages", json=[1, 2])
    assert r.status == 400
    assert world.connector.sent == []


async def test_throttled_sends_are_retried_and_outages_queue(world: TeamsWorld) -> None:
    c = world.connector
    await world.post(act.message(c.url, sender=BEN, text="help"))  # Ben's chat is known
    c.fail("send", 429, times=2, retry_after=0)
    gift = act.message(
        c.url,
        sender=ANA,
        text=f"kudos {act.mention(BEN)} +4 for the careful review",
        mentions=[BEN],
    )
    assert (await world.post(gift)).status == 200
    await world.settle()
    assert [s for s in c.to("a:personal-aad-ben") if "gave you 4" in card_text(c.cards(s)[0])]

    # Chloé's chat cannot be opened while Teams is down: her message waits, nothing is lost.
    c.fail("create", 503, times=20, retry_after=0)
    gift = act.message(
        c.url,
        sender=ANA,
        text=f"kudos {act.mention(CHLOE)} +6 for the great onboarding",
        mentions=[CHLOE],
    )
    assert (await world.post(gift)).status == 200
    await world.settle()
    assert await count(world, outbox, outbox.c.delivered_at.is_(None)) == 1
    assert await earned(world, "chloe@example.com") == 6


async def test_a_mention_of_someone_teams_will_not_describe_uses_what_laurel_knows(
    world: TeamsWorld,
) -> None:
    c = world.connector
    await world.post(act.message(c.url, sender=BEN, text="help"))
    world.teams.bot.directory._profiles.clear()  # as on another replica
    c.fail("member", 404, times=5)
    gift = act.message(
        c.url, sender=ANA, text=f"kudos {act.mention(BEN)} +2 for the quick fix", mentions=[BEN]
    )
    assert (await world.post(gift)).status == 200
    await world.settle()
    assert await earned(world, "ben@example.com") == 2


def message_action(
    world: TeamsWorld, name: str, value: dict[str, Any], **where: Any
) -> dict[str, Any]:
    """A "Give kudos" message action (composeExtension invoke) by Ana on Ben's channel post."""
    activity = act.invoke_action(
        world.connector.url, sender=ANA, data={}, reply_to="", conversation_type="channel", **where
    )
    activity.pop("replyToId")
    activity["name"] = name
    activity["value"] = {"commandId": "giveKudos", "commandContext": "message", **value}
    return activity


POST = {
    "id": "1690000009999",
    "from": {"user": {"id": "29:ben", "displayName": "Ben Weber", "aadObjectId": "aad-ben"}},
    "body": {"contentType": "html", "content": "<p>Release notes are up</p>"},
    "linkToMessage": "https://teams.microsoft.com/l/message/19:x/1690000009999",
}


async def test_give_kudos_message_action_opens_a_dialog_and_gives(
    world: TeamsWorld, tmp_path: Path
) -> None:
    c = world.connector
    thread = "19:channel-1@thread.tacv2;messageid=1690000009999"
    opened = await world.post(
        message_action(
            world, "composeExtension/fetchTask", {"messagePayload": POST}, conversation_id=thread
        )
    )
    assert opened.status == 200
    task = (await opened.json())["task"]
    assert task["type"] == "continue"
    card = task["value"]["card"]["content"]
    assert "Ben Weber" in card_text(card)
    reason = next(i for i in card["body"] if i.get("id") == "reason")
    assert reason["value"].startswith(POST["linkToMessage"])
    check_cards(tmp_path, {"attachments": [task["value"]["card"]]})

    data = {
        **card["actions"][0]["data"],
        "amount": "6",
        "reason": reason["value"] + "great notes",
        "values": "craft",
    }
    given = await world.post(
        message_action(
            world,
            "composeExtension/submitAction",
            {"data": data, "messagePayload": POST},
            conversation_id=thread,
        )
    )
    assert given.status == 200
    closing = (await given.json())["task"]
    assert closing["type"] == "message" and "6 points to Ben Weber" in closing["value"]
    await world.settle()
    assert await earned(world, "ben@example.com") == 6
    announced = c.to(thread)
    assert len(announced) == 1 and announced[0].reply_to == POST["id"]


async def test_a_refused_dialog_comes_back_with_the_reason_and_what_was_typed(
    world: TeamsWorld,
) -> None:
    data = {
        "receiver": "29:ben",
        "receiver_name": "Ben Weber",
        "message": POST["id"],
        "amount": "5",
        "reason": "ok",
    }
    answer = await world.post(
        message_action(world, "composeExtension/submitAction", {"data": data})
    )
    task = (await answer.json())["task"]
    assert task["type"] == "continue"
    card = task["value"]["card"]["content"]
    assert "at least 10 characters" in card_text(card)
    assert next(i for i in card["body"] if i.get("id") == "reason")["value"] == "ok"
    await world.settle()
    assert await count(world, recognitions) == 0
    unknown = await world.post(
        message_action(world, "composeExtension/fetchTask", {"commandId": "nope"})
    )
    assert (await unknown.json())["task"]["type"] == "message"
