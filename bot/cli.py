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
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from adapters.console import demo
from adapters.console.notifier import ConsoleNotifier
from adapters.console.session import ConsoleSession, stdin_lines
from adapters.directory import Parsed
from adapters.directory.csv_source import CsvUnreadable, read_csv
from adapters.i18n import Renderer
from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.teams.package import build_package
from core.commands import SyncDirectory
from core.directory import RowProblem, SyncReport
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
@click.option(
    "--no-scheduler", is_flag=True, help="Leave the scheduler out (run `laurel scheduler` once)."
)
def serve(no_scheduler: bool) -> None:
    """Run the server: Slack, Teams, SCIM, /healthz and /metrics on HOST:PORT, and the
    scheduler."""
    settings = _settings()
    _run(lambda: _serve(settings, scheduler=not no_scheduler))


async def _serve(settings: Settings, *, scheduler: bool) -> None:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    from . import web as web_app  # the chat SDKs load only for the server (laurel chat starts fast)
    from .scheduling import build_scheduler

    runner = web.AppRunner(web_app.build(app), handle_signals=True)
    await runner.setup()
    jobs = build_scheduler(app) if scheduler else None
    try:
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
        except OSError as error:  # not a database problem: say what it is
            raise click.ClickException(
                f"cannot listen on {settings.host}:{settings.port}: {error.strerror}"
            ) from None
        if jobs is not None:
            jobs.start()
        stop = _stop_signal()
        click.echo(
            f"laurel listening on http://{settings.host}:{settings.port}"
            f" (Slack {'on' if settings.slack_enabled else 'off'},"
            f" Teams {'on' if settings.teams_enabled else 'off'},"
            f" scheduler {'on' if jobs else 'off'})"
        )
        await stop.wait()
    finally:
        if jobs is not None:
            jobs.shutdown()
        await runner.cleanup()
        await app.close()


@main.command()
def scheduler() -> None:
    """Run the scheduler alone (allowances, reminders, celebrations, digest, directory sync)."""
    settings = _settings()
    _run(lambda: _scheduler(settings))


async def _scheduler(settings: Settings) -> None:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    from .scheduling import build_scheduler
    from .web import ChatAdapters  # their notifiers deliver what the jobs announce

    chats = ChatAdapters.build(app)
    jobs = build_scheduler(app)
    try:
        jobs.start()
        stop = _stop_signal()
        click.echo(f"laurel scheduler running: {', '.join(j.name for j in jobs.jobs)}")
        await stop.wait()
    finally:
        jobs.shutdown()
        await chats.close()
        await app.close()


def _stop_signal() -> asyncio.Event:
    """Set on SIGINT or SIGTERM. Taken before saying "running", so that a signal sent as
    soon as the line appears stops laurel cleanly instead of killing it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


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


# --- laurel directory: one-off imports of the people directory (docs/operations.md) ---

CSV_SOURCE = "csv"  # the directory source of CSV imports, scheduled (LAUREL_HRMS_CSV) or not


@main.group()
def directory() -> None:
    """The people directory from the HR system (docs/operations.md)."""


@directory.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@click.option(
    "--complete",
    is_flag=True,
    help="FILE lists everyone: deactivate people of earlier CSV imports who are not in it.",
)
def import_directory(file: Path, dry_run: bool, complete: bool) -> None:
    """Create and update people from FILE.csv; exit 1 when some rows had problems."""
    settings = _settings()
    try:
        parsed = read_csv(file)
    except CsvUnreadable as error:
        raise click.ClickException(str(error)) from None
    console = Console(highlight=False)
    report = SyncReport(dry_run=dry_run)
    if parsed.records:  # a file without one valid row changes nothing, even with --complete
        report = _run(lambda: _sync_csv(settings, parsed, console, complete, dry_run))
    problems = sorted([*parsed.problems, *report.problems], key=lambda p: p.row)
    _print_sync_report(console, file, report, problems, Renderer(settings.locale))
    if problems:
        raise SystemExit(1)


async def _sync_csv(
    settings: Settings, parsed: Parsed, console: Console, complete: bool, dry_run: bool
) -> SyncReport:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    try:
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("people", total=len(parsed.records))
            command = SyncDirectory(
                records=tuple(parsed.records),
                source=CSV_SOURCE,
                complete=complete,
                dry_run=dry_run,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                unreadable=parsed.unreadable(),
            )
            report: SyncReport = await app.bus.handle(command)
    finally:
        await app.close()
    return report


def _print_sync_report(
    console: Console, file: Path, report: SyncReport, problems: list[RowProblem], render: Renderer
) -> None:
    if report.dry_run:
        console.print(f"Dry run of {escape(str(file))}: nothing was changed. The import would:")
    else:
        console.print(f"Imported {escape(str(file))}:")
    counts = Table(show_header=False, box=None, padding=(0, 2))
    for label, count in (
        ("created", len(report.created)),
        ("updated", len(report.updated)),
        ("deactivated", len(report.deactivated)),
        ("reactivated", len(report.reactivated)),
        ("unchanged", report.unchanged),
        ("problems", len(problems)),
    ):
        counts.add_row(label, str(count))
    console.print(counts)
    if report.deactivated:
        console.print("deactivated: " + escape(", ".join(report.deactivated)))
    if problems:
        table = Table("row", "email", "problem", title="Rows left out (they changed nothing)")
        for problem in problems:
            table.add_row(str(problem.row), escape(problem.email), escape(render(problem.problem)))
        console.print(table)
