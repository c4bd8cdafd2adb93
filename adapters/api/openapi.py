"""The OpenAPI 3.1 document of /api/v1, built from the same operation table that mounts
the routes (app.py), so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.rewards import ItemKind, RedemptionStatus

from .paging import DEFAULT_LIMIT, MAX_LIMIT
from .scopes import Scope

VERSION = "1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    path: str  # under /api/v1, aiohttp's {name} syntax (also OpenAPI's)
    handler: str  # the Resources method that answers it
    scope: Scope
    summary: str
    schema: str  # the component schema of a 200 answer
    parameters: tuple[str, ...] = ()  # component parameters
    paged: bool = False


_PAGE = ("limit", "cursor")
_WINDOW = ("from", "to")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        path="/people",
        handler="people",
        scope=Scope.PEOPLE,
        summary="Everyone laurel knows, active or not, in id order.",
        schema="PersonPage",
        parameters=_PAGE,
        paged=True,
    ),
    Operation(
        path="/people/{id}",
        handler="person",
        scope=Scope.PEOPLE,
        summary="One person.",
        schema="Person",
        parameters=("id",),
    ),
    Operation(
        path="/recognitions",
        handler="recognitions",
        scope=Scope.RECOGNITIONS,
        summary="Recognitions created in [from, to), revoked ones included and marked.",
        schema="RecognitionPage",
        parameters=(*_PAGE, *_WINDOW),
        paged=True,
    ),
    Operation(
        path="/balances",
        handler="balances",
        scope=Scope.BALANCES,
        summary="Each person's points now: earned, held by pending requests, lifetime "
        "received, and what they may still give this period.",
        schema="BalancePage",
        parameters=_PAGE,
        paged=True,
    ),
    Operation(
        path="/redemptions",
        handler="redemptions",
        scope=Scope.REDEMPTIONS,
        summary="Reward requests created in [from, to), optionally of one status.",
        schema="RedemptionPage",
        parameters=(*_PAGE, *_WINDOW, "status"),
        paged=True,
    ),
    Operation(
        path="/analytics/summary",
        handler="summary",
        scope=Scope.ANALYTICS,
        summary="Recognition totals over [from, to) (revoked ones left out), with today's "
        "headcount and points liability.",
        schema="Summary",
        parameters=_WINDOW,
    ),
)


def _nullable(kind: str, **more: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **more}


def _object(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "required": sorted(properties),
        "properties": properties,
    }
    return {**schema, "description": description} if description else schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(item: str) -> dict[str, Any]:
    return _object(
        {
            "data": {"type": "array", "items": _ref(item)},
            "next": _nullable(
                "string",
                format="uri",
                description="The next page (also in the Link header); null on the last page.",
            ),
        }
    )


_INT = {"type": "integer"}
_POINTS = {"type": "integer", "minimum": 0}
_MOMENT = {"type": "string", "format": "date-time"}
_DAY = {"type": "string", "format": "date"}

SCHEMAS: dict[str, Any] = {
    "Person": _object(
        {
            "id": _INT,
            "email": {"type": "string"},
            "handle": {"type": "string"},
            "display_name": {"type": "string"},
            "department": _nullable("string"),
            "manager_id": _nullable("integer"),
            "employee_number": _nullable("string"),
            "external_id": _nullable("string", description="The directory source's id."),
            "hire_date": _nullable("string", format="date"),
            "tz": {"type": "string", "description": "IANA time zone"},
            "locale": _nullable("string"),
            "roles": {"type": "array", "items": {"type": "string"}},
            "active": {"type": "boolean"},
            "is_bot": {"type": "boolean"},
        }
    ),
    "Recognition": _object(
        {
            "id": _INT,
            "giver_id": _INT,
            "receiver_ids": {"type": "array", "items": _INT, "minItems": 1},
            "amount": {**_POINTS, "description": "Points to each receiver."},
            "values": {"type": "array", "items": {"type": "string"}},
            "reason": {"type": "string"},
            "created_at": _MOMENT,
            "revoked": {"type": "boolean"},
        }
    ),
    "Allowance": _object(
        {
            "period_start": _DAY,
            "period_end": {**_DAY, "description": "The day after the period's last."},
            "total": _POINTS,
            "left": _POINTS,
        },
        "The giving allowance of the period the person is in, in their time zone.",
    ),
    "Balance": _object(
        {
            "person_id": _INT,
            "earned": {**_POINTS, "description": "Points received and free to spend."},
            "held": {**_POINTS, "description": "Points held by pending requests."},
            "lifetime_received": _POINTS,
            "allowance": {
                "oneOf": [_ref("Allowance"), {"type": "null"}],
                "description": "null for people who are not active.",
            },
        }
    ),
    "Redemption": _object(
        {
            "id": _INT,
            "person_id": _INT,
            "item": _object(
                {
                    "slug": {"type": "string"},
                    "name": {"type": "string"},
                    "kind": {"type": "string", "enum": [k.value for k in ItemKind]},
                }
            ),
            "quantity": {"type": "integer", "minimum": 1},
            "points": _POINTS,
            "status": {"type": "string", "enum": [s.value for s in RedemptionStatus]},
            "approver_id": _nullable("integer"),
            "created_at": _MOMENT,
            "decided_at": _nullable("string", format="date-time"),
        }
    ),
    "Summary": _object(
        {
            "from": _nullable("string", format="date-time"),
            "to": _nullable("string", format="date-time"),
            "as_of": _MOMENT,
            "kudos": {**_POINTS, "description": "Recognitions given in the range."},
            "points_given": {**_POINTS, "description": "Their points, to all receivers."},
            "givers": _POINTS,
            "receivers": _POINTS,
            "active_people": {**_POINTS, "description": "Active people now (bots left out)."},
            "points_liability": {
                **_POINTS,
                "description": "Earned and held points of everyone now: what may still "
                "be redeemed.",
            },
        }
    ),
    "Problem": _object(
        {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": _INT,
            "detail": {"type": "string"},
        },
        "RFC 9457 problem details.",
    ),
    "PersonPage": _page("Person"),
    "RecognitionPage": _page("Recognition"),
    "BalancePage": _page("Balance"),
    "RedemptionPage": _page("Redemption"),
}

_WHEN = (
    "An ISO 8601 date (midnight UTC) or date-time (UTC unless it has an offset; "
    "write `+` as `%2B`)."
)
PARAMETERS: dict[str, Any] = {
    "limit": {
        "name": "limit",
        "in": "query",
        "description": "Rows per page.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    "cursor": {
        "name": "cursor",
        "in": "query",
        "description": "Opaque; take it from the previous page's `next` link.",
        "schema": {"type": "string"},
    },
    "from": {
        "name": "from",
        "in": "query",
        "description": f"Start of the range, included. {_WHEN}",
        "schema": {"type": "string", "examples": ["2026-01-01"]},
    },
    "to": {
        "name": "to",
        "in": "query",
        "description": f"End of the range, excluded. {_WHEN}",
        "schema": {"type": "string", "examples": ["2026-02-01"]},
    },
    "status": {
        "name": "status",
        "in": "query",
        "schema": {"type": "string", "enum": [s.value for s in RedemptionStatus]},
    },
    "id": {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
}


def _problem(description: str, **headers: str) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }
    if headers:
        answer["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return answer


RESPONSES: dict[str, Any] = {
    "BadRequest": _problem("A query parameter is malformed."),
    "Unauthorized": _problem(
        "No token, or an unknown or revoked one.", **{"WWW-Authenticate": "Bearer challenge"}
    ),
    "Forbidden": _problem(
        "The token lacks the scope this operation needs (named in `detail`).",
        **{"WWW-Authenticate": 'Bearer challenge with error="insufficient_scope"'},
    ),
    "NotFound": _problem("Nothing has this id."),
}


def _operation(op: Operation) -> dict[str, Any]:
    ok: dict[str, Any] = {
        "description": "OK",
        "content": {"application/json": {"schema": _ref(op.schema)}},
    }
    if op.paged:
        ok["headers"] = {
            "Link": {
                "description": 'RFC 8288 `<…>; rel="next"` while a next page exists.',
                "schema": {"type": "string"},
            }
        }
    responses: dict[str, Any] = {
        "200": ok,
        "400": {"$ref": "#/components/responses/BadRequest"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
    }
    if "id" in op.parameters:
        responses["404"] = {"$ref": "#/components/responses/NotFound"}
    return {
        "operationId": op.handler,
        "summary": op.summary,
        "description": f"{op.summary}\n\nRequires a token with the scope `{op.scope.value}`.",
        "security": [{"bearer": [op.scope.value]}],
        "parameters": [{"$ref": f"#/components/parameters/{name}"} for name in op.parameters],
        "responses": responses,
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "laurel read API",
            "version": VERSION,
            "description": "Read-only data for BI and payroll tools. Every operation needs "
            "`Authorization: Bearer lrl_…` with a token created by `laurel api token create`, "
            "holding the operation's scope. Lists are pages in id order: follow `next`.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {op.path: {"get": _operation(op)} for op in OPERATIONS},
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A laurel API token; scopes: "
                    + ", ".join(f"`{s.value}`" for s in Scope),
                }
            },
        },
    }
