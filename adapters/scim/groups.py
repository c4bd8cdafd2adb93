"""/Groups: groups of provisioned people, kept in this adapter's tables (`ScimStore`).

laurel has no group concept in the core yet; later features read these groups as approver
groups. Members are provisioned users only (`type` "User"): nested groups are refused.
"""

from __future__ import annotations

from aiohttp import web
from scim2_models import Context, Meta, PatchOp

from .errors import ScimError, not_found
from .http import base_url, read_json, resource_id, respond
from .models import POLICY, Group, GroupMember
from .query import GROUP_LOOKUPS, Lookup, list_request, list_response, shape, window
from .store import ScimStore, StoredGroup


def to_scim(group: StoredGroup, base: str) -> Group:
    members = [
        GroupMember(value=str(person_id), ref=f"{base}/Users/{person_id}", type="User")
        for person_id in group.member_ids
    ]
    return Group(
        id=str(group.id),
        external_id=group.external_id,
        display_name=group.display_name,
        members=members or None,
        meta=Meta(resource_type="Group", location=f"{base}/Groups/{group.id}"),
    )


class Groups:
    def __init__(self, *, store: ScimStore) -> None:
        self._store = store

    async def listing(self, request: web.Request) -> web.Response:
        query = list_request(request, Group, GROUP_LOOKUPS)
        base = base_url(request)
        if query.lookup is None:
            total, rows = await self._store.group_page(offset=query.offset, limit=query.count)
            found = [to_scim(row, base) for row in rows]
        else:
            assert query.filter is not None
            candidates = [to_scim(row, base) for row in await self._find(query.lookup)]
            matching = [group for group in candidates if query.filter.match(group)]
            total, found = len(matching), window(matching, query)
        return respond(list_response(Group, query, total, found))

    async def get(self, request: web.Request) -> web.Response:
        group = await self._load(resource_id(request, "Group"))
        return _answer(to_scim(group, base_url(request)), request, Context.RESOURCE_QUERY_RESPONSE)

    async def create(self, request: web.Request) -> web.Response:
        group = Group.model_validate(
            await read_json(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
        )
        group_id = await self._store.add_group(
            display_name=_name(group),
            external_id=group.external_id,
            member_ids=await self._member_ids(group),
        )
        created = to_scim(await self._load(group_id), base_url(request))
        answer = _answer(created, request, Context.RESOURCE_CREATION_RESPONSE, status=201)
        answer.headers["Location"] = f"{base_url(request)}/Groups/{created.id}"
        return answer

    async def replace(self, request: web.Request) -> web.Response:
        group_id = resource_id(request, "Group")
        await self._load(group_id)
        group = Group.model_validate(
            await read_json(request),
            scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST,
            scim_policy=POLICY,
        )
        replaced = await self._save(group_id, group, request)
        return _answer(replaced, request, Context.RESOURCE_REPLACEMENT_RESPONSE)

    async def patch(self, request: web.Request) -> web.Response:
        group_id = resource_id(request, "Group")
        group = to_scim(await self._load(group_id), base_url(request))
        operations = PatchOp[Group].model_validate(
            await read_json(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        operations.patch(group, POLICY)
        patched = await self._save(group_id, group, request)
        return _answer(patched, request, Context.RESOURCE_PATCH_RESPONSE)

    async def delete(self, request: web.Request) -> web.Response:
        if not await self._store.remove_group(resource_id(request, "Group")):
            raise not_found("Group", request.match_info["id"])
        return web.Response(status=204)

    async def _load(self, group_id: int) -> StoredGroup:
        group = await self._store.group(group_id)
        if group is None:
            raise not_found("Group", str(group_id))
        return group

    async def _save(self, group_id: int, group: Group, request: web.Request) -> Group:
        changed = await self._store.replace_group(
            group_id,
            display_name=_name(group),
            external_id=group.external_id,
            member_ids=await self._member_ids(group),
        )
        if not changed:
            raise not_found("Group", str(group_id))
        return to_scim(await self._load(group_id), base_url(request))

    async def _member_ids(self, group: Group) -> set[int]:
        """The people a group names; each must be a provisioned user."""
        wanted: set[int] = set()
        for member in group.members or []:
            if member.type and member.type.casefold() != "user":
                raise ScimError(400, "invalidValue", "a laurel group holds users, not groups")
            reference = member.value or str(member.ref or "").rstrip("/").rsplit("/", 1)[-1]
            if not reference.isdigit():
                raise ScimError(400, "invalidValue", f"member {reference!r} is not a laurel user")
            wanted.add(int(reference))
        missing = wanted - set(await self._store.users(wanted))
        if missing:
            names = ", ".join(str(i) for i in sorted(missing))
            raise ScimError(400, "invalidValue", f"members {names} are not laurel users")
        return wanted

    async def _find(self, lookup: Lookup) -> list[StoredGroup]:
        if lookup.attribute == "id":
            found = await self._store.group(int(lookup.value)) if lookup.value.isdigit() else None
            return [found] if found else []
        options = {"displayName": "display_name", "externalId": "external_id"}
        _, rows = await self._store.group_page(
            offset=0, limit=200, **{options[lookup.attribute]: lookup.value}
        )
        return rows


def _name(group: Group) -> str:
    if not group.display_name or not group.display_name.strip():
        raise ScimError(400, "invalidValue", "a group needs a displayName")
    return group.display_name.strip()


def _answer(
    group: Group, request: web.Request, context: Context, status: int = 200
) -> web.Response:
    body = group.model_dump(scim_ctx=context, response_parameters=shape(request, Group))
    return respond(body, status=status)
