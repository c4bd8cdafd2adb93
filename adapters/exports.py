"""Exports: the programme's data as CSV rows streamed from the database, and everything
laurel holds about one person as JSON (GDPR art. 15 access and art. 20 portability).

The CSV kinds are `recognitions` and `redemptions` (optionally in [since, until)),
`balances` (now, or as the entries stood at `until`) and `people` (the directory as
laurel has it). Rows are dicts in the kind's column order; `to_csv` writes them as a
spreadsheet can open them safely. Nothing here decides who may export: adapters send
`RecordExport` first, which checks that and logs it.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.persistence.engine import READONLY
from adapters.persistence.tables import (
    accounts,
    audit_log,
    catalog_items,
    decisions,
    directory_group_members,
    directory_groups,
    entries,
    gift_card_codes,
    holds,
    identities,
    outbox,
    people,
    person_roles,
    recognition_receivers,
    recognitions,
    redemptions,
    scim_users,
    teams_users,
    totals,
    transfers,
)
from adapters.secrets import SecretBox, SecretsUnavailable
from core.ledger import PERSONAL_ACCOUNTS
from core.recognition import ALL_VALUES, StatRole

Row = dict[str, object]

COLUMNS: dict[str, tuple[str, ...]] = {
    "recognitions": (
        "recognition_id",
        "given_at",
        "giver_email",
        "giver_name",
        "giver_department",
        "receiver_email",
        "receiver_name",
        "receiver_department",
        "points",
        "values",
        "reason",
        "source",
        "revoked_at",
    ),
    "balances": (
        "person_id",
        "email",
        "name",
        "department",
        "active",
        *(kind.value for kind in PERSONAL_ACCOUNTS),
    ),
    "redemptions": (
        "redemption_id",
        "requested_at",
        "email",
        "name",
        "department",
        "item",
        "item_name",
        "item_kind",
        "variant",
        "quantity",
        "points",
        "status",
        "approver_email",
        "decided_at",
        "note",
    ),
    "people": (
        "person_id",
        "email",
        "name",
        "handle",
        "department",
        "manager_email",
        "hire_date",
        "active",
        "roles",
        "locale",
        "tz",
        "source",
        "external_id",
        "employee_number",
        "created_at",
    ),
}
# Which bounds each kind takes: a range over recognitions or requests; balances as of a
# moment; the directory as it is.
RANGES: dict[str, frozenset[str]] = {
    "recognitions": frozenset({"from", "to"}),
    "redemptions": frozenset({"from", "to"}),
    "balances": frozenset({"to"}),
    "people": frozenset(),
}
SEALED = "sealed"  # what the person export says of an address it cannot open
_ACCOUNT_COLUMNS = frozenset(kind.value for kind in PERSONAL_ACCOUNTS)


class BadRange(ValueError):
    """A bound the kind does not take (balances have no start; people have no dates)."""


# --------------------------------------------------------------------------- CSV


def inert(cell: object) -> object:
    """Names and reasons come from people: a spreadsheet must not run "=HYPERLINK(…)" as a
    formula, so a text that could start one is quoted with a leading apostrophe."""
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def to_csv(rows: Iterable[Mapping[str, object]], columns: Sequence[str] | None = None) -> bytes:
    """UTF-8 with a byte-order mark (so that Excel reads accents right); the header is
    `columns`, or the first row's keys."""
    remaining = iter(rows)
    first = next(remaining, None)
    header = list(columns if columns is not None else first or ())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in itertools.chain([first] if first is not None else [], remaining):
        writer.writerow([inert(_text(row.get(name))) for name in header])
    return buffer.getvalue().encode("utf-8-sig")


def _text(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | frozenset | set):
        return ";".join(str(v) for v in value)
    return value


# --------------------------------------------------------------------------- rows


async def rows(
    engine: AsyncEngine,
    kind: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AsyncIterator[Row]:
    """The rows of one export kind, streamed (see `check_range`)."""
    check_range(kind, since, until)
    if kind == "recognitions":
        stream = recognition_rows(engine, since, until)
    elif kind == "redemptions":
        stream = redemption_rows(engine, since, until)
    elif kind == "balances":
        stream = balance_rows(engine, until)
    else:
        stream = people_rows(engine)
    async for row in stream:
        yield row


def check_range(kind: str, since: datetime | None, until: datetime | None) -> None:
    """BadRange for an unknown kind or a bound the kind does not take."""
    if kind not in COLUMNS:
        raise BadRange(f"unknown export {kind!r}; one of {', '.join(COLUMNS)}")
    given = {name for name, bound in (("from", since), ("to", until)) if bound is not None}
    if given - RANGES[kind]:
        takes = " and ".join(f"--{b}" for b in sorted(RANGES[kind])) or "no dates"
        raise BadRange(f"{kind} takes {takes}")


async def recognition_rows(
    engine: AsyncEngine, since: datetime | None = None, until: datetime | None = None
) -> AsyncIterator[Row]:
    """One row per receiver of each recognition given in [since, until), oldest first."""
    giver, receiver = people.alias("giver"), people.alias("receiver")
    r = recognitions.c
    query = (
        sa.select(
            r.id.label("recognition_id"),
            r.created_at.label("given_at"),
            giver.c.email.label("giver_email"),
            giver.c.display_name.label("giver_name"),
            giver.c.department.label("giver_department"),
            receiver.c.email.label("receiver_email"),
            receiver.c.display_name.label("receiver_name"),
            receiver.c.department.label("receiver_department"),
            r.amount.label("points"),
            r.value_slugs.label("values"),
            r.reason,
            r.source,
            r.revoked_at,
        )
        .select_from(
            recognitions.join(recognition_receivers, recognition_receivers.c.recognition_id == r.id)
            .join(giver, giver.c.id == r.giver_id)
            .join(receiver, receiver.c.id == recognition_receivers.c.person_id)
        )
        .where(*_within(r.created_at, since, until))
        .order_by(r.id, recognition_receivers.c.position)
    )
    async for row in _stream(engine, query):
        yield row


async def redemption_rows(
    engine: AsyncEngine, since: datetime | None = None, until: datetime | None = None
) -> AsyncIterator[Row]:
    """Requests made in [since, until), oldest first; never a code or an address."""
    requester, approver = people.alias("requester"), people.alias("approver")
    r = redemptions.c
    query = (
        sa.select(
            r.id.label("redemption_id"),
            r.created_at.label("requested_at"),
            requester.c.email,
            requester.c.display_name.label("name"),
            requester.c.department,
            r.item_slug.label("item"),
            catalog_items.c.name.label("item_name"),
            catalog_items.c.kind.label("item_kind"),
            r.variant,
            r.quantity,
            r.points,
            r.status,
            approver.c.email.label("approver_email"),
            r.decided_at,
            r.note,
        )
        .select_from(
            redemptions.join(requester, requester.c.id == r.person_id)
            .join(catalog_items, catalog_items.c.slug == r.item_slug)
            .outerjoin(approver, approver.c.id == r.approver_id)
        )
        .where(*_within(r.created_at, since, until))
        .order_by(r.id)
    )
    async for row in _stream(engine, query):
        yield row


async def balance_rows(engine: AsyncEngine, until: datetime | None = None) -> AsyncIterator[Row]:
    """Each person's accounts: the cached balances, or the sum of the entries before
    `until` (the same numbers for now: cached balances equal the sums of entries)."""
    if until is None:
        source = sa.select(
            accounts.c.kind.label("kind"),
            accounts.c.owner.label("owner"),
            accounts.c.balance.label("balance"),
        ).subquery()
    else:
        source = (
            sa.select(
                entries.c.account_kind.label("kind"),
                entries.c.account_owner.label("owner"),
                sa.func.sum(entries.c.amount).label("balance"),
            )
            .where(entries.c.created_at < until)
            .group_by(entries.c.account_kind, entries.c.account_owner)
            .subquery()
        )
    per_kind = [
        sa.func.coalesce(
            sa.func.sum(sa.case((source.c.kind == kind.value, source.c.balance), else_=0)), 0
        ).label(kind.value)
        for kind in PERSONAL_ACCOUNTS
    ]
    p = people.c
    query = (
        sa.select(
            p.id.label("person_id"),
            p.email,
            p.display_name.label("name"),
            p.department,
            p.active,
            *per_kind,
        )
        .select_from(people.outerjoin(source, source.c.owner == p.id))
        .group_by(p.id, p.email, p.display_name, p.department, p.active)
        .order_by(p.id)
    )
    async for row in _stream(engine, query):
        yield {k: int(v) if k in _ACCOUNT_COLUMNS else v for k, v in row.items()}


async def people_rows(engine: AsyncEngine) -> AsyncIterator[Row]:
    """The directory as laurel holds it (birthdays are left out: they are kept only with
    consent, for celebrations)."""
    manager = people.alias("manager")
    p = people.c
    query = (
        sa.select(
            p.id.label("person_id"),
            p.email,
            p.display_name.label("name"),
            p.handle,
            p.department,
            manager.c.email.label("manager_email"),
            p.hire_date,
            p.active,
            p.locale,
            p.tz,
            p.source,
            p.external_id,
            p.employee_number,
            p.created_at,
        )
        .select_from(people.outerjoin(manager, manager.c.id == p.manager_id))
        .order_by(p.id)
    )
    async with _reading(engine) as conn:
        roles: dict[int, list[str]] = {}
        for person_id, role in await conn.execute(sa.select(person_roles).order_by("role")):
            roles.setdefault(person_id, []).append(role)
        async for row in await conn.stream(query):
            found = dict(row._mapping)
            found["roles"] = roles.get(int(row.person_id), [])
            yield {name: found.get(name) for name in COLUMNS["people"]}


def _within(
    column: sa.ColumnElement[Any], since: datetime | None, until: datetime | None
) -> list[sa.ColumnElement[bool]]:
    bounds = []
    if since is not None:
        bounds.append(column >= since)
    if until is not None:
        bounds.append(column < until)
    return bounds


async def _stream(engine: AsyncEngine, query: sa.Select[Any]) -> AsyncIterator[dict[str, Any]]:
    """Rows as the database hands them over (a server-side cursor on PostgreSQL), so that
    a large export never sits in memory twice."""
    async with _reading(engine) as conn:
        async for row in await conn.stream(query):
            yield dict(row._mapping)


@asynccontextmanager
async def _reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One read-only transaction: SQLite takes no write lock; PostgreSQL reads one snapshot
    for every query (a person's export adds up even while kudos are being given)."""
    async with engine.connect() as conn:
        options: dict[str, Any] = {READONLY: True}
        if conn.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        await conn.execution_options(**options)
        async with conn.begin():
            yield conn


# --------------------------------------------------------------------------- one person


async def person_export(
    engine: AsyncEngine, person_id: int, box: SecretBox | None = None
) -> dict[str, Any]:
    """Everything laurel holds about the person, JSON-able. Gift-card codes are counted,
    never shown; a shipping address is opened only with `box` (else it says "sealed").
    Other people appear by display name only, where the person's own records name them."""
    async with _reading(engine) as conn:
        profile = await _profile(conn, person_id)
        if profile is None:
            raise LookupError(f"no person {person_id}")
        muted = sorted(m for m in str(profile.pop("muted")).split(",") if m)
        exported: dict[str, Any] = _jsonable(
            {
                "profile": profile,
                "settings": {"locale": profile["locale"], "tz": profile["tz"], "muted": muted},
                "roles": await _roles(conn, person_id),
                "identities": await _identities(conn, person_id),
                "teams_accounts": await _teams_accounts(conn, person_id),
                "recognitions_given": await _given(conn, person_id),
                "recognitions_received": await _received(conn, person_id),
                "balances": await _balances(conn, person_id),
                "ledger_entries": await _entries(conn, person_id),
                "holds": await _holds(conn, person_id),
                "redemptions": await _redemptions(conn, person_id, box),
                "decisions": await _decisions(conn, person_id),
                "stats": await _stats(conn, person_id),
                "queued_messages": await _queued(conn, person_id),
                "scim": await _scim(conn, person_id),
                "directory_groups": await _groups(conn, person_id),
                "audit": await _audit(conn, person_id),
            }
        )
    return exported


def erasure_summary(export: Mapping[str, Any]) -> dict[str, int]:
    """What erasing the person would remove or blank, from their export (for a preview)."""
    redeemed = export["redemptions"]
    return {
        "chat identities": len(export["identities"]) + len(export["teams_accounts"]),
        "kudos reasons they wrote": len(export["recognitions_given"]),
        "decision notes they wrote": sum(1 for d in export["decisions"] if d["note"]),
        "gift-card codes issued to them": sum(r["gift_card_codes_issued"] for r in redeemed),
        "shipping addresses": sum(1 for r in redeemed if r["shipping_address"] is not None),
        "queued messages": export["queued_messages"]["total"],
        "provisioning records": int(export["scim"] is not None) + len(export["directory_groups"]),
    }


async def _profile(conn: AsyncConnection, person_id: int) -> dict[str, Any] | None:
    manager = people.alias("manager")
    query = (
        sa.select(people, manager.c.display_name.label("manager_name"))
        .select_from(people.outerjoin(manager, manager.c.id == people.c.manager_id))
        .where(people.c.id == person_id)
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def _roles(conn: AsyncConnection, person_id: int) -> list[str]:
    query = sa.select(person_roles.c.role).where(person_roles.c.person_id == person_id)
    return sorted((await conn.execute(query)).scalars())


async def _identities(conn: AsyncConnection, person_id: int) -> list[dict[str, Any]]:
    i = identities.c
    query = sa.select(i.platform, i.workspace, i.user_id).where(i.person_id == person_id)
    return await _all(conn, query.order_by(i.platform, i.workspace, i.user_id))


async def _teams_accounts(conn: AsyncConnection, person_id: int) -> list[dict[str, Any]]:
    t = teams_users.c
    query = sa.select(
        t.tenant_id, t.aad_object_id, t.member_id, t.conversation_id, t.updated_at
    ).where(t.person_id == person_id)
    return await _all(conn, query.order_by(t.tenant_id, t.aad_object_id))


async def _given(conn: AsyncConnection, person_id: int) -> list[dict[str, Any]]:
    r = recognitions.c
    query = sa.select(
        r.id, r.created_at, r.amount, r.value_slugs, r.reason, r.source, r.revoked_at
    ).where(r.giver_id == person_id)
    found = await _all(conn, query.order_by(r.id))
    names = await _receiver_names(conn, [g["id"] for g in found])
    for gift in found:
        gift["receivers"] = names.get(gift["id"], [])
    return found


async def _receiver_names(conn: AsyncConnection, ids: list[int]) -> dict[int, list[str]]:
    if not ids:
        return {}
    rr = recognition_receivers.c
    query = (
        sa.select(rr.recognition_id, people.c.display_name)
        .join(people, people.c.id == rr.person_id)
        .where(rr.recognition_id.in_(ids))
        .order_by(rr.recognition_id, rr.position)
    )
    names: dict[int, list[str]] = {}
    for recognition_id, name in await conn.execute(query):
        names.setdefault(recognition_id, []).append(name)
    return names


async def _received(conn: AsyncConnection, person_id: int) -> list[dict[str, Any]]:
    r = recognitions.c
    query = (
        sa.select(
            r.id,
            r.created_at,
            people.c.display_name.label("giver"),
            r.amount,
            r.value_slugs,
            r.reason,
            r.source,
            r.revoked_at,
        )
        .join(recognition_receivers, recognition_receivers.c.recognition_id == r.id)
        .join(people, people.c.id == r.giver_id)
        .where(recognition_receivers.c.person_id == person_id)
        .order_by(r.id)
    )
    return await _all(conn, query)


async def _balances(conn: AsyncConnection, person_id: int) -> dict[str, int]:
    query = sa.select(accounts.c.kind, accounts.c.balance).where(accounts.c.owner == person_id)
    return {str(kind): int(balance) for kind, balance in await conn.execute(query)}


async def _entries(conn: AsyncConnection, person_id: int) -> list[dict[str, Any]]:
    """Entries of their own accounts (never transfer keys: a key may quote someone else's
    platform id)."""
    e = entries.c
    query = (
        sa.select(
            e.id,
            e.created_at,
            e.account_kind.label("account"),
            transfers.c.kind.label("transfer"),
            e.amount,
        )
        .join(transfers, transfers.c.id == e.transfer_id)
        .where(e.account_owner == person_id)
        .where(e.account_kind.in_([kind.value for kind in PERSONAL_ACCOUNTS]))
        .order_by(e.id)
    )
    return await _all(conn, query)


async def _holds(conn: AsyncConnection, person_id: int) -> list[dict[str, Any]]:
    h = holds.c
    query = sa.select(h.id, h.amount, h.status, h.created_at, h.resolved_at)
    return await _all(conn, query.where(h.person_id == person_id).order_by(h.id))


async def _redemptions(
    conn: AsyncConnection, person_id: int, box: SecretBox | None
) -> list[dict[str, Any]]:
    r = redemptions.c
    issued = (
        sa.select(sa.func.count())
        .where(gift_card_codes.c.request_key == r.key, gift_card_codes.c.state == "issued")
        .scalar_subquery()
    )
    query = (
        sa.select(
            r.id,
            r.created_at,
            r.item_slug.label("item"),
            catalog_items.c.name.label("item_name"),
            r.variant,
            r.quantity,
            r.points,
            r.status,
            r.decided_at,
            r.note,
            issued.label("gift_card_codes_issued"),
            r.shipping_sealed,
        )
        .join(catalog_items, catalog_items.c.slug == r.item_slug)
        .where(r.person_id == person_id)
        .order_by(r.id)
    )
    found = await _all(conn, query)
    for redemption in found:
        redemption["shipping_address"] = _opened(redemption.pop("shipping_sealed"), box)
    return found


def _opened(sealed: str | None, box: SecretBox | None) -> str | None:
    if sealed is None:
        return None
    if box is None:
        return SEALED
    try:
        return box.open(sealed)
    except SecretsUnavailable:
        return SEALED


async def _decisions(conn: AsyncConnection, person_id: int) -> list[dict[str, Any]]:
    d = decisions.c
    query = sa.select(d.key, d.kind, d.subject, d.outcome, d.decided_at, d.note)
    return await _all(conn, query.where(d.decided_by == person_id).order_by(d.decided_at))


async def _stats(conn: AsyncConnection, person_id: int) -> dict[str, int]:
    query = sa.select(totals.c.role, totals.c.points).where(
        totals.c.person_id == person_id,
        totals.c.bucket == "all",
        totals.c.value_slug == ALL_VALUES,
    )
    found = {str(role): int(points) for role, points in await conn.execute(query)}
    return {f"lifetime_{role.value}": found.get(role.value, 0) for role in StatRole}


async def _queued(conn: AsyncConnection, person_id: int) -> dict[str, int]:
    """How many messages were queued for them (the bodies were shown to them, or will be)."""
    waiting = sa.func.sum(sa.case((outbox.c.delivered_at.is_(None), 1), else_=0))
    query = sa.select(sa.func.count(), sa.func.coalesce(waiting, 0)).where(
        outbox.c.person_id == person_id
    )
    total, waiting = (await conn.execute(query)).one()
    return {"total": int(total), "undelivered": int(waiting)}


async def _scim(conn: AsyncConnection, person_id: int) -> dict[str, Any] | None:
    s = scim_users.c
    query = sa.select(s.user_name, s.document, s.created_at, s.updated_at)
    row = (await conn.execute(query.where(s.person_id == person_id))).mappings().first()
    return dict(row) if row else None


async def _groups(conn: AsyncConnection, person_id: int) -> list[str]:
    query = (
        sa.select(directory_groups.c.display_name)
        .join(directory_group_members, directory_group_members.c.group_id == directory_groups.c.id)
        .where(directory_group_members.c.person_id == person_id)
        .order_by(directory_groups.c.display_name)
    )
    return list((await conn.execute(query)).scalars())


async def _audit(conn: AsyncConnection, person_id: int) -> list[dict[str, Any]]:
    """Audit entries about them or by them (who else acted stays an id, as logged)."""
    a = audit_log.c
    query = (
        sa.select(a.at, a.action, a.subject, a.actor_id, a.platform)
        .where(sa.or_(a.subject == f"person:{person_id}", a.actor_id == person_id))
        .order_by(a.id)
    )
    return await _all(conn, query)


async def _all(conn: AsyncConnection, query: sa.Select[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in (await conn.execute(query)).mappings()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
