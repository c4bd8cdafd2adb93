"""The JSON the API answers with; openapi.py describes the same shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from adapters.persistence.api_reads import (
    BalanceRow,
    RecognitionRow,
    RedemptionRow,
    Summary,
    Window,
)
from core.people import Person
from core.views import AllowanceState


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def person(p: Person) -> dict[str, Any]:
    return {
        "id": p.id,
        "email": p.email,
        "handle": p.handle,
        "display_name": p.display_name,
        "department": p.department,
        "manager_id": p.manager_id,
        "employee_number": p.employee_number,
        "external_id": p.external_id,
        "hire_date": _day(p.hire_date),
        "tz": p.tz,
        "locale": p.locale,
        "roles": sorted(role.value for role in p.roles),
        "active": p.active,
        "is_bot": p.is_bot,
    }


def recognition(r: RecognitionRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "giver_id": r.giver_id,
        "receiver_ids": list(r.receiver_ids),
        "amount": r.amount,
        "values": list(r.values),
        "reason": r.reason,
        "created_at": _moment(r.created_at),
        "revoked": r.revoked,
    }


def balance(b: BalanceRow, allowance: AllowanceState | None) -> dict[str, Any]:
    return {
        "person_id": b.person_id,
        "earned": b.earned,
        "held": b.held,
        "lifetime_received": b.lifetime_received,
        "allowance": None if allowance is None else _allowance(allowance),
    }


def _allowance(a: AllowanceState) -> dict[str, Any]:
    return {
        "period_start": _day(a.period.start),
        "period_end": _day(a.period.end),
        "total": a.total,
        "left": a.left,
    }


def redemption(r: RedemptionRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "person_id": r.person_id,
        "item": {"slug": r.item_slug, "name": r.item_name, "kind": r.item_kind},
        "quantity": r.quantity,
        "points": r.points,
        "status": r.status,
        "approver_id": r.approver_id,
        "created_at": _moment(r.created_at),
        "decided_at": _moment(r.decided_at),
    }


def summary(s: Summary, window: Window, at: datetime) -> dict[str, Any]:
    return {
        "from": _moment(window.since),
        "to": _moment(window.until),
        "as_of": _moment(at),
        "kudos": s.kudos,
        "points_given": s.points_given,
        "givers": s.givers,
        "receivers": s.receivers,
        "active_people": s.active_people,
        "points_liability": s.points_liability,
    }
