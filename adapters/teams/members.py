"""The Teams users laurel can reach: member id, tenant service URL and personal chat.

Teams only lets a bot message someone proactively with what an earlier activity told
it: the user's member id, the tenant's service URL, the bot's own id and, once it
exists, the personal conversation. Every activity refreshes that record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.dialect import insert
from adapters.persistence.tables import teams_users


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamsMember:
    tenant_id: str
    aad_object_id: str
    member_id: str
    person_id: int
    service_url: str
    bot_id: str
    conversation_id: str | None = None


class MemberStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._seen: dict[tuple[str, str], TeamsMember] = {}  # what this process last wrote

    async def remember(self, member: TeamsMember) -> None:
        """Store what an activity taught us; a known personal chat is never forgotten."""
        key = (member.tenant_id, member.aad_object_id)
        if member.conversation_id is None and (seen := self._seen.get(key)):
            member = replace(member, conversation_id=seen.conversation_id)
        if self._seen.get(key) == member:
            return
        values = {
            "member_id": member.member_id,
            "person_id": member.person_id,
            "service_url": member.service_url,
            "bot_id": member.bot_id,
            "updated_at": datetime.now(UTC),
        }
        if member.conversation_id is not None:
            values["conversation_id"] = member.conversation_id
        async with self._engine.begin() as conn:
            stmt = insert(conn, teams_users).values(
                tenant_id=member.tenant_id, aad_object_id=member.aad_object_id, **values
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["tenant_id", "aad_object_id"], set_=values
                )
            )
        self._seen[key] = member

    async def person_of(self, tenant_id: str, member_id: str) -> int | None:
        query = sa.select(teams_users.c.person_id).where(
            teams_users.c.tenant_id == tenant_id, teams_users.c.member_id == member_id
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(query.limit(1))).scalar_one_or_none()

    async def of_person(self, person_id: int) -> TeamsMember | None:
        """The person's most recently seen Teams account, preferring one with a chat."""
        query = (
            sa.select(teams_users)
            .where(teams_users.c.person_id == person_id)
            .order_by(
                teams_users.c.conversation_id.is_(None),
                teams_users.c.updated_at.desc(),
            )
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return TeamsMember(
            tenant_id=row.tenant_id,
            aad_object_id=row.aad_object_id,
            member_id=row.member_id,
            person_id=row.person_id,
            service_url=row.service_url,
            bot_id=row.bot_id,
            conversation_id=row.conversation_id,
        )
