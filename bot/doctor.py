"""`laurel doctor`: check configuration, database, migrations, secrets and chat credentials.

Each check is one Finding: ok or not, and in plain words what was found or what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.persistence.rekey import KINDS, rekey
from adapters.persistence.tables import pending_files
from adapters.secrets import SecretBox
from adapters.slack.client import check_app_token, check_token
from adapters.teams.credentials import check_credentials

from .settings import Settings


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


async def examine(settings: Settings) -> list[Finding]:
    findings = [_configuration(settings)]
    findings += await _database(settings)
    findings += await _slack(settings)
    findings.append(await _teams(settings))
    findings.append(_directory(settings))
    return findings


def _configuration(settings: Settings) -> Finding:
    """Settings that load are valid (a bad one stops doctor before this, with its name)."""
    on = [
        name
        for name, enabled in (
            ("Slack", settings.slack_enabled),
            ("Teams", settings.teams_enabled),
            ("SCIM", bool(settings.scim_token)),
        )
        if enabled
    ]
    platforms = ", ".join(on) if on else "no chat platform"
    migrating = (
        "`laurel serve` migrates on start"
        if settings.auto_migrate
        else "migrations are left to `laurel db upgrade` (LAUREL_AUTO_MIGRATE=0)"
    )
    return Finding("configuration", True, f"settings are valid; {platforms} on; {migrating}")


async def _database(settings: Settings) -> list[Finding]:
    engine = create_engine(settings.database_url)
    backend = engine.url.get_backend_name()
    try:
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            current, head = await migrate.current_revision(engine), migrate.head_revision()
        except Exception as error:  # any failure to answer is the finding itself
            detail = str(getattr(error, "orig", None) or error).splitlines()[0]
            where = engine.url.render_as_string(hide_password=True)
            return [Finding("database", False, f"{where} does not answer: {detail}")]
        alone = " (one laurel process only: use PostgreSQL for replicas)"
        findings = [
            Finding("database", True, f"{backend} answers" + (alone if backend == "sqlite" else ""))
        ]
        findings.append(_migrations(current, head))
        if current == head:  # the tables that hold secrets are all there
            findings.append(await _secrets(settings, engine))
        return findings
    finally:
        await engine.dispose()


def _migrations(current: str | None, head: str | None) -> Finding:
    if current == head:
        return Finding("migrations", True, f"at {current}, the newest")
    if current is not None and not migrate.is_known(current):
        return Finding(
            "migrations",
            False,
            f"the database is at {current}, which this laurel does not know: a newer laurel "
            "migrated it; run that version (or downgrade the database with it)",
        )
    return Finding(
        "migrations",
        False,
        f"at {current or 'nothing'}, head is {head}: run `laurel db upgrade`",
    )


async def _secrets(settings: Settings, engine: AsyncEngine) -> Finding:
    if not settings.secret_keys:
        stored = await _sealed_count(engine)
        if stored:
            return Finding(
                "secrets",
                False,
                f"LAUREL_SECRET_KEYS is not set, yet the database holds {stored} sealed "
                "secrets (gift-card codes, shipping addresses, Slack installations, files): "
                "set the keys they were sealed with",
            )
        return Finding(
            "secrets",
            True,
            "LAUREL_SECRET_KEYS is not set; it is needed before gift-card codes, shipping "
            "addresses or Slack installations can be stored (`laurel secrets new-key`)",
        )
    box = SecretBox.from_setting(settings.secret_keys)
    tallies = await rekey(engine, box, apply=False)
    stored = sum(t.total for t in tallies)
    lost = sum(t.unopenable for t in tallies)
    older = sum(t.resealed for t in tallies)
    keys = f"{box.key_count} key{'s' if box.key_count > 1 else ''}"
    if lost:
        return Finding(
            "secrets",
            False,
            f"{lost} of {stored} stored secrets open with none of the {keys} in "
            "LAUREL_SECRET_KEYS: a key was removed or replaced; put it back after the first",
        )
    if older:
        return Finding(
            "secrets",
            True,
            f"{keys}; {older} of {stored} stored secrets are not sealed with the first key "
            "yet: run `laurel secrets rotate` before removing an older key",
        )
    if not stored:
        return Finding("secrets", True, f"{keys}; nothing is sealed yet")
    return Finding("secrets", True, f"{keys}; all {stored} stored secrets use the first key")


async def _sealed_count(engine: AsyncEngine) -> int:
    total = 0
    async with engine.connect() as conn:
        for kind in KINDS:
            query = sa.select(sa.func.count()).select_from(kind.table)
            if kind.where is not None:
                query = query.where(kind.where)
            if kind.table is pending_files:  # a file kept before keys were set is plain
                query = query.where(pending_files.c.sealed.is_(True))
            total += int((await conn.execute(query)).scalar_one())
    return total


async def _slack(settings: Settings) -> list[Finding]:
    if not settings.slack_enabled:
        return [Finding("slack", True, "off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)")]
    if settings.slack_oauth:
        found = Finding("slack", True, "multi-workspace install; tokens come from the database")
    else:
        ok, detail = await check_token(settings.slack_bot_token, settings.slack_api_url)
        found = Finding("slack", ok, detail)
    if not settings.slack_app_token:
        return [found]
    ok, detail = await check_app_token(settings.slack_app_token, settings.slack_api_url)
    return [found, Finding("slack socket mode", ok, detail)]


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


def _directory(settings: Settings) -> Finding:
    if settings.hrms_csv:
        path = Path(settings.hrms_csv)
        if not path.is_file():
            return Finding(
                "directory",
                False,
                f"LAUREL_HRMS_CSV names {path}, which is not a file here (the scheduler "
                "reads it every 6 hours)",
            )
        try:
            with path.open("rb") as file:
                file.read(1)
        except OSError as error:
            return Finding("directory", False, f"cannot read {path}: {error.strerror}")
        return Finding("directory", True, f"the scheduler syncs {path} every 6 hours")
    if settings.hrms_url and settings.hrms_token:
        return Finding("directory", True, f"the scheduler pulls {settings.hrms_url} every 6 hours")
    if settings.hrms_url:
        return Finding("directory", False, "LAUREL_HRMS_URL needs LAUREL_HRMS_TOKEN too")
    return Finding("directory", True, "no scheduled sync (LAUREL_HRMS_CSV or LAUREL_HRMS_URL)")
