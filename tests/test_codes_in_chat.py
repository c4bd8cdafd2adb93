"""`admin catalog codes ITEM` with a CSV shared in chat, through the real Slack and Teams
routes, on both engines: codes sealed into the pool (never in plain text in the database,
the audit log or the logs), duplicates skipped, then issued by a redemption; refusals
(not an admin, not a gift card, no keys, a file too big or unreadable) add nothing; a
retried Slack event is read once; the bot token goes to Slack's file URL only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from adapters.persistence.tables import gift_card_codes
from core.commands import Decide, GiveKudos, PutCatalogItem, Redeem, SyncDirectory
from core.decisions import Outcome
from core.directory import DirectoryRecord
from core.people import Role
from core.rewards import CatalogItem, ItemKind

from . import teams_activities as act
from .slack_harness import SlackWorld, slack_world
from .slack_requests import event, message_event, slash_command
from .teams_fake import FakeConnector
from .teams_harness import TeamsWorld, teams_world
from .test_slack import assert_valid_blocks
from .test_teams import card_text, check_cards

KEY = Fernet.generate_key().decode()
COFFEE = CatalogItem(slug="coffee", name="Coffee card", kind=ItemKind.GIFT_CARD, price=10)
MUG = CatalogItem(slug="mug", name="Laurel mug", kind=ItemKind.MERCHANDISE, price=30)
CODES = ["GC-AAAA-1111", "GC-BBBB-2222", "GC-CCCC-3333"]
FILE = ("code\n" + "\n".join([*CODES, CODES[0]]) + "\n").encode()  # one twice
ADDED = (
    "Added 3 codes to Coffee card (1 was already in the pool). Codes in the pool now: 3."
    " You can delete the file now."
)
HOWTO = (
    "Share the CSV file of codes in this chat with the words “admin catalog codes coffee”."
    " I read the codes, store them encrypted and you can then delete the file."
)
NOT_ADMIN = "Sorry, only HR admins can do that. Nothing was changed."
TOO_BIG = "That file is too big: I take at most 1 MB and 10,000 codes at a time."
NO_DOWNLOAD = "I could not download that file."
Json = dict[str, Any]


async def organisation(app: Any) -> None:
    """Hana runs HR; Maria manages Ana; the shop has a coffee card and a mug."""
    people = (
        DirectoryRecord(email="hana@example.com", display_name="Hana Ruiz"),
        DirectoryRecord(email="maria@example.com", display_name="Maria Rossi"),
        DirectoryRecord(
            email="ana@example.com", display_name="Ana Lima", manager_email="maria@example.com"
        ),
    )
    await app.bus.handle(SyncDirectory(source="csv", records=people))
    for item in (COFFEE, MUG):
        await app.bus.handle(PutCatalogItem(item=item))
    async with app.uow() as uow:
        hana = await uow.people.by_email("hana@example.com")
        await uow.people.set_roles(hana.id, hana.roles | {Role.HR_ADMIN})
        await uow.commit()


async def slack_organisation(world: SlackWorld) -> SlackWorld:
    for user, email, name in (
        ("UH", "hana@example.com", "Hana Ruiz"),
        ("UM", "maria@example.com", "Maria Rossi"),
        ("UA", "ana@example.com", "Ana Lima"),
    ):
        world.api.add_user(user, email=email, real_name=name)
    await organisation(world.app)
    return world


@pytest.fixture(params=["sqlite", "pg"])
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(request.param, tmp_path, secret_keys=KEY) as built:
        yield await slack_organisation(built)


async def share(
    world: SlackWorld,
    content: bytes | None,
    line: str = "admin catalog codes coffee",
    *,
    user: str = "UH",
    event_id: str = "EvCodes",
    retry: int | None = None,
    file: Json | None = None,
) -> Json:
    """`user` writes `line` in laurel's DM with a file of `content` (or `file` as given,
    or none); laurel's answer in that DM."""
    message = message_event(line, user_id=user, channel_id=f"D{user}", channel_type="im")
    if file is None and content is not None:
        file = world.api.add_file(content)
    if file is not None:
        message.update(subtype="file_share", files=[file])
    response = await world.post(event(message, event_id=event_id), retry_num=retry)
    assert response.status == 200
    await world.settle()
    replies = [c for c in world.api.calls_to("chat.postMessage") if c.args["channel"] == f"D{user}"]
    return replies[-1].args


async def stored(engine: Any) -> str:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(gift_card_codes))).mappings().all()
    return json.dumps([dict(row) for row in rows], default=str)


async def pool(engine: Any) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(gift_card_codes)
        return int((await conn.execute(query)).scalar_one())


async def audit(app: Any) -> list[Any]:
    async with app.uow(readonly=True) as uow:
        return [r.entry for r in await uow.audit.since(None, limit=50)]


async def test_codes_shared_in_the_dm_are_sealed_skipped_once_and_issued(
    slack: SlackWorld, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    answer = await share(slack, FILE)
    assert answer["text"] == ADDED
    assert_valid_blocks({"blocks": answer["blocks"]}, "message", tmp_path)
    [download] = slack.api.calls_to("files.download")
    assert download.token == "xoxb-test"
    again = await share(slack, b"GC-CCCC-3333\nGC-DDDD-4444\n", event_id="EvMore")
    assert again["text"].startswith("Added 1 code to Coffee card (1 was already in the pool).")
    assert "Codes in the pool now: 4." in again["text"]
    rows = await stored(slack.app.engine)
    assert await pool(slack.app.engine) == 4
    assert all(code not in rows for code in [*CODES, "GC-DDDD-4444"])
    [first, second] = [e for e in await audit(slack.app) if e.action == "catalog.codes"][::-1]
    assert (first.subject, first.after, first.platform) == (
        "item:coffee",
        {"added": 3, "skipped": 1},
        "slack",
    )
    assert second.after == {"added": 1, "skipped": 1}
    await redeem_and_approve(slack)
    delivered = [c for c in slack.api.calls_to("chat.postMessage") if CODES[0] in str(c.args)]
    assert len(delivered) == 1 and delivered[0].args["channel"] in ("UA", "DUA")
    assert not any(code in debug_logs.text for code in [*CODES, "GC-DDDD-4444"])
    assert "added 3 gift-card codes to coffee" in debug_logs.text


async def redeem_and_approve(world: SlackWorld) -> None:
    async with world.app.uow(readonly=True) as uow:
        ana = await uow.people.by_email("ana@example.com")
        maria = await uow.people.by_email("maria@example.com")
    bus = world.app.bus
    await bus.handle(
        GiveKudos(giver_id=maria.id, receiver_ids=(ana.id,), amount=30, reason="the launch")
    )
    r = (await bus.handle(Redeem(person_id=ana.id, item="coffee"))).redemption
    await bus.handle(Decide(key=r.decision_key, outcome=Outcome.APPROVE, person_id=maria.id))
    await world.settle()


async def test_a_retried_event_is_read_once(slack: SlackWorld) -> None:
    for retry in (None, 1, 2):
        await share(slack, FILE, event_id="EvOnce", retry=retry)
    replies = [c for c in slack.api.calls_to("chat.postMessage") if c.args["channel"] == "DUH"]
    assert [r.args["text"] for r in replies] == [ADDED]
    assert len(slack.api.calls_to("files.download")) == 1
    assert [e.action for e in await audit(slack.app)].count("catalog.codes") == 1


async def test_a_non_admins_file_is_refused_audited_and_never_read(slack: SlackWorld) -> None:
    answer = await share(slack, FILE, user="UA")
    assert answer["text"] == NOT_ADMIN
    assert not slack.api.calls_to("files.download")
    assert await pool(slack.app.engine) == 0
    refusals = [e for e in await audit(slack.app) if e.action == "admin.refused"]
    assert [(e.subject, e.platform) for e in refusals] == [("catalog.codes", "slack")]


async def test_only_a_gift_card_in_the_shop_takes_codes(slack: SlackWorld) -> None:
    mug = await share(slack, FILE, "admin catalog codes mug", event_id="EvMug")
    assert mug["text"] == (
        "Laurel mug is not a gift card: only gift cards take codes. Nothing was added."
    )
    nothing = await share(slack, FILE, "admin catalog codes nothing", event_id="EvNone")
    assert nothing["text"].startswith("There is no “nothing” in the shop.")
    assert not slack.api.calls_to("files.download")
    assert await pool(slack.app.engine) == 0


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
async def test_without_keys_codes_are_refused(kind: str, tmp_path: Path) -> None:
    async with slack_world(kind, tmp_path) as built:
        world = await slack_organisation(built)
        answer = await share(world, FILE)
        assert answer["text"].startswith("Sorry, this laurel cannot store gift-card codes")
        assert "LAUREL_SECRET_KEYS" in answer["text"]
        assert not world.api.calls_to("files.download")
        assert await pool(world.app.engine) == 0


async def test_too_big_too_many_or_unreadable_files_add_nothing(slack: SlackWorld) -> None:
    big = b"GC-" + b"9" * 1_000_000
    stated = await share(slack, big, event_id="EvBig")  # the event says how big it is
    assert stated["text"].startswith(TOO_BIG)
    assert not slack.api.calls_to("files.download")
    understated = slack.api.add_file(big, size=100)  # read only up to the limit
    streamed = await share(slack, None, event_id="EvBig2", file=understated)
    assert streamed["text"].startswith(TOO_BIG)
    many = "".join(f"GC-{n:06d}\n" for n in range(10_001)).encode()
    assert (await share(slack, many, event_id="EvMany"))["text"].startswith(TOO_BIG)
    binary = await share(slack, b"\xff\xfe\x00PK\x03\x04", event_id="EvBinary")
    assert binary["text"].startswith("I could not read any codes from that file.")
    empty = await share(slack, b"code\n\n", event_id="EvEmpty")
    assert empty["text"].startswith("I could not read any codes from that file.")
    assert await pool(slack.app.engine) == 0
    assert "catalog.codes" not in [e.action for e in await audit(slack.app)]


async def test_the_bot_token_goes_to_slacks_file_url_only(slack: SlackWorld) -> None:
    elsewhere = slack.api.add_file(FILE)
    for field in ("url_private", "url_private_download"):  # the same fake, under another name
        elsewhere[field] = elsewhere[field].replace("127.0.0.1", "localhost")
    moved = await share(slack, None, event_id="EvElsewhere", file=elsewhere)
    assert moved["text"].startswith(NO_DOWNLOAD)
    assert not slack.api.calls_to("files.download")
    slack.api.bot_token = "xoxb-without-files-read"  # Slack answers with its sign-in page
    refused = await share(slack, FILE, event_id="EvScope")
    assert refused["text"].startswith(NO_DOWNLOAD)
    assert await pool(slack.app.engine) == 0


async def test_the_line_without_a_file_says_how(slack: SlackWorld, tmp_path: Path) -> None:
    answer = await share(slack, None)
    assert answer["text"] == HOWTO
    assert_valid_blocks({"blocks": answer["blocks"]}, "message", tmp_path)
    url = slack.api.response_url("how")
    await slack.post(
        slash_command(
            "catalog codes coffee", user_id="UH", command="/kudos-admin", response_url=url
        )
    )
    assert (await slack.api.wait_for_response("how"))[0]["text"] == HOWTO
    two = [slack.api.add_file(FILE), slack.api.add_file(FILE)]
    message = message_event(
        "admin catalog codes coffee", user_id="UH", channel_id="DUH", channel_type="im"
    )
    message.update(subtype="file_share", files=two)
    await slack.post(event(message, event_id="EvTwo"))
    await slack.settle()
    last = slack.api.calls_to("chat.postMessage")[-1].args["text"]
    assert last == "Please share one file of codes at a time. Nothing was added."
    assert await pool(slack.app.engine) == 0


# --------------------------------------------------------------------------- Teams

HANA = act.user("29:hana", "aad-hana", "Hana Ruiz")
ANA = act.user("29:ana", "aad-ana", "Ana Lima")
HANA_CHAT, ANA_CHAT = "a:personal-aad-hana", "a:personal-aad-ana"


@pytest.fixture(params=["sqlite", "pg"])
async def teams(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    async with teams_world(request.param, tmp_path, LAUREL_SECRET_KEYS=KEY) as built:
        c = built.connector
        c.add_member("29:hana", aad="aad-hana", name="Hana Ruiz", email="hana@example.com")
        c.add_member("29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com")
        await organisation(built.app)
        yield built


async def personal(world: TeamsWorld, sender: Json, content: bytes | None) -> tuple[Json, str]:
    """`sender` shares a file of `content` (or none) in the personal chat with the line;
    laurel's reply there, and the text of its card."""
    shared = [act.file_download(world.connector.add_file(content))] if content else []
    activity = act.message(
        world.connector.url,
        sender=sender,
        text="admin catalog codes coffee",
        attachments=shared,
    )
    assert (await world.post(activity)).status == 200
    await world.settle()
    chat = HANA_CHAT if sender is HANA else ANA_CHAT
    [reply] = [s for s in world.connector.to(chat) if s.reply_to == activity["id"]]
    [card] = FakeConnector.cards(reply)
    return reply.activity, card_text(card)


def downloads(world: TeamsWorld) -> list[str | None]:
    """The Authorization header of every download of a shared file."""
    return [c.authorization for c in world.connector.calls if c.path.startswith("/download/")]


async def test_teams_codes_from_the_personal_chat(
    teams: TeamsWorld, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    reply, said = await personal(teams, HANA, FILE)
    assert ADDED in said
    check_cards(tmp_path, reply)
    assert downloads(teams) == [None]  # the URL is pre-authenticated: no token goes with it
    assert await pool(teams.app.engine) == 3
    rows = await stored(teams.app.engine)
    assert all(code not in rows for code in CODES)
    [entry] = [e for e in await audit(teams.app) if e.action == "catalog.codes"]
    assert (entry.after, entry.platform) == ({"added": 3, "skipped": 1}, "teams")
    assert not any(code in debug_logs.text for code in CODES)


async def test_teams_refuses_a_non_admin_and_explains_the_line(teams: TeamsWorld) -> None:
    _, refused = await personal(teams, ANA, FILE)
    assert NOT_ADMIN in refused
    assert downloads(teams) == []
    assert await pool(teams.app.engine) == 0
    assert "admin.refused" in [e.action for e in await audit(teams.app)]
    _, howto = await personal(teams, HANA, None)
    assert HOWTO in howto
