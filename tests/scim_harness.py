"""laurel's real web app (bot/web.py) with SCIM on, on a fresh database, on a real port.

The TestServer listens on 127.0.0.1, so a SCIM client library (httpx2) or the conformance
suite (a subprocess) can reach the same app the tests drive with aiohttp's TestClient.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer

from bot import web
from bot.bootstrap import App, bootstrap
from bot.settings import Settings
from core.commands import ListPeople
from core.people import Person

from .conftest import migrated_engine

TOKEN = "scim-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class ScimWorld:
    app: App
    http: TestClient

    @property
    def base_url(self) -> str:
        return str(self.http.make_url("/scim/v2"))

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: str | None = None,
    ) -> Answer:
        sent = {"Content-Type": "application/scim+json", **(AUTH if headers is None else headers)}
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        response = await self.http.request(method, f"/scim/v2{path}", data=data, headers=sent)
        text = await response.text()
        parsed = _parse(text)
        return Answer(response.status, parsed, dict(response.headers))

    async def create_user(self, user_name: str, **attributes: Any) -> dict[str, Any]:
        body = {"schemas": [USER, ENTERPRISE], "userName": user_name, **attributes}
        answer = await self.call("POST", "/Users", body)
        assert answer.status == 201, answer.body
        created: dict[str, Any] = answer.body
        return created

    async def patch(self, path: str, *operations: dict[str, Any]) -> Answer:
        return await self.call("PATCH", path, {"schemas": [PATCH], "Operations": list(operations)})

    async def person(self, person_id: str | int) -> Person:
        async with self.app.uow(readonly=True) as uow:
            found = await uow.people.get(int(person_id))
        assert found is not None
        return found

    async def people(self) -> list[Person]:
        page = await self.app.bus.handle(ListPeople(limit=1000))
        people: list[Person] = page.people
        return people

    async def count(self, table: str) -> int:
        async with self.app.engine.connect() as conn:
            return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


@asynccontextmanager
async def scim_world(
    kind: str, tmp_path: Path, token: str | None = TOKEN
) -> AsyncIterator[ScimWorld]:
    async with migrated_engine(kind, tmp_path) as engine:
        settings = Settings(DATABASE_URL="sqlite+aiosqlite:///unused.db", LAUREL_SCIM_TOKEN=token)
        app = await bootstrap(settings, engine=engine, migrate_db=False)
        async with TestClient(TestServer(web.build(app), host="127.0.0.1")) as http:
            yield ScimWorld(app=app, http=http)


def _parse(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text
