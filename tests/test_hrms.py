"""Pulling the directory from a BambooHR-style API, against a fake BambooHR on localhost."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.directory.bamboohr import BambooHrClient, read_directory
from adapters.directory.hrms import (
    HrmsUnavailable,
    RetryPolicy,
    client_from_settings,
)
from adapters.directory.http_pull import retry_after_seconds
from bot.bootstrap import bootstrap
from bot.settings import Settings
from core.commands import ListPeople, SyncDirectory
from core.messages import MsgId, text

from .conftest import migrated_engine

TOKEN = "bamboo-api-key"
BASIC = "Basic " + base64.b64encode(f"{TOKEN}:x".encode()).decode()  # BambooHR's scheme
FAST = RetryPolicy(attempts=3, backoff=0.01, timeout=2.0)


def employee(eid: int, first: str, last: str, **extra: Any) -> dict[str, Any]:
    """An entry as BambooHR's directory gives it (with fields laurel does not read)."""
    return {
        "id": str(eid),
        "displayName": f"{first} {last}",
        "firstName": first,
        "lastName": last,
        "preferredName": None,
        "jobTitle": "Engineer",
        "workPhone": None,
        "workEmail": f"{first.lower()}@acme.test",
        "department": "Engineering",
        "location": "Lisbon",
        "supervisor": None,
        "photoUploaded": False,
        **extra,
    }


EMPLOYEES = [
    employee(1, "Ana", "Lima", hireDate="2019-04-01", location="Europe/Lisbon"),
    employee(2, "Bo", "Ek", supervisorId="1", employeeNumber="0002"),
    employee(3, "Cy", "Ng", supervisor="Ana Lima", department="Sales"),
    employee(4, "Di", "Roy", supervisorEmail="bo@acme.test", hireDate="0000-00-00"),
]


@dataclass
class FakeBambooHr:
    """GET /api/gateway.php/acme/v1/employees/directory, as BambooHR answers it."""

    employees: list[dict[str, Any]] = field(default_factory=lambda: list(EMPLOYEES))
    answers: list[web.Response] = field(default_factory=list)  # served first, one per request
    delay: float = 0.0
    requests: int = 0
    url: str = ""

    async def directory(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if request.headers.get("Authorization") != BASIC:
            return web.Response(status=401, text="Unauthorized")
        if request.headers.get("Accept") != "application/json":
            return web.Response(status=406, text="XML is the default; ask for JSON")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answers:
            return self.answers.pop(0)
        fields = [{"id": "displayName", "type": "text", "name": "Display name"}]
        return web.json_response({"fields": fields, "employees": self.employees})


@pytest.fixture
async def bamboo() -> AsyncIterator[FakeBambooHr]:
    fake = FakeBambooHr()
    app = web.Application()
    app.router.add_get("/api/gateway.php/acme/v1/employees/directory", fake.directory)
    async with TestServer(app, host="127.0.0.1") as server:
        fake.url = str(server.make_url("/api/gateway.php/acme"))
        yield fake


def client(bamboo: FakeBambooHr, token: str = TOKEN, policy: RetryPolicy = FAST) -> BambooHrClient:
    return BambooHrClient(url=bamboo.url, token=token, policy=policy)


async def test_the_directory_is_pulled_with_basic_auth_and_mapped(bamboo: FakeBambooHr) -> None:
    parsed = await client(bamboo).fetch()
    assert bamboo.requests == 1
    assert parsed.problems == []
    by_email = {r.email: r for r in parsed.records}
    ana, bo, cy, di = (by_email[f"{n}@acme.test"] for n in ("ana", "bo", "cy", "di"))
    assert (ana.display_name, ana.external_id, ana.hire_date) == ("Ana Lima", "1", date(2019, 4, 1))
    assert ana.tz == "Europe/Lisbon" and bo.tz is None  # "Lisbon" is an office, not a zone
    assert ana.manager_email is None
    assert bo.manager_email == "ana@acme.test"  # by supervisorId
    assert cy.manager_email == "ana@acme.test"  # by the supervisor's display name
    assert di.manager_email == "bo@acme.test"  # by supervisorEmail
    assert (bo.employee_number, cy.department, di.hire_date) == ("0002", "Sales", None)
    assert [r.row for r in parsed.records] == [1, 2, 3, 4]
    assert all(r.active and r.birthday is None for r in parsed.records)


async def test_a_wrong_token_fails_at_once(bamboo: FakeBambooHr) -> None:
    with pytest.raises(HrmsUnavailable, match="401 Unauthorized") as failed:
        await client(bamboo, token="wrong-key").fetch()
    assert "LAUREL_HRMS_TOKEN" in str(failed.value) and "wrong-key" not in str(failed.value)
    assert bamboo.requests == 1


async def test_429_is_retried_after_the_time_the_server_asks(bamboo: FakeBambooHr) -> None:
    bamboo.answers.append(web.Response(status=429, headers={"Retry-After": "1"}))
    slow_backoff = RetryPolicy(attempts=3, backoff=5.0, timeout=2.0)
    started = time.monotonic()
    parsed = await client(bamboo, policy=slow_backoff).fetch()
    waited = time.monotonic() - started
    assert len(parsed.records) == 4 and bamboo.requests == 2
    assert 0.9 <= waited < 4.0  # Retry-After's second, not the 5 s backoff


async def test_a_5xx_storm_ends_in_hrms_unavailable(bamboo: FakeBambooHr) -> None:
    bamboo.answers.extend(web.Response(status=503) for _ in range(10))
    with pytest.raises(HrmsUnavailable, match=r"503 Service Unavailable \(3 attempts\)"):
        await client(bamboo).fetch()
    assert bamboo.requests == 3


async def test_a_500_then_200_recovers(bamboo: FakeBambooHr) -> None:
    bamboo.answers.append(web.Response(status=500))
    assert len((await client(bamboo).fetch()).records) == 4
    assert bamboo.requests == 2


async def test_a_slow_api_times_out(bamboo: FakeBambooHr) -> None:
    bamboo.delay = 1.0
    policy = RetryPolicy(attempts=2, backoff=0.01, timeout=0.2)
    with pytest.raises(HrmsUnavailable, match=r"\(2 attempts\)"):
        await client(bamboo, policy=policy).fetch()
    assert bamboo.requests == 2


async def test_an_unreachable_api_is_unavailable() -> None:
    closed = BambooHrClient(url="http://127.0.0.1:1/api", token=TOKEN, policy=FAST)
    with pytest.raises(HrmsUnavailable, match=r"127\.0\.0\.1:1.*\(3 attempts\)"):
        await closed.fetch()


async def test_an_answer_that_is_not_a_directory_is_refused(bamboo: FakeBambooHr) -> None:
    bamboo.answers.append(web.Response(text="<html>maintenance</html>"))
    with pytest.raises(HrmsUnavailable, match="not JSON"):
        await client(bamboo).fetch()
    bamboo.answers.append(web.json_response({"fields": []}))
    with pytest.raises(HrmsUnavailable, match="no `employees` list"):
        await client(bamboo).fetch()


def test_entries_that_cannot_be_read_are_problems_with_their_position() -> None:
    parsed = read_directory(
        {
            "employees": [
                employee(1, "Ana", "Lima", status="Inactive", timezone="America/Sao_Paulo"),
                employee(2, "Bo", "Ek", supervisorId="99"),
                {"id": 3, "firstName": "Cy", "lastName": "Ng", "workEmail": "cy@acme.test"},
                {"id": 4, "workEmail": "nameless@acme.test"},
                employee(5, "Di", "Roy", hireDate="01/02/2020", status="On leave"),
                "not an employee",
                employee(7, "Ed", "Lima", displayName="Ana Lima"),
                employee(8, "Fa", "Ek", supervisor="Ana Lima"),  # two people are called that
            ]
        }
    )
    assert [(r.row, r.email, r.active, r.tz, r.display_name) for r in parsed.records] == [
        (1, "ana@acme.test", False, "America/Sao_Paulo", "Ana Lima"),
        (3, "cy@acme.test", True, None, "Cy Ng"),
        (7, "ed@acme.test", True, None, "Ana Lima"),
    ]
    bad = MsgId.DIRECTORY_BAD_FIELD
    assert [(p.row, p.email, p.problem) for p in parsed.problems] == [
        (2, "bo@acme.test", text(bad, field="supervisorId", value="99")),
        (4, "nameless@acme.test", text(MsgId.DIRECTORY_NO_NAME)),
        (5, "di@acme.test", text(bad, field="hireDate", value="01/02/2020")),
        (5, "di@acme.test", text(bad, field="status", value="On leave")),
        (6, "", text(bad, field="employees", value="not an employee")),
        (8, "fa@acme.test", text(bad, field="supervisor", value="Ana Lima")),
    ]


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = datetime(2025, 1, 6, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Mon, 06 Jan 2025 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Mon, 06 Jan 2025 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_the_client_comes_from_the_settings() -> None:
    chosen = client_from_settings("https://api.bamboohr.com/api/gateway.php/acme/", TOKEN)
    assert chosen.name == "bamboohr"
    assert isinstance(chosen, BambooHrClient)
    assert chosen.url == "https://api.bamboohr.com/api/gateway.php/acme/v1/employees/directory"
    assert TOKEN not in repr(chosen)
    with pytest.raises(ValueError, match="LAUREL_HRMS_URL"):
        client_from_settings("api.bamboohr.com/acme", TOKEN)


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
async def test_a_complete_pull_creates_then_deactivates_who_is_gone(
    kind: str, tmp_path: Path, bamboo: FakeBambooHr
) -> None:
    async with migrated_engine(kind, tmp_path) as engine:
        settings = Settings(DATABASE_URL="sqlite+aiosqlite:///unused.db")
        app = await bootstrap(settings, engine=engine, migrate_db=False)
        hrms = client_from_settings(bamboo.url, TOKEN)

        async def pull() -> Any:
            parsed = await hrms.fetch()
            command = SyncDirectory(records=tuple(parsed.records), source=hrms.name, complete=True)
            return await app.bus.handle(command)

        async def people() -> dict[str, Any]:
            page = await app.bus.handle(ListPeople(limit=100))
            return {p.email: p for p in page.people}

        first = await pull()
        assert sorted(first.created) == [
            "ana@acme.test",
            "bo@acme.test",
            "cy@acme.test",
            "di@acme.test",
        ]
        assert first.problems == [] and first.deactivated == []
        found = await people()
        ana, bo, di = found["ana@acme.test"], found["bo@acme.test"], found["di@acme.test"]
        assert bo.manager_id == found["cy@acme.test"].manager_id == ana.id
        assert di.manager_id == bo.id
        assert (bo.external_id, bo.source, ana.tz) == ("2", "bamboohr", "Europe/Lisbon")

        bamboo.employees = [e for e in EMPLOYEES if e["id"] != "4"]
        second = await pull()
        assert second.deactivated == ["di@acme.test"]
        assert (second.created, second.updated, second.unchanged) == ([], [], 3)
        assert not (await people())["di@acme.test"].active

        bamboo.employees = list(EMPLOYEES)
        third = await pull()
        assert third.reactivated == ["di@acme.test"] and third.unchanged == 3
        assert (await people())["di@acme.test"].active
