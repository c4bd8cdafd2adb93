"""`laurel catalog import FILE.csv`: fill the rewards shop from a file (docs/admin.md)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adapters.catalog_csv import Unreadable, read_catalog
from core.commands import PutCatalogItem
from core.rewards import CatalogItem

from ..bootstrap import bootstrap
from ..settings import Settings
from .common import configured, run


@click.group()
def catalog() -> None:
    """The rewards catalog (docs/admin.md)."""


@catalog.command("import")
@click.argument("file", type=click.Path(path_type=Path))
def import_catalog(file: Path) -> None:
    """Add or replace the items of FILE.csv (by slug); exit 1 when some rows had problems."""
    settings = configured()
    try:
        found = read_catalog(file)
    except Unreadable as error:
        raise click.ClickException(str(error)) from None
    run(lambda: _put(settings, found.items))
    console = Console(highlight=False)
    console.print(f"{len(found.items)} items imported from {escape(str(file))}.")
    if found.problems:
        table = Table("row", "problem", title="Rows left out (they changed nothing)")
        for line, problem in found.problems:
            table.add_row(str(line), escape(problem))
        console.print(table)
        raise SystemExit(1)


async def _put(settings: Settings, items: list[CatalogItem]) -> None:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    try:
        for item in items:
            await app.bus.handle(PutCatalogItem(item=item))
    finally:
        await app.close()
