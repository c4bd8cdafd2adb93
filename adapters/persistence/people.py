"""People, their roles and chat identities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import TransientStoreError
from core.ledger import PERSONAL_ACCOUNTS
from core.people import Identity, NewPerson, PeoplePage, Person, Role

from .dialect import insert
from .tables import accounts, identities, people, person_roles, teams_users

# People come with their roles in one query, a row per role (a round trip to the
# database costs more than the repeated columns). Read on every command, so built once.
# Every column a Person is made of: not created_at, which no Person holds and whose
# decoding (a timestamp per row) every gift paid for.
_PERSON_COLUMNS = [c for c in people.c if c.name != "created_at"]
_WITH_ROLES = sa.select(*_PERSON_COLUMNS, person_roles.c.role.label("role")).select_from(
    people.outerjoin(person_roles, person_roles.c.person_id == people.c.id)
)
_BY_ID = _WITH_ROLES.where(people.c.id == sa.bindparam("id"))
_BY_IDS = _WITH_ROLES.where(people.c.id.in_(sa.bindparam("ids", expanding=True)))
_ROLES = sa.select(person_roles).where(
    person_roles.c.person_id.in_(sa.bindparam("ids", expanding=True))
)


class SqlPeople:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, person_id: int) -> Person | None:
        return (await self._with_roles(_BY_ID, {"id": person_id})).get(person_id)

    async def get_many(self, person_ids: list[int]) -> dict[int, Person]:
        if not person_ids:
            return {}
        return await self._with_roles(_BY_IDS, {"ids": person_ids})

    async def by_email(self, email: str) -> Person | None:
        return _only(await self._load(people.c.email == email.strip().casefold()))

    async def by_handle(self, handle: str) -> Person | None:
        return _only(await self._load(people.c.handle == handle.casefold()))

    async def by_identity(self, identity: Identity) -> Person | None:
        owner = (
            sa.select(identities.c.person_id)
            .where(identities.c.platform == identity.platform)
            .where(identities.c.workspace == identity.workspace)
            .where(identities.c.user_id == identity.user_id)
        )
        return _only(await self._load(people.c.id == owner.scalar_subquery()))

    async def add(self, person: NewPerson, *, handle: str, manager_id: int | None) -> Person:
        row = {
            "email": person.email,
            "handle": handle,
            "display_name": person.display_name,
            "tz": person.tz,
            "locale": person.locale,
            "department": person.department,
            "manager_id": manager_id,
            "hire_date": person.hire_date,
            "birthday": person.birthday,
            "active": person.active,
            "is_bot": person.is_bot,
            "created_at": datetime.now(UTC),
            "source": person.source,
            "external_id": person.external_id,
            "employee_number": person.employee_number,
        }
        claim = (
            insert(self._conn, people).values(row).on_conflict_do_nothing().returning(people.c.id)
        )
        person_id = (await self._conn.execute(claim)).scalar()
        if person_id is None:  # someone added the same e-mail or handle a moment ago
            raise TransientStoreError(f"person {person.email} added concurrently")
        await self._conn.execute(
            sa.insert(person_roles),
            [{"person_id": person_id, "role": role.value} for role in sorted(person.roles)],
        )
        await self._conn.execute(
            sa.insert(accounts),
            [{"kind": kind.value, "owner": person_id, "balance": 0} for kind in PERSONAL_ACCOUNTS],
        )
        found = await self.get(person_id)
        assert found is not None
        return found

    async def set_roles(self, person_id: int, roles: frozenset[Role]) -> None:
        await self._conn.execute(
            sa.delete(person_roles).where(person_roles.c.person_id == person_id)
        )
        if roles:
            await self._conn.execute(
                sa.insert(person_roles),
                [{"person_id": person_id, "role": role.value} for role in sorted(roles)],
            )

    async def set_muted(self, person_id: int, muted: frozenset[str]) -> None:
        await self._conn.execute(
            sa.update(people).where(people.c.id == person_id).values(muted=",".join(sorted(muted)))
        )

    async def set_locale(self, person_id: int, locale: str | None) -> None:
        await self._conn.execute(
            sa.update(people).where(people.c.id == person_id).values(locale=locale)
        )

    async def update(self, person: Person) -> None:
        await self._conn.execute(
            sa.update(people)
            .where(people.c.id == person.id)
            .values(
                email=person.email,
                display_name=person.display_name,
                tz=person.tz,
                department=person.department,
                manager_id=person.manager_id,
                hire_date=person.hire_date,
                birthday=person.birthday,
                active=person.active,
                is_bot=person.is_bot,
                source=person.source,
                external_id=person.external_id,
                employee_number=person.employee_number,
            )
        )

    async def by_external_id(self, source: str, external_id: str) -> Person | None:
        return _only(
            await self._load(
                sa.and_(people.c.source == source, people.c.external_id == external_id)
            )
        )

    async def ids_from_source(self, source: str) -> list[int]:
        stmt = sa.select(people.c.id).where(people.c.source == source).order_by(people.c.id)
        return [int(i) for i in (await self._conn.execute(stmt)).scalars()]

    async def page(
        self, *, offset: int, limit: int, email: str | None, external_id: str | None
    ) -> PeoplePage:
        where: sa.ColumnElement[bool] = sa.true()
        if email is not None:
            where = sa.and_(where, people.c.email == email.strip().casefold())
        if external_id is not None:
            where = sa.and_(where, people.c.external_id == external_id)
        total = (
            await self._conn.execute(sa.select(sa.func.count()).select_from(people).where(where))
        ).scalar_one()
        query = sa.select(people).where(where).order_by(people.c.id).offset(offset).limit(limit)
        found = await self._load(query)
        return PeoplePage(total=int(total), people=list(found.values()))

    async def link_identity(self, person_id: int, identity: Identity) -> None:
        stmt = insert(self._conn, identities).values(
            platform=identity.platform,
            workspace=identity.workspace,
            user_id=identity.user_id,
            person_id=person_id,
        )
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["platform", "workspace", "user_id"],
                set_={"person_id": person_id},
            )
        )

    async def identities(self, person_id: int, platform: str) -> list[Identity]:
        rows = await self._conn.execute(
            sa.select(identities.c.workspace, identities.c.user_id)
            .where(identities.c.person_id == person_id)
            .where(identities.c.platform == platform)
        )
        return [Identity(platform=platform, workspace=w, user_id=u) for w, u in rows]

    async def identities_of(self, person_ids: Sequence[int]) -> dict[int, list[Identity]]:
        rows = await self._conn.execute(
            sa.select(
                identities.c.person_id,
                identities.c.platform,
                identities.c.workspace,
                identities.c.user_id,
            ).where(identities.c.person_id.in_(list(person_ids)))
        )
        found: dict[int, list[Identity]] = {}
        for person_id, platform, workspace, user_id in rows:
            identity = Identity(platform=platform, workspace=workspace, user_id=user_id)
            found.setdefault(person_id, []).append(identity)
        return found

    async def direct_report_count(self, manager_id: int) -> int:
        stmt = (
            sa.select(sa.func.count())
            .where(people.c.manager_id == manager_id)
            .where(people.c.active.is_(True))
        )
        return int((await self._conn.execute(stmt)).scalar_one())

    async def direct_report_counts(self) -> dict[int, int]:
        stmt = (
            sa.select(people.c.manager_id, sa.func.count())
            .where(people.c.manager_id.is_not(None))
            .where(people.c.active.is_(True))
            .group_by(people.c.manager_id)
        )
        return {int(m): int(n) for m, n in await self._conn.execute(stmt)}

    async def time_zones(self) -> set[str]:
        stmt = sa.select(people.c.tz).where(people.c.active.is_(True)).distinct()
        return set((await self._conn.execute(stmt)).scalars())

    async def departments(self) -> set[str]:
        department = sa.func.coalesce(people.c.department, "")
        stmt = sa.select(department).where(people.c.active.is_(True)).distinct()
        return set((await self._conn.execute(stmt)).scalars())

    async def active_people(self) -> list[Person]:
        """Two queries whatever the headcount (no id list: drivers cap bound parameters)."""
        active = people.c.active.is_(True)
        rows = (await self._conn.execute(sa.select(people).where(active))).mappings().all()
        roles: dict[int, set[Role]] = {row["id"]: set() for row in rows}
        held = sa.select(person_roles.c.person_id, person_roles.c.role).join(
            people, people.c.id == person_roles.c.person_id
        )
        for person_id, role in await self._conn.execute(held.where(active)):
            roles[person_id].add(Role(role))
        return [_person(row, roles[row["id"]]) for row in rows]

    async def lock(self, person_id: int) -> None:
        if self._conn.dialect.name == "postgresql":  # SQLite's writers are serialised already
            stmt = sa.select(people.c.id).where(people.c.id == person_id).with_for_update()
            await self._conn.execute(stmt)

    async def with_role(self, role: Role) -> list[int]:
        stmt = (
            sa.select(people.c.id)
            .join(person_roles, person_roles.c.person_id == people.c.id)
            .where(person_roles.c.role == role.value, people.c.active.is_(True))
            .order_by(people.c.id)
        )
        return [int(i) for i in (await self._conn.execute(stmt)).scalars()]

    async def count(self) -> int:
        return int(
            (await self._conn.execute(sa.select(sa.func.count()).select_from(people))).scalar_one()
        )

    async def pseudonymise(self, person_id: int, *, name: str, email: str, handle: str) -> None:
        cleared = dict.fromkeys(_PERSONAL_FIELDS)
        await self._conn.execute(
            sa.update(people)
            .where(people.c.id == person_id)
            .values(
                **cleared,
                display_name=name,
                email=email,
                handle=handle,
                tz="UTC",
                muted="",
                active=False,
            )
        )
        await self._conn.execute(
            sa.delete(person_roles).where(
                person_roles.c.person_id == person_id, person_roles.c.role != Role.EMPLOYEE.value
            )
        )
        employee = {"person_id": person_id, "role": Role.EMPLOYEE.value}
        stmt = insert(self._conn, person_roles).values(employee).on_conflict_do_nothing()
        await self._conn.execute(stmt)

    async def forget_identities(self, person_id: int) -> frozenset[str]:
        """Chat identities, and the Teams records a proactive message needs (member id,
        personal chat): every id among them is returned."""
        chat = sa.select(identities.c.user_id).where(identities.c.person_id == person_id)
        teams = sa.select(
            teams_users.c.aad_object_id, teams_users.c.member_id, teams_users.c.conversation_id
        ).where(teams_users.c.person_id == person_id)
        ids = set((await self._conn.execute(chat)).scalars())
        for row in await self._conn.execute(teams):
            ids.update(value for value in row if value)
        await self._conn.execute(sa.delete(identities).where(identities.c.person_id == person_id))
        await self._conn.execute(sa.delete(teams_users).where(teams_users.c.person_id == person_id))
        return frozenset(ids)

    async def _load(self, where: sa.ColumnElement[bool] | sa.Select[Any]) -> dict[int, Person]:
        """The people `where` selects; a ready query (a page, with its LIMIT) reads its
        people first and their roles second."""
        if not isinstance(where, sa.Select):
            return await self._with_roles(_WITH_ROLES.where(where), {})
        rows = (await self._conn.execute(where)).mappings().all()
        if not rows:
            return {}
        ids = [row["id"] for row in rows]
        roles: dict[int, set[Role]] = {i: set() for i in ids}
        role_rows = await self._conn.execute(_ROLES, {"ids": ids})
        for person_id, role in role_rows:
            roles[person_id].add(Role(role))
        return {row["id"]: _person(row, roles[row["id"]]) for row in rows}

    async def _with_roles(self, query: sa.Select[Any], params: dict[str, Any]) -> dict[int, Person]:
        found: dict[int, tuple[Any, set[Role]]] = {}
        for row in (await self._conn.execute(query, params)).mappings():
            _, roles = found.setdefault(row["id"], (row, set()))
            if row["role"] is not None:
                roles.add(Role(row["role"]))
        return {person_id: _person(row, roles) for person_id, (row, roles) in found.items()}


# What erasure clears (set to NULL) besides the name, e-mail and handle it replaces.
_PERSONAL_FIELDS = (
    "locale",
    "department",
    "manager_id",
    "hire_date",
    "birthday",
    "source",
    "external_id",
    "employee_number",
)


def _person(row: Any, roles: set[Role]) -> Person:
    return Person(
        id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        handle=row["handle"],
        tz=row["tz"],
        locale=row["locale"],
        department=row["department"],
        manager_id=row["manager_id"],
        hire_date=row["hire_date"],
        birthday=row["birthday"],
        roles=frozenset(roles),
        active=row["active"],
        is_bot=row["is_bot"],
        external_id=row["external_id"],
        employee_number=row["employee_number"],
        source=row["source"],
        muted=frozenset(k for k in row["muted"].split(",") if k),
    )


def _only(found: dict[int, Person]) -> Person | None:
    return next(iter(found.values()), None)
