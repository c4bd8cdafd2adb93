"""The `laurel` command line: what it lists, and one clear line on bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LAUREL = str(Path(sys.executable).with_name("laurel"))


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(env)
    return subprocess.run(
        [LAUREL, *args], cwd=cwd, capture_output=True, text=True, env=environment, timeout=60
    )


def test_help_lists_the_commands_that_exist(tmp_path: Path) -> None:
    done = run("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "chat" in done.stdout and "db" in done.stdout
    db = run("db", "--help", cwd=tmp_path)
    assert "upgrade" in db.stdout and "downgrade" in db.stdout


def test_bad_database_url_is_one_clear_line(tmp_path: Path) -> None:
    done = run("db", "upgrade", cwd=tmp_path, DATABASE_URL="mysql://nope")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "Error: configuration: DATABASE_URL: use one of postgresql+asyncpg, "
        "sqlite+aiosqlite, not mysql"
    ]


def test_bad_language_setting_is_refused(tmp_path: Path) -> None:
    done = run("chat", cwd=tmp_path, LAUREL_LOCALE="xx")
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1
    assert "LAUREL_LOCALE" in done.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    done = run(
        "db", "upgrade", cwd=tmp_path, DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("Error: database:")


def test_db_upgrade_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    assert run("db", "upgrade", cwd=tmp_path, DATABASE_URL=url).returncode == 0
    assert run("db", "downgrade", "base", cwd=tmp_path, DATABASE_URL=url).returncode == 0
    assert run("db", "upgrade", cwd=tmp_path, DATABASE_URL=url).stdout.strip() == "database at head"


def test_doctor_finds_what_is_wrong(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/doctor.db"
    behind = run("doctor", cwd=tmp_path, DATABASE_URL=url)
    assert behind.returncode == 1
    assert "FAIL migrations: at nothing, head is" in behind.stdout
    assert "ok   slack: off" in behind.stdout
    run("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    healthy = run("doctor", cwd=tmp_path, DATABASE_URL=url)
    assert healthy.returncode == 0, healthy.stdout
    assert "ok   database: sqlite answers" in healthy.stdout
    down = run("doctor", cwd=tmp_path, DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert down.returncode == 1 and "FAIL database:" in down.stdout


async def test_doctor_checks_the_slack_token(tmp_path: Path) -> None:
    import asyncio

    from .slack_fake import FakeSlackApi

    url = f"sqlite+aiosqlite:///{tmp_path}/doctor.db"
    run("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    async with FakeSlackApi() as api:
        env = {"DATABASE_URL": url, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": api.url}
        good = await asyncio.to_thread(run, "doctor", cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-t", **env)
        api.fail("auth.test", status=200, error="invalid_auth")
        bad = await asyncio.to_thread(run, "doctor", cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-t", **env)
    assert good.returncode == 0 and "ok   slack: bot" in good.stdout
    assert bad.returncode == 1
    assert "FAIL slack: the bot token is refused: invalid_auth" in bad.stdout


def test_doctor_checks_teams(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/doctor.db"
    run("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    off = run("doctor", cwd=tmp_path, DATABASE_URL=url)
    assert "ok   teams: off" in off.stdout
    insecure = run("doctor", cwd=tmp_path, DATABASE_URL=url, LAUREL_TEAMS_INSECURE_DEV="1")
    assert insecure.returncode == 1
    assert "FAIL teams: LAUREL_TEAMS_INSECURE_DEV=1" in insecure.stdout
    # Microsoft's login service refuses (or, offline, cannot be reached): either way no token.
    refused = run(
        "doctor",
        cwd=tmp_path,
        DATABASE_URL=url,
        MicrosoftAppId="6f1c2a4e-1b2c-4d5e-8f90-123456789abc",
        MicrosoftAppPassword="wrong",
        MicrosoftAppType="SingleTenant",
        MicrosoftAppTenantId="00000000-0000-0000-0000-000000000001",
    )
    assert refused.returncode == 1
    assert "FAIL teams: no Bot Framework token for app 6f1c2a4e" in refused.stdout


def test_doctor_says_what_is_wrong_with_the_configuration(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/doctor.db"
    bad_key = run("doctor", cwd=tmp_path, DATABASE_URL=url, LAUREL_SECRET_KEYS="not-a-key")
    assert bad_key.returncode == 1
    assert bad_key.stdout.startswith("FAIL configuration: LAUREL_SECRET_KEYS: Fernet key must be")
    assert len(bad_key.stdout.strip().splitlines()) == 1
    run("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    fine = run("doctor", cwd=tmp_path, DATABASE_URL=url, LAUREL_AUTO_MIGRATE="0")
    assert fine.returncode == 0, fine.stdout
    assert "ok   configuration: settings are valid; no chat platform on; migrations are" in (
        fine.stdout
    )
    assert "ok   directory: no scheduled sync" in fine.stdout
    missing = run("doctor", cwd=tmp_path, DATABASE_URL=url, LAUREL_HRMS_CSV="people.csv")
    assert missing.returncode == 1
    assert "FAIL directory: LAUREL_HRMS_CSV names people.csv, which is not a file here" in (
        missing.stdout
    )
    (tmp_path / "people.csv").write_text("email,name\n", encoding="utf-8")
    found = run("doctor", cwd=tmp_path, DATABASE_URL=url, LAUREL_HRMS_CSV="people.csv")
    assert "ok   directory: the scheduler syncs people.csv every 6 hours" in found.stdout


def test_doctor_notices_a_database_migrated_by_a_newer_laurel(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite+aiosqlite:///{tmp_path}/doctor.db"
    run("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    with sqlite3.connect(tmp_path / "doctor.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    ahead = run("doctor", cwd=tmp_path, DATABASE_URL=url)
    assert ahead.returncode == 1
    assert (
        "FAIL migrations: the database is at 9999_from_the_future, which this laurel does "
        "not know: a newer laurel migrated it" in ahead.stdout
    )


async def test_doctor_checks_the_socket_mode_token(tmp_path: Path) -> None:
    import asyncio

    from .slack_fake import FakeSlackApi

    url = f"sqlite+aiosqlite:///{tmp_path}/doctor.db"
    run("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    async with FakeSlackApi() as api:
        api.handle("apps.connections.open", lambda args: {"ok": True, "url": "wss://fake"})
        env = {
            "DATABASE_URL": url,
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_BOT_TOKEN": "xoxb-t",
            "SLACK_APP_TOKEN": "xapp-t",
            "SLACK_API_URL": api.url,
        }
        good = await asyncio.to_thread(run, "doctor", cwd=tmp_path, **env)
        api.fail("apps.connections.open", status=200, error="invalid_auth")
        bad = await asyncio.to_thread(run, "doctor", cwd=tmp_path, **env)
    assert good.returncode == 0, good.stdout
    assert "ok   slack socket mode: Socket Mode: Slack accepts the app-level token" in good.stdout
    assert bad.returncode == 1
    assert (
        "FAIL slack socket mode: the app-level token (SLACK_APP_TOKEN) is refused: invalid_auth"
        in bad.stdout
    )
