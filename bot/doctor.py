"""`laurel doctor`: check configuration, database, migrations and chat credentials."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.slack.client import check_token
from adapters.teams.credentials import check_credentials

from .settings import Settings


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


async def examine(settings: Settings) -> list[Finding]:
    findings = await _database(settings)
    findings.append(await _slack(settings))
    findings.append(await _teams(settings))
    return findings


async def _database(settings: Settings) -> list[Finding]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        current, head = await migrate.current_revision(engine), migrate.head_revision()
    except Exception as error:  # any failure to answer is the finding itself
        detail = str(getattr(error, "orig", None) or error).splitlines()[0]
        return [Finding("database", False, detail)]
    finally:
        await engine.dispose()
    at_head = current == head
    return [
        Finding("database", True, f"{engine.url.get_backend_name()} answers"),
        Finding(
            "migrations",
            at_head,
            f"at {current or 'nothing'}"
            + ("" if at_head else f", head is {head}: run `laurel db upgrade`"),
        ),
    ]


async def _slack(settings: Settings) -> Finding:
    if not settings.slack_enabled:
        return Finding("slack", True, "off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)")
    if settings.slack_oauth:
        return Finding("slack", True, "multi-workspace install; tokens come from the database")
    ok, detail = await check_token(settings.slack_bot_token, settings.slack_api_url)
    return Finding("slack", ok, detail)


async def _teams(settings: Settings) -> Finding:
    if settings.teams_insecure_dev:
        return Finding("teams", False, "LAUREL_TEAMS_INSECURE_DEV=1: no authentication")
    if not settings.microsoft_app_id:
        return Finding("teams", True, "off (set MicrosoftAppId and MicrosoftAppPassword)")
    if settings.microsoft_app_type == "UserAssignedMSI":
        return Finding("teams", True, "managed identity: tokens come from Azure at run time")
    ok, detail = await check_credentials(
        settings.microsoft_app_id,
        settings.microsoft_app_password or "",
        settings.microsoft_app_tenant_id,
    )
    return Finding("teams", ok, detail)
