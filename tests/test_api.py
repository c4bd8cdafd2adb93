"""The read API at /api/v1, driven over HTTP through laurel's real web app on SQLite and
PostgreSQL: the OpenAPI document validates, every endpoint answers what the core wrote
(and matches the document's schemas), pages walk without gaps or duplicates, and missing,
unknown, revoked or under-scoped tokens are refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.api.openapi import OPERATIONS
from adapters.api.paging import decode_cursor, encode_cursor
from adapters.api.scopes import SCOPES, Scope
from adapters.persistence.api_tokens import ApiTokens
from adapters.persistence.engine import create_engine
from adapters.persistence.uow import SqlUnitOfWorkFactory
from bot import web
from bot.bootstrap import App, bootstrap
from bot.settings import Settings
from core.commands import PutCatalogItem, Redeem
from core.people import Person
from core.rewards import CatalogItem, ItemKind

from .conftest import migrated_engine
from .harness import Harness

LAUREL = str(Path(sys.executable).with_name("laurel"))
MUG = CatalogItem(slug="mug", name="Mug", kind=ItemKind.MERCHANDISE, price=30, stock=5)
DONATION = CatalogItem(
    slug="donation", name="Donation", kind=ItemKind.CHARITY, price=10, approval_needed=False
)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class ApiWorld:
    app: App
    http: TestClient
    world: Harness

    async def token(self, *scopes: Scope, name: str | None = None) -> str:
        tokens = ApiTokens(self.app.engine)
        label = name or "-".join(s.name.lower() for s in scopes) or "none"
        return await tokens.create(label, [s.value for s in scopes], at=self.world.clock.now())

    async def get(self, path: str, token: str | None, **params: str | int) -> Answer:
        return await self.call("GET", path, token, **params)

    async def call(self, method: str, path: str, token: str | None, **params: str | int) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        query = {k.rstrip("_"): str(v) for k, v in params.items()}  # from_ -> from
        response = await self.http.request(method, f"/api/v1{path}", params=query, headers=headers)
        text = await response.text()
        return Answer(response.status, json.loads(text) if text else None, dict(response.headers))

    async def follow(self, url: str, token: str) -> Answer:
        """A `next` link as a client follows it: the absolute URL, as given."""
        async with self.http.session.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
            return Answer(r.status, await r.json(), dict(r.headers))


@pytest.fixture(params=["sqlite", "pg"])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ApiWorld]:
    async with migrated_engine(request.param, tmp_path) as engine, api_world(engine) as built:
        yield built


@asynccontextmanager
async def api_world(engine: AsyncEngine) -> AsyncIterator[ApiWorld]:
    world = Harness(SqlUnitOfWorkFactory(engine))
    settings = Settings(DATABASE_URL="sqlite+aiosqlite:///unused.db")
    app = await bootstrap(settings, engine=engine, migrate_db=False, clock=world.clock)
    async with TestClient(TestServer(web.build(app), host="127.0.0.1")) as http:
        yield ApiWorld(app=app, http=http, world=world)


@dataclass
class Team:
    ana: Person
    ben: Person
    maria: Person


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


async def seed(api: ApiWorld) -> Team:
    """Maria manages Ana; four gifts (the last one revoked); two requests by Ana."""
    world = api.world
    await world.policy(min_reason_length=1)
    await world.values("ownership")
    for item in (MUG, DONATION):
        await world.bus.handle(PutCatalogItem(item=item))
    maria = await world.person("maria")
    team = Team(
        ana=await world.person("ana", manager=maria), ben=await world.person("ben"), maria=maria
    )
    gifts = [
        (2, team.ben, (team.ana,), 60, ()),
        (10, team.maria, (team.ana,), 40, ()),
        (12, team.ben, (team.ana, team.maria), 5, ("ownership",)),
        (13, team.ben, (team.maria,), 10, ()),
    ]
    for n, (day, giver, receivers, amount, values) in enumerate(gifts, 1):
        world.at(at(day))
        await world.give(giver, *receivers, amount=amount, values=values, key=f"g{n}")
    await world.revoke("g4")
    world.at(at(16, 12))
    await world.bus.handle(Redeem(person_id=team.ana.id, item="mug", quantity=2))
    await world.bus.handle(Redeem(person_id=team.ana.id, item="donation"))
    return team


def conforms(api_doc: dict[str, Any], schema: str, body: Any) -> None:
    """The answer has the shape the OpenAPI document promises."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": api_doc["components"]}
    checker = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [e.message for e in checker.iter_errors(body)]
    assert errors == [], errors


async def document(api: ApiWorld) -> dict[str, Any]:
    answer = await api.get("/openapi.json", None)
    assert answer.status == 200
    spec: dict[str, Any] = answer.body
    return spec


def is_problem(answer: Answer, status: int, mentioning: str = "") -> bool:
    body = answer.body
    return (
        answer.status == status
        and answer.headers["Content-Type"].startswith("application/problem+json")
        and set(body) == {"type", "title", "status", "detail"}
        and body["status"] == status
        and mentioning in body["detail"]
    )


# --- the document --------------------------------------------------------------------


async def test_the_openapi_document_validates_and_names_every_route(api: ApiWorld) -> None:
    spec = await document(api)  # no token needed
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert set(spec["paths"]) == {op.path for op in OPERATIONS}
    for op in OPERATIONS:
        get = spec["paths"][op.path]["get"]
        assert get["security"] == [{"bearer": [op.scope.value]}]
        assert op.scope.value in get["description"]
        reached = await api.get(op.path.replace("{id}", "1"), None)
        assert is_problem(reached, 401)  # mounted, and guarded


# --- the endpoints -------------------------------------------------------------------


async def test_people_and_one_person(api: ApiWorld) -> None:
    team = await seed(api)
    spec, token = await document(api), await api.token(Scope.PEOPLE)
    listed = await api.get("/people", token)
    assert listed.status == 200
    conforms(spec, "PersonPage", listed.body)
    assert [p["handle"] for p in listed.body["data"]] == ["maria", "ana", "ben"]
    assert listed.body["next"] is None and "Link" not in listed.headers
    ana = (await api.get(f"/people/{team.ana.id}", token)).body
    conforms(spec, "Person", ana)
    assert ana == listed.body["data"][1]
    assert (ana["email"], ana["display_name"], ana["manager_id"]) == (
        "ana@example.com",
        "Ana",
        team.maria.id,
    )
    assert is_problem(await api.get("/people/999999", token), 404, "999999")
    assert is_problem(await api.get("/people/ana", token), 404)
    assert is_problem(await api.get(f"/people/{2**64}", token), 404)


async def test_recognitions_in_a_range_with_revoked_ones_marked(api: ApiWorld) -> None:
    team = await seed(api)
    spec, token = await document(api), await api.token(Scope.RECOGNITIONS)
    every = await api.get("/recognitions", token)
    conforms(spec, "RecognitionPage", every.body)
    rows = every.body["data"]
    assert [(r["giver_id"], r["amount"], r["revoked"]) for r in rows] == [
        (team.ben.id, 60, False),
        (team.maria.id, 40, False),
        (team.ben.id, 5, False),
        (team.ben.id, 10, True),
    ]
    third = rows[2]
    assert third["receiver_ids"] == [team.ana.id, team.maria.id]
    assert third["values"] == ["ownership"] and third["reason"] == "thanks for the help"
    assert datetime.fromisoformat(third["created_at"]) == at(12)
    ranged = await api.get("/recognitions", token, from_="2026-11-10", to="2026-11-12T10:00:00Z")
    assert [r["amount"] for r in ranged.body["data"]] == [40]  # `to` is excluded


async def test_balances_per_person(api: ApiWorld) -> None:
    team = await seed(api)
    spec, token = await document(api), await api.token(Scope.BALANCES)
    answer = await api.get("/balances", token)
    conforms(spec, "BalancePage", answer.body)
    by_person = {b["person_id"]: b for b in answer.body["data"]}
    ana, ben, maria = (by_person[p.id] for p in (team.ana, team.ben, team.maria))
    # Ana: 105 received, 60 held by the mug, 10 spent on the donation.
    assert (ana["earned"], ana["held"], ana["lifetime_received"]) == (35, 60, 105)
    assert (maria["earned"], maria["held"], maria["lifetime_received"]) == (5, 0, 5)
    assert ben["allowance"] == {
        "period_start": "2026-11-01",
        "period_end": "2026-12-01",
        "total": 100,
        "left": 30,  # 60 + 2 x 5 given; the revoked 10 came back
    }
    assert maria["allowance"]["left"] == 60 and ana["allowance"]["left"] == 100


async def test_redemptions_by_status_and_range(api: ApiWorld) -> None:
    team = await seed(api)
    spec, token = await document(api), await api.token(Scope.REDEMPTIONS)
    every = await api.get("/redemptions", token)
    conforms(spec, "RedemptionPage", every.body)
    mug, donation = every.body["data"]
    assert mug["item"] == {"slug": "mug", "name": "Mug", "kind": "merchandise"}
    assert (mug["person_id"], mug["quantity"], mug["points"], mug["status"]) == (
        team.ana.id,
        2,
        60,
        "pending",
    )
    assert mug["approver_id"] == team.maria.id and mug["decided_at"] is None
    assert donation["status"] == "approved" and donation["decided_at"] is not None
    pending = await api.get("/redemptions", token, status="pending")
    assert [r["id"] for r in pending.body["data"]] == [mug["id"]]
    assert (await api.get("/redemptions", token, from_="2026-11-17")).body["data"] == []


async def test_the_analytics_summary(api: ApiWorld) -> None:
    await seed(api)
    spec, token = await document(api), await api.token(Scope.ANALYTICS)
    whole = await api.get("/analytics/summary", token)
    conforms(spec, "Summary", whole.body)
    assert {k: v for k, v in whole.body.items() if k not in ("from", "to", "as_of")} == {
        "kudos": 3,  # the revoked gift is left out
        "points_given": 110,  # 60 + 40 + 2 x 5
        "givers": 2,
        "receivers": 2,
        "active_people": 3,
        "points_liability": 100,  # Ana 35 + 60 held, Maria 5
    }
    ranged = await api.get("/analytics/summary", token, from_="2026-11-10", to="2026-11-12")
    assert (ranged.body["kudos"], ranged.body["points_given"], ranged.body["givers"]) == (1, 40, 1)
    assert ranged.body["from"] == "2026-11-10T00:00:00+00:00"


# --- pages ---------------------------------------------------------------------------


async def test_pages_walk_every_row_once(api: ApiWorld) -> None:
    for n in range(23):
        await api.world.person(f"p{n:02d}")
    token = await api.token(Scope.PEOPLE, Scope.BALANCES)
    for path in ("/people", "/balances"):
        key = "id" if path == "/people" else "person_id"
        seen: list[int] = []
        answer = await api.get(path, token, limit=5)
        pages = 1
        while answer.body["next"] is not None:
            assert answer.headers["Link"] == f'<{answer.body["next"]}>; rel="next"'
            assert len(answer.body["data"]) == 5
            seen += [row[key] for row in answer.body["data"]]
            answer = await api.follow(answer.body["next"], token)
            pages += 1
        seen += [row[key] for row in answer.body["data"]]
        assert "Link" not in answer.headers
        assert pages == 5 and len(seen) == 23
        assert seen == sorted(set(seen))  # no duplicate, in order
    async with api.app.engine.connect() as conn:
        everyone = (await conn.execute(sa.text("SELECT id FROM people ORDER BY id"))).scalars()
        assert seen == list(everyone)  # no gap


async def test_a_next_link_keeps_the_filters(api: ApiWorld) -> None:
    await seed(api)
    token = await api.token(Scope.RECOGNITIONS)
    first = await api.get("/recognitions", token, limit=1, from_="2026-11-10")
    assert "from=2026-11-10" in first.body["next"] and "limit=1" in first.body["next"]
    second = await api.follow(first.body["next"], token)
    assert [r["amount"] for r in first.body["data"] + second.body["data"]] == [40, 5]


# --- refusals ------------------------------------------------------------------------


async def test_missing_unknown_and_revoked_tokens_are_401(api: ApiWorld) -> None:
    token = await api.token(*Scope, name="all")
    assert (await api.get("/people", token)).status == 200
    missing = await api.get("/people", None)
    assert is_problem(missing, 401) and missing.headers["WWW-Authenticate"].startswith("Bearer")
    for wrong in ("lrl_not-a-token", token + "x", token.upper()):
        unknown = await api.get("/people", wrong)
        assert is_problem(unknown, 401)
        assert 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]
    basic = await api.http.get("/api/v1/people", headers={"Authorization": f"Basic {token}"})
    assert basic.status == 401
    assert await ApiTokens(api.app.engine).revoke("all", at=api.world.clock.now())
    assert is_problem(await api.get("/people", token), 401, "revoked")


async def test_a_token_reads_only_what_its_scopes_name(api: ApiWorld) -> None:
    token = await api.token(Scope.PEOPLE)
    for op in OPERATIONS:
        answer = await api.get(op.path.replace("{id}", "1"), token)
        if op.scope is Scope.PEOPLE:
            assert answer.status in (200, 404)
            continue
        assert is_problem(answer, 403, op.scope.value)
        challenge = answer.headers["WWW-Authenticate"]
        assert 'error="insufficient_scope"' in challenge and op.scope.value in challenge


async def test_the_api_is_read_only(api: ApiWorld) -> None:
    token = await api.token(Scope.PEOPLE)
    for method in ("POST", "PUT", "PATCH", "DELETE", "HEAD"):
        answer = await api.call(method, "/people", token)
        assert answer.status == 405
        assert answer.headers["Allow"] == "GET"
        if method != "HEAD":  # a HEAD answer has no body
            assert is_problem(answer, 405, method)
    assert is_problem(await api.get("/nothing-here", token), 404)


@pytest.mark.parametrize(
    ("path", "params", "mentioning"),
    [
        ("/recognitions", {"from_": "yesterday"}, "from"),
        ("/recognitions", {"to": "2026-13-01"}, "to"),
        ("/recognitions", {"from_": "2026-11-10", "to": "2026-11-01"}, "before"),
        ("/people", {"limit": "0"}, "limit"),
        ("/people", {"limit": "1001"}, "limit"),
        ("/people", {"limit": "ten"}, "limit"),
        ("/people", {"cursor": "not-ours"}, "cursor"),
        ("/people", {"cursor": encode_cursor(2**64)}, "cursor"),
        ("/redemptions", {"status": "shipped"}, "status"),
        ("/analytics/summary", {"from_": "2026-11-10T25:00"}, "from"),
    ],
)
async def test_a_bad_query_is_400(
    api: ApiWorld, path: str, params: dict[str, str], mentioning: str
) -> None:
    token = await api.token(*Scope)
    assert is_problem(await api.get(path, token, **params), 400, mentioning)


async def test_last_use_is_written_at_most_once_a_minute(api: ApiWorld) -> None:
    token = await api.token(Scope.PEOPLE, name="bi")
    tokens = ApiTokens(api.app.engine)

    async def last_used() -> datetime | None:
        [found] = await tokens.listing()
        return found.last_used_at

    assert await last_used() is None
    first = api.world.clock.now()
    await api.get("/people", token)
    assert await last_used() == first
    api.world.clock.advance(seconds=59)
    await api.get("/people", token)
    assert await last_used() == first
    api.world.clock.advance(seconds=2)
    await api.get("/people", token)
    assert await last_used() == first + timedelta(seconds=61)


async def test_only_a_hash_of_the_token_is_stored(api: ApiWorld) -> None:
    token = await api.token(Scope.PEOPLE)
    assert token.startswith("lrl_") and len(token) > 40
    async with api.app.engine.connect() as conn:
        [row] = (await conn.execute(sa.text("SELECT token_hash, scopes FROM api_tokens"))).all()
    assert row == (hashlib.sha256(token.encode()).hexdigest(), "people:read")


async def test_requests_are_counted_by_route(api: ApiWorld) -> None:
    token = await api.token(Scope.PEOPLE)
    await api.get("/people/1", token)
    metrics = await (await api.http.get("/metrics")).text()
    assert 'route="/api/v1/people/{id}"' in metrics


# --- the command line ----------------------------------------------------------------


def laurel(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [LAUREL, *args], cwd=cwd, capture_output=True, text=True, env=environment, timeout=60
    )


async def test_tokens_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return laurel("api", "token", *args, url=url, cwd=tmp_path)

    created = await asyncio.to_thread(
        cli, "create", "powerbi", "--scope", "people:read", "--scope", "balances:read"
    )
    assert created.returncode == 0, created.stderr
    [token] = created.stdout.split()
    assert token.startswith("lrl_")
    assert "will not be shown again" in created.stderr

    for refused in (
        ("create", "powerbi", "--scope", "people:read"),  # the name is taken
        ("create", "all", "--scope", "*"),  # no wildcard
        ("create", "none"),  # at least one scope
        ("create", "bad name", "--scope", "people:read"),
    ):
        done = await asyncio.to_thread(cli, *refused)
        assert done.returncode != 0, refused
        assert any(line.startswith("Error: ") for line in done.stderr.splitlines()), refused

    listed = await asyncio.to_thread(cli, "list")
    assert listed.returncode == 0
    assert "powerbi" in listed.stdout and "balances:read" in listed.stdout
    assert "live" in listed.stdout and token not in listed.stdout

    engine = create_engine(url)
    try:
        async with api_world(engine) as api:
            assert (await api.get("/people", token)).status == 200
            assert (await api.get("/recognitions", token)).status == 403
            revoked = await asyncio.to_thread(cli, "revoke", "powerbi")
            assert revoked.returncode == 0 and "revoked" in revoked.stdout
            assert (await api.get("/people", token)).status == 401
    finally:
        await engine.dispose()
    again = await asyncio.to_thread(cli, "revoke", "powerbi")
    assert again.returncode != 0 and "no live token named powerbi" in again.stderr
    assert "revoked" in (await asyncio.to_thread(cli, "list")).stdout


def test_scopes_are_explicit() -> None:
    assert "*" not in SCOPES
    assert set(SCOPES) == {
        "people:read",
        "recognitions:read",
        "balances:read",
        "redemptions:read",
        "analytics:read",
    }


def test_a_cursor_is_base64_of_the_last_id() -> None:
    assert base64.urlsafe_b64decode(encode_cursor(42) + "==") == b"42"
    assert decode_cursor(encode_cursor(123456789)) == 123456789
