"""Security checks across every door, with a snapshot of every table before and after.

The per-surface tests (test_slack.py, test_teams_security.py, test_scim.py, test_api.py,
test_slack_admin.py, test_teams_admin.py) check each refusal's status and its own tables;
here the whole database is counted, table by table, around every refusal at once:

* Slack requests with a forged, stale, future, tampered or missing signature; Teams
  activities without a token, with `alg: none`, a foreign key, an expired or misdirected
  token; SCIM and the read API without their token or with each other's: 401, no row
  anywhere, no call out.
* Admin commands by people who are not HR admins, on Slack and Teams, every verb (a role
  for oneself, a top-up for oneself, an erasure, an export): refused politely; the only
  rows written are the audit log's record of the refusals.
* SQL-injection-shaped and otherwise hostile text (tests/hostile.py: quotes and comments,
  `%`, `_`, backslashes, NUL, right-to-left overrides, 5,000 characters) in every free-text
  field: a kudos reason, value and catalog names, a top-up reason, a shipping address, a
  decline note, a SCIM user's names and department, the read API's query parameters. Each
  is stored inert (read back as typed; PostgreSQL cannot keep NUL, so laurel drops it
  there) or refused politely, and every table is still there.

On SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shlex
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from botframework.connector.auth import ChannelValidation
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.chat.admin_grammar import parse_admin
from adapters.chat.cards import Card, Tone, error_card
from adapters.chat.commands import ChatCommands
from adapters.chat.grammar import CONSOLE_MENTION, parse
from adapters.i18n import Renderer
from adapters.persistence.api_tokens import ApiTokens
from adapters.persistence.tables import (
    audit_log,
    company_values,
    metadata,
    recognitions,
    redemptions,
)
from adapters.secrets import SecretBox
from bot.web import admin_of
from core.commands import Decide
from core.decisions import Outcome
from core.errors import DomainError, UnknownPerson
from core.events import RedemptionRequested
from core.people import Person, Role

from . import teams_activities as act
from .audit import snapshot
from .harness import Harness
from .hostile import INJECTIONS
from .slack_harness import SECRET
from .slack_requests import FORM, slash_command
from .teams_harness import TeamsWorld, teams_world
from .teams_tokens import Authority, bot_framework_authority, new_key

APP_ID = "6f1c2a4e-1b2c-4d5e-8f90-123456789abc"
SCIM_TOKEN = "scim-security-token"
ADMIN = "hana@example.com"
KEYS = Fernet.generate_key().decode()
ANA = act.user("29:ana", "aad-ana", "Ana Lima")
HANA = act.user("29:hana", "aad-hana", "Hana Ruiz")
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


async def tables(engine: AsyncEngine) -> dict[str, int]:
    """Rows in every table laurel has, after checking that every one is still there."""
    async with engine.connect() as conn:
        present = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert set(metadata.tables) <= present, f"tables gone: {set(metadata.tables) - present}"
        counted = {}
        for name, table in sorted(metadata.tables.items()):
            query = sa.select(sa.func.count()).select_from(table)
            counted[name] = int((await conn.execute(query)).scalar_one())
        return counted


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {t: (before[t], after[t]) for t in before if before[t] != after[t]}


def slack_headers(body: str, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if at is None else at)
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def unsigned_jwt(service_url: str) -> str:
    """A token that claims everything and is signed by nothing (`alg: none`)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "iss": "https://api.botframework.com",
        "aud": APP_ID,
        "serviceurl": service_url,
        "nbf": now - 10,
        "exp": now + 3600,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


# -- forged and missing credentials --------------------------------------------------------


@pytest.fixture(params=["sqlite", "pg"])
async def secured(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[TeamsWorld, Authority]]:
    with bot_framework_authority() as authority:
        monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", authority.metadata_url)
        async with teams_world(
            request.param,
            tmp_path,
            MicrosoftAppId=APP_ID,
            MicrosoftAppPassword="not-used-offline",
            LAUREL_SCIM_TOKEN=SCIM_TOKEN,
        ) as built:
            yield built, authority


async def test_forged_stale_and_missing_credentials_touch_no_table(
    secured: tuple[TeamsWorld, Authority],
) -> None:
    world, authority = secured
    api_token = await ApiTokens(world.app.engine).create(
        "reader", ["people:read"], at=world.app.clock.now()
    )
    before = await tables(world.app.engine)

    body, _ = slash_command("<@U2|ben> +10 thanks for everything", user_id="U1")
    now = int(time.time())
    slack = {
        "another secret": slack_headers(body, secret="not-the-secret"),
        "ten minutes old": slack_headers(body, at=now - 600),
        "ten minutes ahead": slack_headers(body, at=now + 600),
        "another body": slack_headers(body.replace("10", "99")),
        "v1 scheme": {
            **slack_headers(body),
            "X-Slack-Signature": slack_headers(body)["X-Slack-Signature"].replace("v0=", "v1="),
        },
        "no signature": {"Content-Type": FORM, "X-Slack-Request-Timestamp": str(now)},
        "nothing": {"Content-Type": FORM},
    }
    for why, headers in slack.items():
        answer = await world.http.post("/slack/events", data=body.encode(), headers=headers)
        assert answer.status == 401, why

    url = world.connector.url
    message = act.message(url, sender=ANA, text="kudos <at>Ben</at> +10 forged")
    for why, token in {
        "none": None,
        "alg none": unsigned_jwt(url),
        "foreign key": authority.token(audience=APP_ID, service_url=url, key=new_key()),
        "expired": authority.token(audience=APP_ID, service_url=url, expires_in=-600),
        "other bot": authority.token(audience="another-bot", service_url=url),
        "SCIM's": SCIM_TOKEN,
    }.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        assert (await world.post(message, **headers)).status == 401, why

    user = {"schemas": [SCIM_USER], "userName": "mallory@example.com"}
    for why, auth in {
        "none": None,
        "wrong": "Bearer wrong",
        "the API's": f"Bearer {api_token}",
        "longer": f"Bearer {SCIM_TOKEN}x",
        "shorter": f"Bearer {SCIM_TOKEN[:-1]}",
        "basic": "Basic " + base64.b64encode(f"x:{SCIM_TOKEN}".encode()).decode(),
        "empty": "Bearer ",
    }.items():
        headers = {"Content-Type": "application/scim+json"}
        if auth:
            headers["Authorization"] = auth
        for method, path, data in (
            ("POST", "/scim/v2/Users", json.dumps(user)),
            ("GET", "/scim/v2/Users", None),
            ("DELETE", "/scim/v2/Users/1", None),
        ):
            answer = await world.http.request(method, path, data=data, headers=headers)
            assert answer.status == 401, (why, method, path)

    for why, auth in {
        "none": None,
        "SCIM's": f"Bearer {SCIM_TOKEN}",
        "longer": f"Bearer {api_token}x",
        "empty": "Bearer ",
    }.items():
        headers = {"Authorization": auth} if auth else {}
        answer = await world.http.get("/api/v1/people", headers=headers)
        assert answer.status == 401, why

    await world.settle()
    assert world.slack.api.calls == [] and world.connector.calls == []
    after = await tables(world.app.engine)
    api_use = {"api_tokens"}  # the token table itself only, never a row
    assert {t: c for t, c in changed(before, after).items() if t not in api_use} == {}


# -- admin commands by non-admins ---------------------------------------------------------


@pytest.fixture(params=["sqlite", "pg"])
async def org(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    async with teams_world(
        request.param,
        tmp_path,
        LAUREL_ADMINS=ADMIN,
        LAUREL_SCIM_TOKEN=SCIM_TOKEN,
        LAUREL_SECRET_KEYS=KEYS,
    ) as built:
        api = built.slack.api
        api.add_user("UA", email="ana@example.com", real_name="Ana Lima")
        api.add_user("UB", email="ben@example.com", real_name="Ben Weber")
        api.add_user("UH", email=ADMIN, real_name="Hana Ruiz")
        for who, email in ((ANA, "ana@example.com"), (HANA, ADMIN)):
            built.connector.add_member(
                who["id"], aad=who["aadObjectId"], name=who["name"], email=email
            )
        yield built


async def slack_command(world: TeamsWorld, command: str, text: str, user: str, name: str) -> str:
    """The answer to a slash command whose trigger_id and response_url are `name`."""
    url = world.slack.api.response_url(name)
    built = slash_command(text, user_id=user, command=command, trigger_id=name, response_url=url)
    response = await world.slack.post(built)
    assert response.status == 200
    [answer] = await world.slack.api.wait_for_response(name, timeout=15)
    return str(answer.get("text"))


async def teams_line(world: TeamsWorld, who: dict[str, Any], text: str) -> str:
    before = len(world.connector.sent)
    mentions = [who] if act.mention(who) in text else []
    activity = act.message(world.connector.url, sender=who, text=text, mentions=mentions)
    assert (await world.post(activity)).status == 200
    await world.settle()
    return " ".join(json.dumps(s.activity) for s in world.connector.sent[before:])


ADMIN_LINES = (
    "limits daily 1",
    "values add Hacked",
    "catalog add Yacht 1",
    "roles grant {me} hr_admin",
    "topup {me} 1000 because I said so",
    "budget everyone 100000",
    "settings channel C0FAKE",
    "tiers remove Gold",
    "erase person hana@example.com",
    "export people",
    "export person hana@example.com",
    "audit",
    "budget show",
)


async def test_admin_commands_by_non_admins_write_nothing_but_the_audit_of_the_refusal(
    org: TeamsWorld,
) -> None:
    world = org
    # first contact on both platforms: the person rows, identities and chats exist before
    await slack_command(world, "/kudos", "balance", "UA", "hello")
    await teams_line(world, ANA, "balance")
    await teams_line(world, HANA, "balance")  # the person an erasure would name
    before = await tables(world.app.engine)

    refusals = 0
    for n, line in enumerate(ADMIN_LINES):
        said = await slack_command(
            world, "/kudos-admin", line.format(me="<@UA|ana>"), "UA", f"a{n}"
        )
        assert said == "Sorry, only HR admins can do that. Nothing was changed.", line
        answered = await teams_line(world, ANA, "admin " + line.format(me=act.mention(ANA)))
        assert "only HR admins" in answered, (line, answered)
        refusals += 2

    after = await tables(world.app.engine)
    assert changed(before, after).keys() <= {"audit_log", "processed_events"}
    async with world.app.engine.connect() as conn:
        actions = (
            await conn.execute(
                sa.select(audit_log.c.action).order_by(audit_log.c.id).offset(before["audit_log"])
            )
        ).scalars()
        assert set(actions) == {"admin.refused"}
    assert after["audit_log"] - before["audit_log"] == refusals
    assert not world.slack.api.uploads and not world.connector.uploads
    async with world.app.uow(readonly=True) as uow:
        ana = await uow.people.by_email("ana@example.com")
        assert ana is not None and Role.HR_ADMIN not in ana.roles


# -- hostile text in every free-text field ------------------------------------------------


def slack_escaped(value: str) -> str:
    """As Slack sends typed text: &, < and > as entities."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def kept(kind: str) -> Callable[[str], str]:
    """What the database gives back of a string: PostgreSQL cannot hold NUL."""
    return (lambda v: v.replace("\x00", "")) if kind == "pg" else (lambda v: v)


def polite(card: Card) -> bool:
    rendered = [Renderer("en")(line) for s in card.sections for line in s.lines]
    return card.tone is Tone.ERROR and "went wrong" not in " ".join(rendered)


async def test_hostile_text_in_every_free_text_field_is_stored_inert_or_refused(
    org: TeamsWorld, request: pytest.FixtureRequest
) -> None:
    world = org
    engine = world.app.engine
    as_stored = kept("pg" if engine.dialect.name == "postgresql" else "sqlite")
    harness = Harness(world.app.uow)
    hana = await _person(world, harness, "hana", roles=frozenset({Role.EMPLOYEE, Role.HR_ADMIN}))
    ana = await _person(world, harness, "ana", manager=hana)
    await _person(world, harness, "ben")
    admin = admin_of(world.app, None)
    box = SecretBox.from_setting(KEYS)
    chat = ChatCommands(harness.bus, box.seal)

    async def resolve(mention: str) -> list[Person]:
        async with world.app.uow(readonly=True) as uow:
            found = await uow.people.by_handle(mention.removeprefix("@"))
        if found is None:
            raise UnknownPerson(mention)
        return [found]

    async def admin_says(line: str) -> Card:
        """An admin line as Hana, confirmed when it previews a change."""
        try:
            parsed = parse_admin(line, CONSOLE_MENTION)
        except DomainError as error:
            return error_card(error)
        answered = await admin.answer(hana, parsed, resolve, platform="console")
        if answered.card.decision is not None:
            confirm = Decide(
                key=answered.card.decision.key, outcome=Outcome.CONFIRM, person_id=hana.id
            )
            try:
                await harness.bus.handle(confirm)
            except DomainError as error:  # the Confirm button's answer
                return error_card(error)
        return answered.card

    tally: Counter[str] = Counter()
    await admin_says("catalog add mug 1 merchandise approval on")
    await harness.give(hana, ana, amount=100, reason="points to spend on mugs")

    for n, hostile in enumerate(INJECTIONS):
        # A kudos reason, through Slack's /kudos (Slack escapes &, < and >).
        text = f"<@UB|ben> +1 {slack_escaped(hostile)} (ref {n})"
        answer = await slack_command(world, "/kudos", text, "UA", f"k{n}")
        async with engine.connect() as conn:
            stored = (
                await conn.execute(
                    sa.select(recognitions.c.reason).where(
                        recognitions.c.key == f"slack:command:k{n}"
                    )
                )
            ).scalar_one_or_none()
        if stored is None:
            assert "Sorry, something went wrong" not in answer, (hostile, answer)
            tally["reason refused"] += 1
            print("REFUSED", repr(hostile[:40]), answer[:200])
        else:
            assert "You gave 1 point" in answer
            assert stored == as_stored(" ".join(f"{hostile} (ref {n})".split())), hostile
            tally["reason stored"] += 1

        # A value's name and a catalog item's name, through admin commands.
        quoted = shlex.quote(hostile)
        card = await admin_says(f"values add {quoted}")
        async with engine.connect() as conn:
            names = set((await conn.execute(sa.select(company_values.c.name))).scalars())
        assert as_stored(hostile.lstrip("#")) in names or polite(card), (hostile, card)
        tally["value " + ("stored" if as_stored(hostile.lstrip("#")) in names else "refused")] += 1
        card = await admin_says(f"catalog add {quoted} 5")
        async with world.app.uow(readonly=True) as uow:
            items = {i.name for i in await uow.catalog.items()}
        assert as_stored(hostile) in items or polite(card), (hostile, card)
        tally["item " + ("stored" if as_stored(hostile) in items else "refused")] += 1

        # A top-up's reason (kept with the change, for the audit log).
        card = await admin_says(f"topup @ana 1 {quoted}")
        assert card.decision is not None or polite(card), (hostile, card)
        tally["top-up " + ("applied" if card.decision is not None else "refused")] += 1

        # A shipping address: sealed before it is stored, opened back as typed.
        try:
            redeem = parse(f"redeem mug to {hostile}")
        except DomainError:
            tally["address refused"] += 1
            continue  # the line itself is refused
        card = await chat.answer(ana, redeem, resolve, source="console", idempotency_key=f"r{n}")
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(redemptions.c.id, redemptions.c.shipping_sealed).where(
                        redemptions.c.key == f"r{n}"
                    )
                )
            ).one_or_none()
        if row is None:
            assert polite(card), (hostile, card)
            tally["address refused"] += 1
            continue
        assert box.open(row.shipping_sealed) == hostile.strip()
        tally["address stored"] += 1

        # A decline note, written by the approver.
        [asked] = [
            e
            for e in harness.notifier.of(RedemptionRequested)
            if isinstance(e, RedemptionRequested) and e.redemption.key == f"r{n}"
        ]
        await harness.bus.handle(
            Decide(key=asked.decision_key, outcome=Outcome.DECLINE, person_id=hana.id, note=hostile)
        )
        async with engine.connect() as conn:
            note = (
                await conn.execute(sa.select(redemptions.c.note).where(redemptions.c.id == row.id))
            ).scalar_one()
        assert note in (as_stored(hostile), as_stored(hostile).strip()), (hostile, note)
        tally["note stored"] += 1

    await _scim_and_api(world, as_stored, tally)
    print(engine.dialect.name, dict(sorted(tally.items())))
    for field in ("reason", "value", "item", "top-up", "address", "note", "SCIM user"):
        assert any(k.startswith(field) and not k.endswith("refused") for k in tally), field
    (await snapshot(world.app.uow)).check()
    await tables(engine)  # every table still there


async def _person(world: TeamsWorld, harness: Harness, handle: str, **options: Any) -> Person:
    async with world.app.uow(readonly=True) as uow:
        found = await uow.people.by_handle(handle)
    return found or await harness.person(handle, **options)


async def _scim_and_api(
    world: TeamsWorld, as_stored: Callable[[str], str], tally: Counter[str]
) -> None:
    scim = {"Authorization": f"Bearer {SCIM_TOKEN}", "Content-Type": "application/scim+json"}
    for n, hostile in enumerate(INJECTIONS):
        user = {
            "schemas": [SCIM_USER, ENTERPRISE],
            "userName": f"hostile{n}@example.com",
            "displayName": hostile,
            "name": {"givenName": hostile, "familyName": hostile},
            "title": hostile,
            ENTERPRISE: {"department": hostile},
        }
        created = await world.http.post("/scim/v2/Users", data=json.dumps(user), headers=scim)
        assert created.status in (201, 400), (hostile, await created.text())
        tally["SCIM user " + ("stored" if created.status == 201 else "refused")] += 1
        if created.status == 201:
            found = await world.http.get(
                f"/scim/v2/Users/{(await created.json())['id']}", headers=scim
            )
            assert (await found.json())["displayName"] == as_stored(hostile).strip() or (
                (await found.json())["displayName"] == as_stored(hostile)
            ), hostile
        wanted = f"displayName eq {json.dumps(hostile)}"
        listed = await world.http.get("/scim/v2/Users", params={"filter": wanted}, headers=scim)
        assert listed.status in (200, 400), (hostile, await listed.text())

    token = await ApiTokens(world.app.engine).create(
        "hostile",
        ["people:read", "recognitions:read", "redemptions:read"],
        at=world.app.clock.now(),
    )
    bearer = {"Authorization": f"Bearer {token}"}
    for hostile in INJECTIONS:
        for path, name in (
            ("/people", "cursor"),
            ("/people", "limit"),
            ("/recognitions", "from"),
            ("/recognitions", "to"),
            ("/redemptions", "status"),
        ):
            answer = await world.http.get(f"/api/v1{path}", params={name: hostile}, headers=bearer)
            assert answer.status in (200, 400), (path, name, hostile, await answer.text())
