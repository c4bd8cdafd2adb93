"""`laurel directory import`: one-off imports of the people directory (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from adapters.directory import Parsed
from adapters.directory.csv_source import SOURCE, CsvUnreadable, read_csv
from adapters.i18n import Renderer
from core.commands import SyncDirectory
from core.directory import RowProblem, SyncReport

from ..bootstrap import bootstrap
from ..settings import Settings
from .common import configured, run


@click.group()
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
    settings = configured()
    try:
        parsed = read_csv(file)
    except CsvUnreadable as error:
        raise click.ClickException(str(error)) from None
    console = Console(highlight=False)
    report = SyncReport(dry_run=dry_run)
    if parsed.records:  # a file without one valid row changes nothing, even with --complete
        report = run(lambda: _sync_csv(settings, parsed, console, complete, dry_run))
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
                source=SOURCE,
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
