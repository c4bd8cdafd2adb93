"""The `laurel` command line (CONTRACT.md "Commands")."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
from aiohttp import web
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from adapters.console import demo
from adapters.console.notifier import ConsoleNotifier
from adapters.console.session import ConsoleSession, stdin_lines
from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.teams.package import build_package
from core.events import KudosGiven, TierReached
from core.messages import MsgId, text

from . import logs
from .bootstrap import bootstrap
from .settings import ConfigurationError, Settings, load_settings

T = TypeVar("T")


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigurationError as error:
        raise click.ClickException(f"configuration: {error}") from None
    logs.configure(settings.log_format)
    return settings


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(work())
    except (SQLAlchemyError, OSError) as error:
        detail = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise click.ClickException(f"database: {detail}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="laurel")
def main() -> None:
    """laurel: employee recognition for Slack, Microsoft Teams and the terminal."""


@main.command()
@click.option("--as", "as_email", metavar="EMAIL", help="Act as this person.")
@click.option(
    "--demo", "demo_mode", is_flag=True, help="Seed a demo organisation when the database is empty."
)
def chat(as_email: str | None, demo_mode: bool) -> None:
    """Chat with laurel in the terminal (typed, or lines piped on stdin)."""
    settings = _settings()
    console = Console(highlight=False)
    _run(lambda: _chat(settings, console, as_email, demo_mode))


async def _chat(
    settings: Settings, console: Console, as_email: str | None, demo_mode: bool
) -> None:
    app = await bootstrap(settings)
    try:
        notifier = ConsoleNotifier(app.uow)
        session = ConsoleSession(
            bus=app.bus,
            uow=app.uow,
            notifier=notifier,
            console=console,
            default_language=settings.locale,
        )
        if demo_mode and await demo.seed_demo(app.bus, app.uow):
            render = session.renderer(None)
            console.print(
                render(
                    text(MsgId.DEMO_SEEDED, people=len(demo.PEOPLE), departments=demo.DEPARTMENTS)
                )
            )
        app.bus.subscribe(KudosGiven, notifier)  # after seeding: its gifts are not news
        app.bus.subscribe(TierReached, notifier)
        email = as_email or (demo.email(demo.PEOPLE[1][0]) if demo_mode else None)
        if email:
            await session.act_as(email)
        interactive = sys.stdin.isatty()
        if interactive and session.actor is not None:
            welcome = text(MsgId.CONSOLE_WELCOME, name=session.actor.display_name)
            console.print(session.renderer(session.actor)(welcome))
        await session.run(stdin_lines(interactive))
    finally:
        await app.close()


@main.command()
def serve() -> None:
    """Run the server: Slack (when configured), /healthz and /metrics on HOST:PORT."""
    settings = _settings()
    _run(lambda: _serve(settings))


async def _serve(settings: Settings) -> None:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    from . import web as web_app  # the chat SDKs load only for the server (laurel chat starts fast)

    runner = web.AppRunner(web_app.build(app), handle_signals=True)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
        except OSError as error:  # not a database problem: say what it is
            raise click.ClickException(
                f"cannot listen on {settings.host}:{settings.port}: {error.strerror}"
            ) from None
        click.echo(
            f"laurel listening on http://{settings.host}:{settings.port}"
            f" (Slack {'on' if settings.slack_enabled else 'off'})"
        )
        await _until_stopped()
    finally:
        await runner.cleanup()
        await app.close()


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@main.command()
def doctor() -> None:
    """Check configuration, database, migrations, Slack and Teams credentials; say what is wrong."""
    settings = _settings()  # a bad setting already stops here, with its one line
    from .doctor import examine  # loads the chat SDKs, as serve does

    findings = asyncio.run(examine(settings))
    console = Console(highlight=False)
    for finding in findings:
        mark = "[green]ok[/]  " if finding.ok else "[red]FAIL[/]"
        console.print(f"{mark} {finding.check}: {finding.detail}")
    if not all(f.ok for f in findings):
        raise SystemExit(1)


@main.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = _settings()
    _run(lambda: _migrate(settings, lambda engine: migrate.upgrade(engine, revision)))
    click.echo(f"database at {revision}")


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. base)."""
    settings = _settings()
    _run(lambda: _migrate(settings, lambda engine: migrate.downgrade(engine, revision)))
    click.echo(f"database at {revision}")


async def _migrate(settings: Settings, step: Callable[..., Awaitable[None]]) -> None:
    engine = create_engine(settings.database_url)
    try:
        await step(engine)
    finally:
        await engine.dispose()


@main.group()
def teams() -> None:
    """Microsoft Teams: the app package to upload (docs/teams.md)."""


@teams.command()
@click.option(
    "--app-id", metavar="GUID", help="The Azure Bot's Microsoft App ID [default: MicrosoftAppId]."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=Path("laurel-teams.zip"),
    show_default=True,
    help="Where to write the zip.",
)
def package(app_id: str | None, out: Path) -> None:
    """Write the Teams app package zip with the app id filled in."""
    if app_id is None:  # settings only when needed: --app-id works with any configuration
        app_id = _settings().microsoft_app_id
        if not app_id:
            raise click.ClickException("no app id: pass --app-id GUID or set MicrosoftAppId")
    try:
        written = build_package(app_id, out)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{error.filename or out}: {error.strerror or error}") from None
    click.echo(f"wrote {written}")
