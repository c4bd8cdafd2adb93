"""This adapter's own tables: SCIM's view of provisioned people, and directory groups.

The core owns people; SCIM adds what only SCIM needs (the identity provider's `userName`
and the rest of its representation) and the groups, which the core has no concept of yet.
Each method is one short transaction on the engine, after (or instead of) the core's.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.persistence.dialect import insert
from adapters.persistence.tables import directory_group_members as members
from adapters.persistence.tables import directory_groups as groups
from adapters.persistence.tables import scim_users


class UserNameTaken(Exception):
    """Another provisioned person already has that userName."""


def name_key(value: str) -> str:
    """How userNames compare: case-insensitively (RFC 7643 userName is not caseExact)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", value).lower())


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredUser:
    person_id: int
    user_name: str
    document: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredGroup:
    id: int
    display_name: str
    external_id: str | None
    member_ids: tuple[int, ...]


class ScimStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # --- users -------------------------------------------------------------------------

    async def user(self, person_id: int) -> StoredUser | None:
        found = await self.users([person_id])
        return found.get(person_id)

    async def users(self, person_ids: Iterable[int]) -> dict[int, StoredUser]:
        ids = list(person_ids)
        if not ids:
            return {}
        stmt = sa.select(scim_users).where(scim_users.c.person_id.in_(ids))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return {int(row["person_id"]): _user(row) for row in rows}

    async def user_named(self, user_name: str) -> StoredUser | None:
        stmt = sa.select(scim_users).where(scim_users.c.user_name_key == name_key(user_name))
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return _user(row) if row else None

    async def user_page(self, *, offset: int, limit: int) -> tuple[int, list[StoredUser]]:
        """Provisioned people in id order, and how many there are."""
        count = sa.select(sa.func.count()).select_from(scim_users)
        page = sa.select(scim_users).order_by(scim_users.c.person_id).offset(offset).limit(limit)
        async with self._engine.connect() as conn:
            total = (await conn.execute(count)).scalar_one()
            rows = (await conn.execute(page)).mappings().all() if limit else []
        return int(total), [_user(row) for row in rows]

    async def put_user(self, person_id: int, user_name: str, document: dict[str, Any]) -> None:
        """Insert or replace the person's SCIM row; `UserNameTaken` if the name is another's."""
        now = datetime.now(UTC)
        values = {
            "person_id": person_id,
            "user_name": user_name,
            "user_name_key": name_key(user_name),
            "document": document,
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with self._engine.begin() as conn:
                stmt = insert(conn, scim_users).values(**values)
                changed = {k: v for k, v in values.items() if k not in ("person_id", "created_at")}
                await conn.execute(
                    stmt.on_conflict_do_update(index_elements=["person_id"], set_=changed)
                )
        except IntegrityError as error:
            raise UserNameTaken(user_name) from error

    async def remove_user(self, person_id: int) -> bool:
        """Forget the person over SCIM (row and group memberships); False if unknown."""
        async with self._engine.begin() as conn:
            await conn.execute(sa.delete(members).where(members.c.person_id == person_id))
            done = await conn.execute(
                sa.delete(scim_users).where(scim_users.c.person_id == person_id)
            )
        return bool(done.rowcount)

    # --- groups ------------------------------------------------------------------------

    async def group(self, group_id: int) -> StoredGroup | None:
        found = await self._groups(groups.c.id == group_id, offset=0, limit=1)
        return found[0] if found else None

    async def group_page(
        self,
        *,
        offset: int,
        limit: int,
        display_name: str | None = None,
        external_id: str | None = None,
    ) -> tuple[int, list[StoredGroup]]:
        """Groups in id order; only those with that display name (in any case) or external id."""
        where: sa.ColumnElement[bool] = sa.true()
        if display_name is not None:
            where = sa.func.lower(groups.c.display_name) == display_name.lower()
        if external_id is not None:
            where = sa.and_(where, groups.c.external_id == external_id)
        count = sa.select(sa.func.count()).select_from(groups).where(where)
        async with self._engine.connect() as conn:
            total = (await conn.execute(count)).scalar_one()
        page = await self._groups(where, offset=offset, limit=limit) if limit else []
        return int(total), page

    async def add_group(
        self, *, display_name: str, external_id: str | None, member_ids: Iterable[int]
    ) -> int:
        async with self._engine.begin() as conn:
            stmt = sa.insert(groups).values(display_name=display_name, external_id=external_id)
            group_id = int((await conn.execute(stmt.returning(groups.c.id))).scalar_one())
            await _set_members(conn, group_id, set(member_ids))
        return group_id

    async def replace_group(
        self, group_id: int, *, display_name: str, external_id: str | None, member_ids: set[int]
    ) -> bool:
        """Replace the group's name, external id and members; False if it is unknown."""
        async with self._engine.begin() as conn:
            stmt = (
                sa.update(groups)
                .where(groups.c.id == group_id)
                .values(display_name=display_name, external_id=external_id)
            )
            if not (await conn.execute(stmt)).rowcount:
                return False
            await _set_members(conn, group_id, member_ids)
        return True

    async def remove_group(self, group_id: int) -> bool:
        async with self._engine.begin() as conn:
            await conn.execute(sa.delete(members).where(members.c.group_id == group_id))
            done = await conn.execute(sa.delete(groups).where(groups.c.id == group_id))
        return bool(done.rowcount)

    async def _groups(
        self, where: sa.ColumnElement[bool], *, offset: int, limit: int
    ) -> list[StoredGroup]:
        page = sa.select(groups).where(where).order_by(groups.c.id).offset(offset).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(page)).mappings().all()
            ids = [int(row["id"]) for row in rows]
            stmt = (
                sa.select(members.c.group_id, members.c.person_id)
                .where(members.c.group_id.in_(ids))
                .order_by(members.c.group_id, members.c.person_id)
            )
            pairs = (await conn.execute(stmt)).all() if ids else []
        held: dict[int, list[int]] = {group_id: [] for group_id in ids}
        for group_id, person_id in pairs:
            held[int(group_id)].append(int(person_id))
        return [
            StoredGroup(
                id=int(row["id"]),
                display_name=row["display_name"],
                external_id=row["external_id"],
                member_ids=tuple(held[int(row["id"])]),
            )
            for row in rows
        ]


async def _set_members(conn: AsyncConnection, group_id: int, wanted: set[int]) -> None:
    """Change only the memberships that differ: big groups change one member at a time."""
    stmt = sa.select(members.c.person_id).where(members.c.group_id == group_id)
    current = {int(i) for i in (await conn.execute(stmt)).scalars()}
    gone = current - wanted
    if gone:
        await conn.execute(
            sa.delete(members).where(members.c.group_id == group_id, members.c.person_id.in_(gone))
        )
    new = wanted - current
    if new:
        await conn.execute(
            sa.insert(members), [{"group_id": group_id, "person_id": p} for p in sorted(new)]
        )


def _user(row: Any) -> StoredUser:
    return StoredUser(
        person_id=int(row["person_id"]),
        user_name=row["user_name"],
        document=dict(row["document"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
