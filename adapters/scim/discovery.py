"""Discovery (RFC 7644 4): what laurel's SCIM service supports, and the shape of its resources.

The schemas are generated from `models`, so they cannot drift from what the routes accept
and return. One change: `emails` is published as required, because laurel cannot hold a
person without an e-mail address (a `userName` that is an e-mail address is accepted too).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Meta,
    Pagination,
    Patch,
    Required,
    ResourceType,
    ResponseParameters,
    Schema,
    ServiceProviderConfig,
    Sort,
)

from .errors import not_found
from .http import base_url, respond
from .models import EnterpriseUser, Group, User, UserResource
from .query import DEFAULT_COUNT, MAX_RESULTS, ListRequest, list_response

_RESPONSE = Context.RESOURCE_QUERY_RESPONSE


def service_provider_config(base: str) -> ServiceProviderConfig:
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        pagination=Pagination(
            cursor=False,
            index=True,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=DEFAULT_COUNT,
            max_page_size=MAX_RESULTS,
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="The secret token set in LAUREL_SCIM_TOKEN, sent as "
                "'Authorization: Bearer <token>'",
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base}/ServiceProviderConfig"),
    )


def schemas(base: str) -> list[Schema]:
    found = [
        _user_schema(),
        EnterpriseUser.to_schema(),
        Group.to_schema(),
        Schema.to_schema(),
        ResourceType.to_schema(),
        ServiceProviderConfig.to_schema(),
    ]
    for schema in found:
        schema.meta = Meta(resource_type="Schema", location=f"{base}/Schemas/{schema.id}")
    return found


def resource_types(base: str) -> list[ResourceType]:
    found = [ResourceType.from_resource(UserResource), ResourceType.from_resource(Group)]
    for resource_type in found:
        resource_type.meta = Meta(
            resource_type="ResourceType", location=f"{base}/ResourceTypes/{resource_type.id}"
        )
    return found


def _user_schema() -> Schema:
    schema = User.to_schema()
    for attribute in schema.attributes or []:
        if attribute.name == "emails":
            attribute.required = Required.true
            for sub in attribute.sub_attributes or []:
                sub.required = Required.true if sub.name == "value" else Required.false
    return schema


class Discovery:
    """GET only: any other method is 405 (the error middleware says so in SCIM)."""

    async def config(self, request: web.Request) -> web.Response:
        return respond(service_provider_config(base_url(request)).model_dump(scim_ctx=_RESPONSE))

    async def schemas(self, request: web.Request) -> web.Response:
        return _listed(request, Schema, schemas(base_url(request)))

    async def schema(self, request: web.Request) -> web.Response:
        return _one(request, schemas(base_url(request)), "Schema")

    async def resource_types(self, request: web.Request) -> web.Response:
        return _listed(request, ResourceType, resource_types(base_url(request)))

    async def resource_type(self, request: web.Request) -> web.Response:
        return _one(request, resource_types(base_url(request)), "ResourceType")


def _listed(request: web.Request, model: type[Any], found: list[Any]) -> web.Response:
    """All of them: discovery lists are short, and RFC 7644 4 lets them ignore paging."""
    listing = ListRequest(
        lookup=None, filter=None, start=1, count=len(found), shape=ResponseParameters()
    )
    return respond(list_response(model, listing, len(found), found))


def _one(request: web.Request, found: list[Any], kind: str) -> web.Response:
    wanted = request.match_info["id"]
    for item in found:
        if str(item.id).casefold() == wanted.casefold():
            return respond(item.model_dump(scim_ctx=_RESPONSE))
    raise not_found(kind, wanted)
