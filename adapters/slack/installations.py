"""Multi-workspace install: bolt's installation and OAuth-state stores, in laurel's database.

Installations carry tokens, so each is stored as one MultiFernet-sealed JSON document;
only the workspace ids it is looked up by stay in the clear.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from logging import Logger
from typing import Any

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.dialect import insert
from adapters.persistence.tables import slack_installations, slack_oauth_states
from adapters.secrets import SecretBox

log = logging.getLogger("laurel.slack")
_FIELDS = (
    "app_id",
    "enterprise_id",
    "enterprise_name",
    "team_id",
    "team_name",
    "bot_token",
    "bot_id",
    "bot_user_id",
    "bot_scopes",
    "user_id",
    "user_token",
    "user_scopes",
    "token_type",
    "is_enterprise_install",
    "installed_at",
)


class SqlInstallationStore(AsyncInstallationStore):
    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    @property
    def logger(self) -> Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        data = {f: getattr(installation, f, None) for f in _FIELDS}
        data["bot_scopes"] = ",".join(installation.bot_scopes or [])
        data["user_scopes"] = ",".join(installation.user_scopes or [])
        row = {
            "enterprise_id": installation.enterprise_id or "",
            "team_id": "" if installation.is_enterprise_install else installation.team_id or "",
            "sealed": self._box.seal(json.dumps(data)),
            "installed_at": datetime.now(UTC),
        }
        async with self._engine.begin() as conn:
            stmt = insert(conn, slack_installations).values(row)
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["enterprise_id", "team_id"],
                    set_={"sealed": row["sealed"], "installed_at": row["installed_at"]},
                )
            )

    async def async_save_bot(self, bot: Bot) -> None:
        """Bots are saved as part of their installation."""

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        team = "" if is_enterprise_install else team_id or ""
        async with self._engine.connect() as conn:
            sealed = (
                await conn.execute(
                    sa.select(slack_installations.c.sealed)
                    .where(slack_installations.c.enterprise_id == (enterprise_id or ""))
                    .where(slack_installations.c.team_id == team)
                )
            ).scalar()
        if sealed is None:
            return None
        return Installation(**json.loads(self._box.open(sealed)))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return found.to_bot() if found else None

    async def async_delete_installation(self, **where: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.delete(slack_installations).where(
                    slack_installations.c.enterprise_id == (where.get("enterprise_id") or ""),
                    slack_installations.c.team_id == (where.get("team_id") or ""),
                )
            )

    async def async_delete_bot(self, **where: Any) -> None:
        await self.async_delete_installation(**where)

    async def teams(self) -> list[str]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(slack_installations.c.team_id))
            return [str(team) for team in rows.scalars() if team]


class SqlOAuthStateStore(AsyncOAuthStateStore):
    """One-time `state` values for the install redirect, valid for ten minutes."""

    def __init__(self, engine: AsyncEngine, lifetime: timedelta = timedelta(minutes=10)) -> None:
        self._engine = engine
        self._lifetime = lifetime

    @property
    def logger(self) -> Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.insert(slack_oauth_states).values(
                    state=state, expires_at=datetime.now(UTC) + self._lifetime
                )
            )
        return state

    async def async_consume(self, state: str) -> bool:
        async with self._engine.begin() as conn:
            deleted = await conn.execute(
                sa.delete(slack_oauth_states)
                .where(slack_oauth_states.c.state == state)
                .where(slack_oauth_states.c.expires_at > datetime.now(UTC))
            )
            return deleted.rowcount == 1
