"""List requests (RFC 7644 3.4.2): the filters laurel answers, pagination, and the answer.

laurel looks resources up by the attributes identity providers match on before they
create (`userName eq "…"` from Entra and Okta, `externalId`, `emails.value`, a group's
`displayName`), each one indexed. Any other filter is refused with 400 `invalidFilter`
rather than answered by reading the whole directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from scim2_models import (
    Context,
    InvalidFilterException,
    ListResponse,
    Resource,
    ResponseParameters,
    ScimFilter,
    SearchRequest,
)
from scim2_models.path import CompareOperator, Comparison

from .models import POLICY

MAX_RESULTS = 200  # announced in ServiceProviderConfig (filter.maxResults)
DEFAULT_COUNT = 100

Lookups = Mapping[tuple[str, str | None], str]

USER_LOOKUPS: Lookups = {
    ("username", None): "userName",
    ("externalid", None): "externalId",
    ("emails", None): "email",
    ("emails", "value"): "email",
    ("id", None): "id",
}
GROUP_LOOKUPS: Lookups = {
    ("displayname", None): "displayName",
    ("externalid", None): "externalId",
    ("id", None): "id",
}


@dataclass(frozen=True, slots=True)
class Lookup:
    """One indexed attribute and the value it must equal."""

    attribute: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRequest:
    lookup: Lookup | None
    filter: ScimFilter[Any] | None
    start: int  # 1-based
    count: int
    shape: ResponseParameters[Any]

    @property
    def offset(self) -> int:
        return self.start - 1


def list_request(request: web.Request, model: type[Resource[Any]], lookups: Lookups) -> ListRequest:
    params = {key: request.query[key] for key in request.query}
    search: SearchRequest[Any] = SearchRequest[model].model_validate(  # type: ignore[valid-type]
        params, scim_ctx=Context.SEARCH_REQUEST, scim_policy=POLICY
    )
    count = DEFAULT_COUNT if search.count is None else search.count
    return ListRequest(
        lookup=_lookup(search.filter, lookups),
        filter=search.filter,
        start=search.start_index or 1,
        count=min(count, MAX_RESULTS),
        shape=ResponseParameters[model](  # type: ignore[valid-type]
            attributes=search.attributes, excluded_attributes=search.excluded_attributes
        ),
    )


def shape(request: web.Request, model: type[Resource[Any]]) -> ResponseParameters[Any]:
    """The `attributes` / `excludedAttributes` of a request that returns one resource."""
    params = {
        key: request.query[key]
        for key in ("attributes", "excludedAttributes")
        if key in request.query
    }
    return ResponseParameters[model].model_validate(params)  # type: ignore[valid-type]


def _lookup(scim_filter: ScimFilter[Any] | None, lookups: Lookups) -> Lookup | None:
    if scim_filter is None:
        return None
    node = scim_filter.ast
    if isinstance(node, Comparison) and node.op == CompareOperator.eq:
        path = node.attr_path
        sub = path.sub_attr.casefold() if path.sub_attr else None
        attribute = lookups.get((path.attr.casefold(), sub))
        if attribute is not None and isinstance(node.value, str):
            return Lookup(attribute, node.value)
    names = sorted({f'{name} eq "…"' for name in lookups.values() if name != "email"})
    if "email" in lookups.values():
        names.append('emails.value eq "…"')
    raise InvalidFilterException(
        filter=str(scim_filter), detail=f"laurel answers only these filters: {', '.join(names)}"
    )


def list_response(
    model: type[Resource[Any]],
    request: ListRequest,
    total: int,
    resources: Sequence[Resource[Any]],
) -> dict[str, Any]:
    answer = ListResponse[model](  # type: ignore[valid-type]
        total_results=total,
        start_index=request.start,
        items_per_page=len(resources),
        resources=list(resources) if request.count else None,
    )
    return answer.model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=request.shape
    )


def window(found: Sequence[Any], request: ListRequest) -> list[Any]:
    """The page of an in-memory result (a filtered lookup is a handful of resources)."""
    return list(found[request.offset : request.offset + request.count])
