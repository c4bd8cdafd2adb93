"""`laurel export …` and `laurel erase person …`: exports and erasure for the operator, for
when chat is unavailable (docs/admin.md "Export and privacy").

The operator holds the database already, so no person is asked for: the audit log records
these as done from the command line (no actor, platform "cli").
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from adapters import exports
from adapters.i18n import Renderer
from adapters.secrets import SecretBox
from core.commands import ErasePerson, RecordExport
from core.errors import DomainError
from core.people import Person
from core.privacy import ErasureReport

from ..bootstrap import App, bootstrap
from ..settings import Settings
from .common import configured, run

CSV_KINDS = tuple(exports.COLUMNS)
Day = click.DateTime(["%Y-%m-%d"])


@click.command("export")
@click.argument("kind", type=click.Choice([*CSV_KINDS, "person"]))
@click.argument("email", required=False)
@click.option("--from", "since", type=Day, help="First day, UTC (recognitions, redemptions).")
@click.option("--to", "until", type=Day, help="Day after the last, UTC (balances: as of then).")
@click.option("--out", type=click.Path(path_type=Path), help="Write here instead of stdout.")
def export(
    kind: str, email: str | None, since: datetime | None, until: datetime | None, out: Path | None
) -> None:
    """CSV of recognitions, balances, redemptions or people; `export person EMAIL`: all
    laurel holds about one person, as JSON. Logged in the audit log."""
    settings = configured()
    console = Console(stderr=True, highlight=False)
    if kind == "person":
        if email is None or since or until:
            raise click.UsageError("export person takes an EMAIL and no dates")
        data = run(lambda: _person(settings, email))
        _write(json.dumps(data, ensure_ascii=False, indent=2).encode() + b"\n", out)
        console.print(f"Everything laurel holds about {escape(email)} written.")
        return
    if email is not None:
        raise click.UsageError(f"export {kind} takes no EMAIL")
    start, end = _utc(since), _utc(until)
    try:
        exports.check_range(kind, start, end)
    except exports.BadRange as error:
        raise click.UsageError(str(error)) from None
    content, count = run(lambda: _csv(settings, kind, start, end, console))
    _write(content, out)
    console.print(f"{count} rows of {kind} written.")


@click.group()
def erase() -> None:
    """Erasure of personal data (GDPR art. 17): irreversible."""


@erase.command("person")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Erase for good; without it, only say what would go.")
def erase_person(email: str, yes: bool) -> None:
    """Pseudonymise the person with this e-mail; their points and history stay, balanced.
    Without --yes it lists what would be erased, changes nothing and exits 1."""
    settings = configured()
    console = Console(highlight=False)
    report = run(lambda: _erase(settings, email, yes, console))
    if report is None:
        console.print("Nothing was erased. Run again with --yes: this cannot be undone.")
        raise SystemExit(1)
    console.print(f"Erased: person {report.person_id} is now a former colleague.")
    _print_counts(console, report.counts())


async def _csv(
    settings: Settings,
    kind: str,
    since: datetime | None,
    until: datetime | None,
    console: Console,
) -> tuple[bytes, int]:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    try:
        found: list[exports.Row] = []
        with _progress(console) as bar:
            task = bar.add_task(kind, total=None)
            async for row in exports.rows(app.engine, kind, since, until):
                found.append(row)
                bar.update(task, completed=len(found))
        await _record(app, kind, kind, since, until)
    finally:
        await app.close()
    return exports.to_csv(found, exports.COLUMNS[kind]), len(found)


async def _person(settings: Settings, email: str) -> dict[str, Any]:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    try:
        person = await _find(app, email)
        box = SecretBox.from_setting(settings.secret_keys) if settings.secret_keys else None
        data = await exports.person_export(app.engine, person.id, box)
        await _record(app, "person", f"person:{person.id}", None, None)
    finally:
        await app.close()
    return data


async def _erase(
    settings: Settings, email: str, yes: bool, console: Console
) -> ErasureReport | None:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    try:
        person = await _find(app, email)
        if not yes:
            summary = exports.erasure_summary(await exports.person_export(app.engine, person.id))
            console.print(
                f"Erasing {escape(person.display_name)} <{escape(person.email)}> "
                f"(person {person.id}) would remove:"
            )
            _print_counts(console, summary)
            return None
        try:
            report: ErasureReport = await app.bus.handle(
                ErasePerson(person_id=person.id, actor_id=None, platform="cli")
            )
        except DomainError as refused:
            raise click.ClickException(Renderer(settings.locale)(refused.text())) from None
    finally:
        await app.close()
    return report


async def _find(app: App, email: str) -> Person:
    async with app.uow(readonly=True) as uow:
        person = await uow.people.by_email(email)
    if person is None:
        raise click.ClickException(f"no person with the e-mail {email}")
    return person


async def _record(
    app: App, kind: str, subject: str, since: datetime | None, until: datetime | None
) -> None:
    await app.bus.handle(
        RecordExport(
            actor_id=None,
            kind=kind,
            subject=subject,
            since=since.date() if since else None,
            until=until.date() if until else None,
            platform="cli",
        )
    )


def _utc(day: datetime | None) -> datetime | None:
    return day.replace(tzinfo=UTC) if day else None


def _progress(console: Console) -> Progress:
    """A spinner and a row count on stderr (stdout may be the export itself)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}: {task.completed} rows"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _write(content: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(content)
    except OSError as error:
        raise click.ClickException(f"{out}: {error}") from None


def _print_counts(console: Console, counts: dict[str, int]) -> None:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for label, count in counts.items():
        table.add_row(label.replace("_", " "), str(count))
    console.print(table)
