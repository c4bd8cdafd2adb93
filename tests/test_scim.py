"""SCIM 2.0 at /scim/v2, driven over HTTP on SQLite and PostgreSQL: what Okta and Entra send,
a real SCIM client library (scim2-client) and, when shared/ is there, a conformance suite."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from httpx2 import AsyncClient
from scim2_client.engines.httpx2 import AsyncSCIMClient
from scim2_models import PatchOp, PatchOperation

from core.commands import RegisterPerson, UpsertDirectoryPerson
from core.directory import DirectoryRecord
from core.people import NewPerson

from .scim_harness import (
    AUTH,
    ENTERPRISE,
    ERROR,
    GROUP,
    TOKEN,
    USER,
    ScimWorld,
    scim_world,
)

VALIDATORS = Path(__file__).resolve().parents[2] / "shared" / "validators"
TESTER = VALIDATORS / "run_scim_tester.sh"


@pytest.fixture(params=["sqlite", "pg"])
async def scim(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ScimWorld]:
    async with scim_world(request.param, tmp_path) as built:
        yield built


def _alice(**more: Any) -> dict[str, Any]:
    return {
        "name": {"givenName": "Alice", "familyName": "Liddell"},
        "emails": [{"value": "alice@example.com", "type": "work", "primary": True}],
        "externalId": "entra-alice",
        **more,
    }


def _is_error(answer: Any, status: int, scim_type: str | None = None) -> bool:
    body = answer.body
    return (
        answer.status == status
        and answer.headers["Content-Type"].startswith("application/scim+json")
        and body["schemas"] == [ERROR]
        and body["status"] == str(status)
        and body.get("scimType") == scim_type
    )


# --- users -------------------------------------------------------------------------------


async def test_a_created_user_is_a_person_and_reads_back(scim: ScimWorld) -> None:
    boss = await scim.create_user("boss@example.com", displayName="Big Boss")
    created = await scim.create_user(
        "alice@corp.onmicrosoft.com",
        **_alice(),
        timezone="Europe/Paris",
        password="never-kept",
        title="dropped",
        **{
            ENTERPRISE: {
                "employeeNumber": "42",
                "department": "Eng",
                "manager": {"value": boss["id"]},
            }
        },
    )
    assert created["userName"] == "alice@corp.onmicrosoft.com"  # the UPN, not the mailbox
    assert created["meta"]["resourceType"] == "User"
    assert created["meta"]["location"] == f"{scim.base_url}/Users/{created['id']}"
    assert "password" not in created and "title" not in created
    assert created[ENTERPRISE] == {
        "employeeNumber": "42",
        "department": "Eng",
        "manager": {"value": boss["id"], "$ref": f"{scim.base_url}/Users/{boss['id']}"},
    }

    person = await scim.person(created["id"])
    assert (person.email, person.display_name, person.tz) == (
        "alice@example.com",
        "Alice Liddell",
        "Europe/Paris",
    )
    assert (person.department, person.employee_number, person.external_id, person.source) == (
        "Eng",
        "42",
        "entra-alice",
        "scim",
    )
    assert person.manager_id == int(boss["id"])

    got = await scim.call("GET", f"/Users/{created['id']}")
    assert got.status == 200 and got.body == created
    assert got.headers["Content-Type"].startswith("application/scim+json")
    only = await scim.call("GET", f"/Users/{created['id']}?attributes=userName")
    assert set(only.body) == {"schemas", "id", "userName"}


async def test_an_existing_person_is_adopted_by_e_mail(scim: ScimWorld) -> None:
    """People who met laurel in chat first keep their id, points and history."""
    slack = await scim.app.bus.handle(
        RegisterPerson(person=NewPerson(email="alice@example.com", display_name="alice"))
    )
    assert (await scim.call("GET", f"/Users/{slack.id}")).status == 404  # not provisioned yet
    created = await scim.create_user("alice@example.com", **_alice())
    assert created["id"] == str(slack.id)
    assert (await scim.person(slack.id)).display_name == "Alice Liddell"


async def test_a_change_from_another_source_shows_over_scim(scim: ScimWorld) -> None:
    """The stored representation is returned only while laurel still agrees with it."""
    created = await scim.create_user("alice@example.com", **_alice())
    record = DirectoryRecord(
        email="alice@example.com", display_name="Alice L.", department="Finance"
    )
    await scim.app.bus.handle(
        UpsertDirectoryPerson(record=record, source="csv", person_id=int(created["id"]))
    )
    got = (await scim.call("GET", f"/Users/{created['id']}")).body
    assert (got["displayName"], got[ENTERPRISE]["department"]) == ("Alice L.", "Finance")
    assert got["name"] == created["name"] and got["emails"] == created["emails"]


async def test_list_filter_and_paginate(scim: ScimWorld) -> None:
    ids = [
        (
            await scim.create_user(
                f"U{i}", externalId=f"ext-{i}", emails=[{"value": f"u{i}@example.com"}]
            )
        )["id"]
        for i in range(5)
    ]
    page = await scim.call("GET", "/Users?startIndex=2&count=2")
    assert page.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (page.body["totalResults"], page.body["startIndex"], page.body["itemsPerPage"]) == (
        5,
        2,
        2,
    )
    assert [u["id"] for u in page.body["Resources"]] == ids[1:3]
    last = await scim.call("GET", "/Users?startIndex=5&count=10")
    assert [u["id"] for u in last.body["Resources"]] == ids[4:]
    counted = await scim.call("GET", "/Users?count=0")
    assert counted.body["totalResults"] == 5 and "Resources" not in counted.body

    for query, expected in [
        ('userName eq "u3"', [ids[3]]),  # userName is not case-exact
        ('externalId eq "ext-2"', [ids[2]]),
        ('emails.value eq "u1@example.com"', [ids[1]]),
        ('emails eq "u4@example.com"', [ids[4]]),
        ('userName eq "nobody"', []),
        ('emails.value eq "nobody@example.com"', []),
    ]:
        found = await scim.call("GET", f"/Users?filter={query}")
        assert found.status == 200, found.body
        assert [u["id"] for u in found.body["Resources"] or []] == expected, query
        assert found.body["totalResults"] == len(expected)

    unsupported = await scim.call("GET", '/Users?filter=userName sw "u"')
    assert _is_error(unsupported, 400, "invalidFilter")
    broken = await scim.call("GET", "/Users?filter=userName eq")
    assert _is_error(broken, 400, "invalidFilter")


async def test_put_replaces_the_user(scim: ScimWorld) -> None:
    created = await scim.create_user(
        "alice@example.com", **_alice(), **{ENTERPRISE: {"department": "Eng"}}
    )
    replaced = await scim.call(
        "PUT",
        f"/Users/{created['id']}",
        {
            "schemas": [USER],
            "userName": "alice@example.com",
            "displayName": "Alice L.",
            "emails": [{"value": "alice.l@example.com", "primary": True}],
        },
    )
    assert replaced.status == 200, replaced.body
    assert replaced.body["displayName"] == "Alice L."
    assert "name" not in replaced.body and ENTERPRISE not in replaced.body
    person = await scim.person(created["id"])
    assert (person.email, person.display_name, person.department) == (
        "alice.l@example.com",
        "Alice L.",
        None,
    )
    assert person.external_id == "entra-alice"  # an id once given is kept


async def test_entra_deactivates_and_reactivates_with_string_booleans(scim: ScimWorld) -> None:
    created = await scim.create_user("alice@example.com", **_alice())
    path = f"/Users/{created['id']}"
    off = await scim.patch(path, {"op": "Replace", "path": "active", "value": "False"})
    assert off.status == 200 and off.body["active"] is False
    assert not (await scim.person(created["id"])).active
    on = await scim.patch(path, {"op": "Replace", "path": "active", "value": "True"})
    assert on.body["active"] is True
    assert (await scim.person(created["id"])).active


async def test_okta_deactivates_with_a_path_less_replace(scim: ScimWorld) -> None:
    created = await scim.create_user("alice@example.com", **_alice())
    off = await scim.patch(f"/Users/{created['id']}", {"op": "replace", "value": {"active": False}})
    assert off.status == 200 and off.body["active"] is False
    assert not (await scim.person(created["id"])).active
    listed = await scim.call("GET", '/Users?filter=userName eq "alice@example.com"')
    assert listed.body["Resources"][0]["active"] is False


async def test_entra_patches_names_e_mail_department_and_manager(scim: ScimWorld) -> None:
    boss = await scim.create_user("boss@example.com")
    other = await scim.create_user("other@example.com")
    created = await scim.create_user("alice@example.com", **_alice())
    path = f"/Users/{created['id']}"
    patched = await scim.patch(
        path,
        {"op": "Replace", "path": "name.givenName", "value": "Alicia"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "alicia@example.com"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Research"},
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]},  # a bare id
    )
    assert patched.status == 200, patched.body
    person = await scim.person(created["id"])
    assert (person.display_name, person.email, person.department, person.manager_id) == (
        "Alicia Liddell",
        "alicia@example.com",
        "Research",
        int(boss["id"]),
    )
    moved = await scim.patch(
        path, {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": other["id"]}}
    )
    assert moved.body[ENTERPRISE]["manager"]["value"] == other["id"]
    assert (await scim.person(created["id"])).manager_id == int(other["id"])
    gone = await scim.patch(
        path,
        {"op": "remove", "path": f"{ENTERPRISE}:manager"},
        {"op": "replace", "path": "displayName", "value": "Dr Alicia"},
    )
    assert gone.body["displayName"] == "Dr Alicia"
    assert "manager" not in gone.body[ENTERPRISE]
    assert (await scim.person(created["id"])).manager_id is None

    unknown = await scim.patch(
        path, {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "999"}
    )
    assert _is_error(unknown, 400, "invalidValue")
    itself = await scim.patch(
        path, {"op": "add", "path": f"{ENTERPRISE}:manager", "value": created["id"]}
    )
    assert _is_error(itself, 400, "invalidValue")


async def test_delete_deactivates_the_person_and_forgets_the_user(scim: ScimWorld) -> None:
    created = await scim.create_user("alice@example.com", **_alice())
    assert (await scim.call("DELETE", f"/Users/{created['id']}")).status == 204

    person = await scim.person(created["id"])  # still in laurel, with their history
    assert not person.active
    assert [(p.id, p.active) for p in await scim.people()] == [(person.id, False)]
    assert (await scim.call("GET", f"/Users/{created['id']}")).status == 404  # RFC 7644 3.6
    assert (await scim.call("GET", "/Users")).body["totalResults"] == 0
    assert (await scim.call("DELETE", f"/Users/{created['id']}")).status == 404

    again = await scim.create_user("alice@example.com", **_alice())  # a returning employee
    assert again["id"] == created["id"] and again.get("active", True)
    assert (await scim.person(created["id"])).active


async def test_uniqueness_conflicts(scim: ScimWorld) -> None:
    first = await scim.create_user("alice@example.com", **_alice())
    same_name = await scim.call(
        "POST", "/Users", {"schemas": [USER], "userName": "ALICE@example.com"}
    )
    assert _is_error(same_name, 409, "uniqueness")
    same_mail = await scim.call(
        "POST",
        "/Users",
        {"schemas": [USER], "userName": "alice2", "emails": [{"value": "alice@example.com"}]},
    )
    assert _is_error(same_mail, 409, "uniqueness")
    bob = await scim.create_user("bob@example.com")
    taken = await scim.call(
        "PUT", f"/Users/{bob['id']}", {"schemas": [USER], "userName": "alice@example.com"}
    )
    assert _is_error(taken, 409, "uniqueness")
    stolen = await scim.patch(
        f"/Users/{bob['id']}",
        {"op": "replace", "path": "emails", "value": [{"value": "alice@example.com"}]},
    )
    assert _is_error(stolen, 409, "uniqueness")
    assert (await scim.person(first["id"])).email == "alice@example.com"
    assert (await scim.person(bob["id"])).email == "bob@example.com"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
    ids=["none", "wrong", "basic", "longer"],
)
async def test_no_valid_token_is_401_and_changes_nothing(
    scim: ScimWorld, headers: dict[str, str]
) -> None:
    requests = [
        ("POST", "/Users", {"schemas": [USER], "userName": "alice@example.com"}),
        ("POST", "/Groups", {"schemas": [GROUP], "displayName": "x"}),
        ("GET", "/Users", None),
        ("GET", "/ServiceProviderConfig", None),
        ("DELETE", "/Users/1", None),
        ("GET", "/nowhere", None),
    ]
    for method, path, body in requests:
        answer = await scim.call(method, path, body, headers=headers)
        assert _is_error(answer, 401), (method, path, answer.body)
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="laurel SCIM"')
    assert await scim.people() == []
    for table in ("scim_users", "directory_groups"):
        assert await scim.count(table) == 0


async def test_invalid_bodies_are_400(scim: ScimWorld) -> None:
    not_json = await scim.call("POST", "/Users", raw="{nope")
    assert _is_error(not_json, 400, "invalidSyntax")
    no_name = await scim.call(
        "POST", "/Users", {"schemas": [USER], "emails": [{"value": "a@b.com"}]}
    )
    assert _is_error(no_name, 400, "invalidValue")
    no_mail = await scim.call("POST", "/Users", {"schemas": [USER], "userName": "alice"})
    assert _is_error(no_mail, 400, "invalidValue")
    bad_mail = await scim.call(
        "POST", "/Users", {"schemas": [USER], "userName": "a", "emails": [{"value": "not-mail"}]}
    )
    assert _is_error(bad_mail, 400, "invalidValue")
    created = await scim.create_user("alice@example.com")
    bad_op = await scim.patch(f"/Users/{created['id']}", {"op": "frob", "path": "active"})
    assert _is_error(bad_op, 400, "invalidValue")
    no_ops = await scim.call("PATCH", f"/Users/{created['id']}", {"schemas": ["x"]})
    assert no_ops.status == 400
    unnamed_group = await scim.call("POST", "/Groups", {"schemas": [GROUP]})
    assert _is_error(unnamed_group, 400, "invalidValue")
    assert [p.email for p in await scim.people()] == ["alice@example.com"]


async def test_unknown_ids_and_paths_are_404(scim: ScimWorld) -> None:
    user = {"schemas": [USER], "userName": "a@example.com"}
    for method, path, body in [
        ("GET", "/Users/999", None),
        ("GET", "/Users/abc", None),
        ("PUT", "/Users/999", user),
        ("PATCH", "/Users/999", {"schemas": [], "Operations": [{"op": "remove", "path": "name"}]}),
        ("DELETE", "/Users/999", None),
        ("GET", "/Groups/7", None),
        ("DELETE", "/Groups/7", None),
        ("GET", "/Schemas/urn:nope", None),
        ("GET", "/ResourceTypes/Pet", None),
        ("GET", "/Pets", None),
    ]:
        answer = await scim.call(method, path, body)
        assert _is_error(answer, 404), (method, path, answer.body)
    assert _is_error(await scim.call("DELETE", "/Users"), 405)
    assert _is_error(await scim.call("POST", "/ServiceProviderConfig", {}), 405)
    assert await scim.people() == []


# --- groups ------------------------------------------------------------------------------


async def test_groups_with_members(scim: ScimWorld) -> None:
    alice = await scim.create_user("alice@example.com")
    bob = await scim.create_user("bob@example.com")
    carol = await scim.create_user("carol@example.com")
    created = await scim.call(
        "POST",
        "/Groups",
        {
            "schemas": [GROUP],
            "displayName": "Approvers",
            "externalId": "g-1",
            "members": [{"value": alice["id"]}],
        },
    )
    assert created.status == 201, created.body
    group = created.body
    path = f"/Groups/{group['id']}"
    assert created.headers["Location"] == f"{scim.base_url}{path}"
    assert group["members"] == [
        {"value": alice["id"], "$ref": f"{scim.base_url}/Users/{alice['id']}", "type": "User"}
    ]

    def ids(answer: Any) -> list[str]:
        return [m["value"] for m in answer.body.get("members", [])]

    added = await scim.patch(  # Entra
        path,
        {"op": "Add", "path": "members", "value": [{"value": bob["id"]}, {"value": carol["id"]}]},
    )
    assert ids(added) == [alice["id"], bob["id"], carol["id"]]
    removed = await scim.patch(
        path, {"op": "Remove", "path": "members", "value": [{"value": alice["id"]}]}
    )
    assert ids(removed) == [bob["id"], carol["id"]]
    okta = await scim.patch(path, {"op": "remove", "path": f'members[value eq "{bob["id"]}"]'})
    assert ids(okta) == [carol["id"]]
    renamed = await scim.patch(
        path, {"op": "replace", "value": {"displayName": "Budget approvers"}}
    )
    assert renamed.body["displayName"] == "Budget approvers"

    found = await scim.call("GET", '/Groups?filter=displayName eq "budget APPROVERS"')
    assert [g["id"] for g in found.body["Resources"]] == [group["id"]]
    by_external = await scim.call("GET", '/Groups?filter=externalId eq "g-1"')
    assert by_external.body["totalResults"] == 1

    replaced = await scim.call(
        "PUT",
        path,
        {"schemas": [GROUP], "displayName": "Finance", "members": [{"value": alice["id"]}]},
    )
    assert (replaced.body["displayName"], ids(replaced)) == ("Finance", [alice["id"]])
    assert "externalId" not in replaced.body

    assert (await scim.call("DELETE", f"/Users/{alice['id']}")).status == 204
    assert ids(await scim.call("GET", path)) == []  # a deleted user leaves their groups

    nested = await scim.patch(
        path, {"op": "add", "path": "members", "value": [{"value": "1", "type": "Group"}]}
    )
    assert _is_error(nested, 400, "invalidValue")
    stranger = await scim.patch(path, {"op": "add", "path": "members", "value": [{"value": "999"}]})
    assert _is_error(stranger, 400, "invalidValue")

    listed = await scim.call("GET", "/Groups?excludedAttributes=members")
    assert listed.body["totalResults"] == 1
    assert "members" not in listed.body["Resources"][0]
    assert (await scim.call("DELETE", path)).status == 204
    assert (await scim.call("GET", path)).status == 404
    assert await scim.count("directory_group_members") == 0


# --- discovery ---------------------------------------------------------------------------


async def test_discovery(scim: ScimWorld) -> None:
    config = (await scim.call("GET", "/ServiceProviderConfig")).body
    assert config["patch"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert [config[k]["supported"] for k in ("sort", "etag", "changePassword")] == [False] * 3
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"

    schemas = (await scim.call("GET", "/Schemas")).body["Resources"]
    ids = {schema["id"] for schema in schemas}
    assert {USER, ENTERPRISE, GROUP} <= ids
    user = (await scim.call("GET", f"/Schemas/{USER}")).body
    names = {attribute["name"]: attribute for attribute in user["attributes"]}
    assert set(names) == {"userName", "name", "displayName", "emails", "timezone", "active"}
    assert names["emails"]["required"] is True
    enterprise = (await scim.call("GET", f"/Schemas/{ENTERPRISE}")).body
    assert [a["name"] for a in enterprise["attributes"]] == [
        "employeeNumber",
        "department",
        "manager",
    ]

    types = (await scim.call("GET", "/ResourceTypes")).body["Resources"]
    assert {(t["name"], t["endpoint"]) for t in types} == {("User", "/Users"), ("Group", "/Groups")}
    one = (await scim.call("GET", "/ResourceTypes/User")).body
    assert one["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]


async def test_scim_is_off_without_a_token(tmp_path: Path) -> None:
    async with scim_world("sqlite", tmp_path, token=None) as scim:
        answer = await scim.call("GET", "/ServiceProviderConfig")
        assert answer.status == 404
        assert not answer.headers.get("Content-Type", "").startswith("application/scim+json")


# --- a real SCIM client, and a conformance suite -----------------------------------------


async def test_round_trip_through_scim2_client(scim: ScimWorld) -> None:
    async with AsyncClient(base_url=f"{scim.base_url}/", headers=AUTH) as http:
        client = AsyncSCIMClient(http)
        await client.discover()
        user_model = client.get_resource_model("User")
        group_model = client.get_resource_model("Group")
        assert user_model is not None and group_model is not None

        wanted = user_model(
            user_name="alice@example.com",
            display_name="Alice",
            emails=[{"value": "alice@example.com", "primary": True}],
        )
        created = await client.create(wanted)
        assert created.id and created.user_name == "alice@example.com"
        fetched = await client.query(user_model, created.id)
        assert fetched.display_name == "Alice"

        patch = PatchOp[user_model](
            operations=[PatchOperation(op="replace", path="active", value=False)]
        )
        patched = await client.modify(user_model, created.id, patch)
        assert patched.active is False
        fetched.display_name = "Alice Liddell"
        replaced = await client.replace(fetched)
        assert replaced.display_name == "Alice Liddell"
        listed = await client.query(user_model)
        assert [u.id for u in listed.resources] == [created.id]

        group = await client.create(
            group_model(display_name="Approvers", members=[{"value": created.id}])
        )
        assert [m.value for m in group.members] == [created.id]
        await client.delete(group_model, group.id)
        await client.delete(user_model, created.id)
        assert (await scim.person(created.id)).active is False


@pytest.mark.skipif(
    not TESTER.is_file(), reason=f"{TESTER} is absent (needs shared/ next to the repo)"
)
@pytest.mark.parametrize("kind", ["sqlite", "pg"])
async def test_the_conformance_suite_passes(kind: str, tmp_path: Path) -> None:
    """python-scim's scim2-tester (through shared/validators): every RFC MUST is kept."""
    async with scim_world(kind, tmp_path) as scim:
        env = {**os.environ, "SCIM_TOKEN": TOKEN, "NO_COLOR": "1"}
        process = await asyncio.create_subprocess_exec(
            "bash",
            str(TESTER),
            scim.base_url,
            "-",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=400)
    report = output.decode()
    assert process.returncode == 0, report
    summary = re.search(r"^scim: (\d+) passed, (\d+) failed$", report, re.MULTILINE)
    assert summary is not None, report
    assert int(summary.group(1)) > 50 and summary.group(2) == "0", report
    assert not re.search(r"^(ERROR|CRITICAL) ", report, re.MULTILINE), report
