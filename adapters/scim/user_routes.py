"""/Users: identity providers create, read, replace, patch and delete laurel's people.

Writes go through the core (`UpsertDirectoryPerson`, `DeactivatePerson`, source "scim"),
then this adapter stores its own view (`ScimStore.put_user`). DELETE deactivates the
person (their points and history stay; erasure is another feature) and forgets them over
SCIM: from then on they answer 404 and leave the lists, as RFC 7644 3.6 requires. Creating
the same e-mail again brings the same person back.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from scim2_models import Context, PatchOp

from core.bus import MessageBus
from core.commands import DeactivatePerson, ListPeople, UpsertDirectoryPerson
from core.people import Person
from core.ports import UnitOfWorkFactory

from .errors import ScimError, not_found
from .http import base_url, read_json, resource_id, respond
from .models import ENTERPRISE, POLICY, UserResource
from .query import MAX_RESULTS, USER_LOOKUPS, Lookup, list_request, list_response, shape, window
from .store import ScimStore, StoredUser, UserNameTaken
from .users import Wanted, document, record, to_scim, user_name, wanted

SOURCE = "scim"


class Users:
    def __init__(self, *, bus: MessageBus, uow: UnitOfWorkFactory, store: ScimStore) -> None:
        self._bus = bus
        self._uow = uow
        self._store = store

    async def listing(self, request: web.Request) -> web.Response:
        query = list_request(request, UserResource, USER_LOOKUPS)
        base = base_url(request)
        if query.lookup is None:
            total, rows = await self._store.user_page(offset=query.offset, limit=query.count)
            users = await self._render(rows, base)
        else:
            candidates = await self._render(await self._find(query.lookup), base)
            assert query.filter is not None
            found = [user for user in candidates if query.filter.match(user)]
            total, users = len(found), window(found, query)
        return respond(list_response(UserResource, query, total, users))

    async def get(self, request: web.Request) -> web.Response:
        person, stored = await self._load(resource_id(request, "User"))
        user = to_scim(person, stored, base_url=base_url(request))
        return self._answer(user, request, Context.RESOURCE_QUERY_RESPONSE)

    async def create(self, request: web.Request) -> web.Response:
        user = UserResource.model_validate(
            await read_json(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
        )
        want = wanted(user)
        if await self._store.user_named(user_name(user)) is not None:
            raise ScimError(409, "uniqueness", f"userName {user.user_name!r} is taken")
        target = await self._target(want)
        if target is not None and await self._store.user(target.id) is not None:
            raise ScimError(409, "uniqueness", f"{want.email} is another user's e-mail")
        person = await self._upsert(want, current=target, person_id=None)
        stored = await self._keep(person.id, user)
        created = to_scim(person, stored, base_url=base_url(request))
        answer = self._answer(created, request, Context.RESOURCE_CREATION_RESPONSE, status=201)
        answer.headers["Location"] = f"{base_url(request)}/Users/{created.id}"
        return answer

    async def replace(self, request: web.Request) -> web.Response:
        person_id = resource_id(request, "User")
        await self._load(person_id)
        user = UserResource.model_validate(
            await read_json(request),
            scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST,
            scim_policy=POLICY,
        )
        updated = await self._save(person_id, user, request)
        return self._answer(updated, request, Context.RESOURCE_REPLACEMENT_RESPONSE)

    async def patch(self, request: web.Request) -> web.Response:
        person_id = resource_id(request, "User")
        person, stored = await self._load(person_id)
        operations = PatchOp[UserResource].model_validate(
            entra_manager(await read_json(request)),
            scim_ctx=Context.RESOURCE_PATCH_REQUEST,
            scim_policy=POLICY,
        )
        user = to_scim(person, stored, base_url=base_url(request))
        operations.patch(user, POLICY)
        updated = await self._save(person_id, user, request)
        return self._answer(updated, request, Context.RESOURCE_PATCH_RESPONSE)

    async def delete(self, request: web.Request) -> web.Response:
        person_id = resource_id(request, "User")
        await self._load(person_id)
        await self._bus.handle(DeactivatePerson(person_id=person_id))
        await self._store.remove_user(person_id)
        return web.Response(status=204)

    # --- steps -------------------------------------------------------------------------

    async def _load(self, person_id: int) -> tuple[Person, StoredUser]:
        stored = await self._store.user(person_id)
        person = await self._person(person_id) if stored else None
        if stored is None or person is None:
            raise not_found("User", str(person_id))
        return person, stored

    async def _save(self, person_id: int, user: UserResource, request: web.Request) -> UserResource:
        want = wanted(user)
        other = await self._store.user_named(user_name(user))
        if other is not None and other.person_id != person_id:
            raise ScimError(409, "uniqueness", f"userName {user.user_name!r} is taken")
        person = await self._upsert(
            want, current=await self._person(person_id), person_id=person_id
        )
        stored = await self._keep(person.id, user)
        return to_scim(person, stored, base_url=base_url(request))

    async def _upsert(
        self, want: Wanted, *, current: Person | None, person_id: int | None
    ) -> Person:
        manager_email = await self._manager_email(want.manager_id)
        command = UpsertDirectoryPerson(
            record=record(want, manager_email=manager_email, current=current),
            source=SOURCE,
            person_id=person_id,
        )
        person: Person = await self._bus.handle(command)
        return person

    async def _keep(self, person_id: int, user: UserResource) -> StoredUser:
        try:
            await self._store.put_user(person_id, user_name(user), document(user))
        except UserNameTaken as taken:
            raise ScimError(409, "uniqueness", f"userName {user.user_name!r} is taken") from taken
        stored = await self._store.user(person_id)
        assert stored is not None
        return stored

    async def _manager_email(self, manager_id: int | None) -> str | None:
        if manager_id is None:
            return None
        manager = await self._person(manager_id)
        if manager is None or await self._store.user(manager_id) is None:
            raise ScimError(400, "invalidValue", f"manager {manager_id} is not a laurel user")
        return manager.email

    async def _target(self, want: Wanted) -> Person | None:
        """The person the core will update for this new user (as the core finds them)."""
        async with self._uow(readonly=True) as uow:
            if want.user.external_id:
                found = await uow.people.by_external_id(SOURCE, want.user.external_id)
                if found is not None:
                    return found
            return await uow.people.by_email(want.email)

    async def _person(self, person_id: int) -> Person | None:
        async with self._uow(readonly=True) as uow:
            return await uow.people.get(person_id)

    async def _find(self, lookup: Lookup) -> list[StoredUser]:
        if lookup.attribute == "userName":
            found = await self._store.user_named(lookup.value)
            return [found] if found else []
        if lookup.attribute == "id":
            found = await self._store.user(int(lookup.value)) if lookup.value.isdigit() else None
            return [found] if found else []
        if lookup.attribute == "email":
            query = ListPeople(limit=MAX_RESULTS, email=lookup.value)
        else:
            query = ListPeople(limit=MAX_RESULTS, external_id=lookup.value)
        page = await self._bus.handle(query)
        rows = await self._store.users(person.id for person in page.people)
        return [rows[i] for i in sorted(rows)]

    async def _render(self, rows: list[StoredUser], base: str) -> list[UserResource]:
        async with self._uow(readonly=True) as uow:
            people = await uow.people.get_many([row.person_id for row in rows])
        return [
            to_scim(people[row.person_id], row, base_url=base)
            for row in rows
            if row.person_id in people
        ]

    def _answer(
        self, user: UserResource, request: web.Request, context: Context, status: int = 200
    ) -> web.Response:
        body = user.model_dump(scim_ctx=context, response_parameters=shape(request, UserResource))
        return respond(body, status=status)


def entra_manager(body: Any) -> Any:
    """Entra sends the manager as a bare id (`"value": "42"`); SCIM wants `{"value": "42"}`."""
    if not isinstance(body, dict):
        return body
    for operation in body.get("Operations") or []:
        if not isinstance(operation, dict):
            continue
        path = str(operation.get("path") or "")
        value = operation.get("value")
        if path.casefold() in (f"{ENTERPRISE}:manager".casefold(), "manager"):
            operation["value"] = _manager_value(value)
        elif isinstance(value, dict):
            for key in list(value):
                if key.casefold() == f"{ENTERPRISE}:manager".casefold():
                    value[key] = _manager_value(value[key])
    return body


def _manager_value(value: Any) -> Any:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str | int):
        return {"value": str(value)} if str(value) else None
    return value
