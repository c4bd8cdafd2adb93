"""`admin …` in Teams through the real routes, on both engines: an export delivered with the
file consent card (consent, upload to the fake's upload session, file info card), refused or
declined files, a non-admin's refusal, and a preview confirmed with Action.Execute."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from adapters.chat.cards import Card, Section
from adapters.chat.images import Chart
from adapters.i18n import Renderer
from adapters.persistence.tables import pending_files
from adapters.teams import cards
from adapters.teams.files import CONSENT, FILE_INFO, byte_ranges, upload
from core.commands import SyncDirectory
from core.directory import DirectoryRecord
from core.messages import MsgId, text
from core.people import Role

from . import teams_activities as act
from .teams_fake import FakeConnector, Sent
from .teams_harness import TeamsWorld, teams_world
from .test_teams import card_text, check_cards

KEY = Fernet.generate_key().decode()
HANA = act.user("29:hana", "aad-hana", "Hana Ruiz")  # an HR admin
ANA = act.user("29:ana", "aad-ana", "Ana Lima")
HANA_CHAT, ANA_CHAT = "a:personal-aad-hana", "a:personal-aad-ana"
Json = dict[str, Any]


async def make_hr_admin(uow_factory: Any, email: str) -> None:
    async with uow_factory() as uow:
        person = await uow.people.by_email(email)
        await uow.people.set_roles(person.id, person.roles | {Role.HR_ADMIN})
        await uow.commit()


@pytest.fixture(params=["sqlite", "pg"])
async def teams(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    async with teams_world(request.param, tmp_path, LAUREL_SECRET_KEYS=KEY) as built:
        c = built.connector
        c.add_member("29:hana", aad="aad-hana", name="Hana Ruiz", email="hr@example.com")
        c.add_member("29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com")
        records = (
            DirectoryRecord(email="hr@example.com", display_name="Hana Ruiz"),
            DirectoryRecord(email="ana@example.com", display_name="Ana Lima"),
        )
        await built.app.bus.handle(SyncDirectory(source="csv", records=records))
        await make_hr_admin(built.app.uow, "hr@example.com")
        yield built


async def say(world: TeamsWorld, sender: Json, words: str, **where: Any) -> Json:
    activity = act.message(world.connector.url, sender=sender, text=words, **where)
    assert (await world.post(activity)).status == 200
    await world.settle()
    return activity


def attachments(sent: list[Sent], kind: str) -> list[tuple[Sent, Json]]:
    return [
        (s, a)
        for s in sent
        for a in s.activity.get("attachments") or []
        if a["contentType"] == kind
    ]


def texts(connector: FakeConnector, conversation: str) -> str:
    return "\n".join(card_text(card) for s in connector.to(conversation) for card in s_cards(s))


def s_cards(sent: Sent) -> list[Json]:
    return FakeConnector.cards(sent)


def adaptive(sent: list[Sent]) -> list[Json]:
    """The activities that carry an Adaptive Card (a file card is not one)."""
    return [s.activity for s in sent if s_cards(s)]


async def offered(world: TeamsWorld) -> tuple[Sent, Json]:
    """Hana asks for the people export; the consent card that follows in her chat."""
    await say(world, HANA, "admin export people")
    [(sent, consent)] = attachments(world.connector.to(HANA_CHAT), CONSENT)
    return sent, consent


async def answer(
    world: TeamsWorld, sender: Json, card: tuple[Sent, Json], action: str = "accept"
) -> str:
    """`sender` answers the consent card; the upload URL Teams would hand out."""
    sent, consent = card
    url = world.connector.upload_url()
    activity = act.file_consent(
        world.connector.url,
        sender=sender,
        context=consent["content"]["acceptContext"],
        reply_to=sent.id,
        action=action,
        upload_url=url,
        name=consent["name"],
    )
    response = await world.post(activity)
    assert response.status == 200
    await world.settle()
    return url


async def stored_files(world: TeamsWorld) -> list[Any]:
    async with world.app.engine.connect() as conn:
        return list(await conn.execute(sa.select(pending_files)))


async def test_an_export_arrives_as_a_file_after_consent(teams: TeamsWorld, tmp_path: Path) -> None:
    c = teams.connector
    card = await offered(teams)
    _, consent = card
    said = texts(c, HANA_CHAT)
    assert "Preparing the export of people" in said and "Your export of people is ready" in said
    assert consent["name"].endswith(".csv") and consent["content"]["description"] == "people"
    token = consent["content"]["acceptContext"]["file"]
    assert consent["content"]["declineContext"] == {"file": token}
    [row] = await stored_files(teams)
    assert row.token == token and row.sealed and b"ana@example.com" not in row.content

    url = await answer(teams, HANA, card)
    content = bytes(c.uploads[url])
    assert len(content) == consent["content"]["sizeInBytes"]
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert "email" in (rows[0].keys() if rows else ())
    assert "ana@example.com" in {r["email"] for r in rows}
    [(info_sent, info)] = attachments(c.to(HANA_CHAT), FILE_INFO)
    assert info["name"] == consent["name"] and info["contentUrl"].startswith("https://")
    assert info["content"]["fileType"] == "csv" and info["content"]["uniqueId"]
    assert info_sent.reply_to is not None
    assert await stored_files(teams) == []

    before = len(c.sent)
    again = await answer(teams, HANA, card)  # a double click
    assert c.uploads[again] == b"" and len(c.sent) == before
    check_cards(tmp_path, *adaptive(c.sent))


async def test_a_decline_forgets_the_file(teams: TeamsWorld) -> None:
    c = teams.connector
    card = await offered(teams)
    before = len(c.sent)
    url = await answer(teams, HANA, card, action="decline")
    assert await stored_files(teams) == []
    assert c.uploads[url] == b"" and len(c.sent) == before


async def test_only_the_admin_it_was_offered_to_can_accept_the_file(
    teams: TeamsWorld, tmp_path: Path
) -> None:
    c = teams.connector
    card = await offered(teams)
    url = await answer(teams, ANA, card)
    assert c.uploads[url] == b""
    assert "offered to someone else" in texts(c, ANA_CHAT)
    assert len(await stored_files(teams)) == 1  # still Hana's to take
    url = await answer(teams, HANA, card)
    assert b"ana@example.com" in c.uploads[url]
    check_cards(tmp_path, *adaptive(c.to(ANA_CHAT)))


async def test_a_non_admin_is_refused_and_gets_no_file(teams: TeamsWorld) -> None:
    c = teams.connector
    await say(teams, ANA, "admin export people")
    assert "only HR admins" in texts(c, ANA_CHAT)
    assert attachments(c.sent, CONSENT) == [] and await stored_files(teams) == []


async def test_a_preview_is_confirmed_once_with_action_execute(
    teams: TeamsWorld, tmp_path: Path
) -> None:
    c = teams.connector
    await say(teams, HANA, "admin limits daily 30")
    [preview] = c.to(HANA_CHAT)
    card = s_cards(preview)[0]
    check_cards(tmp_path, preview.activity)
    assert "Confirm this change?" in card_text(card) and "30" in card_text(card)
    buttons = {a["title"]: a for a in card["actions"]}
    assert set(buttons) == {"Confirm", "Cancel"}
    assert {a["type"] for a in buttons.values()} == {"Action.Execute"}

    def confirm() -> Json:
        return act.invoke_action(
            c.url,
            sender=HANA,
            data=buttons["Confirm"]["data"],
            reply_to=preview.id,
            verb=buttons["Confirm"]["verb"],
            conversation_id=HANA_CHAT,
        )

    done = await (await teams.post(confirm())).json()
    assert "Confirmed by Hana Ruiz" in card_text(done["value"]) and "actions" not in done["value"]
    check_cards(tmp_path, {"attachments": [cards.attachment(done["value"])]})
    async with teams.app.uow(readonly=True) as uow:
        assert (await uow.config.load()).policy.daily_limit == 30
    late = await (await teams.post(confirm())).json()  # the card shows who decided already
    assert "Confirmed by Hana Ruiz" in card_text(late["value"]) and "actions" not in late["value"]
    await teams.settle()
    assert len([s for s in c.sent if s.method == "PUT"]) == 1  # the card was redrawn once


async def test_an_admin_answer_in_a_channel_goes_to_the_personal_chat(
    teams: TeamsWorld,
) -> None:
    c = teams.connector
    await say(teams, HANA, "help")
    channel = await say(
        teams,
        HANA,
        f"{act.mention(act.BOT)} admin limits daily 30",
        conversation_type="channel",
        mentions=[act.BOT],
        team_id="team-1",
    )
    assert c.to(channel["conversation"]["id"]) == []
    assert "Confirm this change?" in texts(c, HANA_CHAT)


async def test_a_stale_offer_goes_when_a_new_file_is_offered(teams: TeamsWorld) -> None:
    c = teams.connector
    card = await offered(teams)
    yesterday = datetime.now(UTC) - timedelta(hours=25)
    async with teams.app.engine.begin() as conn:
        await conn.execute(pending_files.update().values(created_at=yesterday))
    url = await answer(teams, HANA, card)  # too late: nothing is uploaded
    assert c.uploads[url] == b""
    await say(teams, HANA, "admin export people")
    [fresh] = await stored_files(teams)
    assert fresh.token != card[1]["content"]["acceptContext"]["file"]


async def test_an_upload_over_4_mb_goes_in_ranges(tmp_path: Path) -> None:
    content = bytes(range(256)) * (9 * 1024 * 1024 // 256 + 7)
    async with FakeConnector() as c:
        url = c.upload_url()
        await upload(url, content)
        assert bytes(c.uploads[url]) == content
    size = len(content)
    assert c.upload_ranges == [f"bytes {a}-{b}/{size}" for a, b in byte_ranges(size)]
    assert len(c.upload_ranges) == 3
    assert all(b - a + 1 <= 4 * 1024 * 1024 for a, b in byte_ranges(size))
    assert all(call.authorization is None for call in c.calls)  # the URL is its own key


def test_a_card_draws_its_chart_and_its_decision(tmp_path: Path) -> None:
    from core.decisions import Decision, Outcome

    render = Renderer.for_reader(None, "en")
    chart = Chart(png=b"\x89PNG fake", title=text(MsgId.STATS_TREND), alt=text(MsgId.STATS_TREND))
    line = text(MsgId.ADMIN_PREVIEW_HINT)
    pictured = cards.render_card(Card([Section([line])], image=chart), render)
    assert pictured["body"][-1] == {
        "type": "Image",
        "url": chart.data_uri(),
        "altText": render(chart.alt),
    }
    decision = Decision(
        key="k", kind="admin", subject="s", options=(Outcome.CONFIRM, Outcome.CANCEL)
    )
    titled = Card([Section([line])], title=text(MsgId.ADMIN_PREVIEW_TITLE), decision=decision)
    decided = cards.render_card(titled, render)
    assert next(a["data"]["lines"] for a in decided["actions"]) == [
        render(text(MsgId.ADMIN_PREVIEW_TITLE)),
        render(line),
    ]
    check_cards(tmp_path, pictured, decided)


async def test_without_secret_keys_the_file_waits_as_it_is(tmp_path: Path) -> None:
    async with teams_world("sqlite", tmp_path) as world:
        world.connector.add_member(
            "29:hana", aad="aad-hana", name="Hana Ruiz", email="hr@example.com"
        )
        records = (DirectoryRecord(email="hr@example.com", display_name="Hana Ruiz"),)
        await world.app.bus.handle(SyncDirectory(source="csv", records=records))
        await make_hr_admin(world.app.uow, "hr@example.com")
        card = await offered(world)
        [row] = await stored_files(world)
        assert not row.sealed and b"hr@example.com" in row.content
        url = await answer(world, HANA, card)
        assert bytes(world.connector.uploads[url]) == row.content


async def test_an_upload_that_fails_is_apologised_for(teams: TeamsWorld, tmp_path: Path) -> None:
    c = teams.connector
    sent, consent = await offered(teams)
    activity = act.file_consent(
        c.url,
        sender=HANA,
        context=consent["content"]["acceptContext"],
        reply_to=sent.id,
        upload_url=f"{c.root}/upload/expired-session",  # the fake answers 404
        name=consent["name"],
    )
    assert (await teams.post(activity)).status == 200
    await teams.settle()
    assert "could not be delivered" in texts(c, HANA_CHAT)
    assert attachments(c.sent, FILE_INFO) == [] and await stored_files(teams) == []
    check_cards(tmp_path, *adaptive(c.to(HANA_CHAT)))


async def test_a_person_export_is_a_json_file_after_one_ready_card(teams: TeamsWorld) -> None:
    c = teams.connector
    await say(teams, HANA, "admin export person ana@example.com")
    said = texts(c, HANA_CHAT)
    assert said.count("Your export of everything about one person is ready") == 1
    [(sent, consent)] = attachments(c.to(HANA_CHAT), CONSENT)
    assert consent["name"].endswith(".json")
    url = await answer(teams, HANA, (sent, consent))
    exported = json.loads(bytes(c.uploads[url]))
    assert "ana@example.com" in json.dumps(exported)
