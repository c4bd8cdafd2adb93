"""`laurel catalog import FILE.csv`: fill the rewards shop from a file (docs/admin.md)."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adapters.catalog_csv import Unreadable, read_catalog, read_codes
from adapters.exports import inert
from adapters.persistence.gift_cards import GiftCardVault
from adapters.secrets import SecretBox
from core.commands import PutCatalogItem
from core.rewards import CatalogItem, ItemKind

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


@catalog.command("codes")
@click.argument("item")
@click.argument("file", type=click.Path(path_type=Path))
def add_codes(item: str, file: Path) -> None:
    """Add gift-card codes for ITEM from FILE (one per line, or the first CSV column),
    sealed with LAUREL_SECRET_KEYS; codes already known are skipped."""
    settings = configured()
    if not settings.secret_keys:
        raise click.ClickException("set LAUREL_SECRET_KEYS first: codes are stored encrypted")
    try:
        plain = read_codes(file.read_bytes())
    except (OSError, Unreadable) as error:
        raise click.ClickException(f"{file}: {error}") from None
    added = run(lambda: _add_codes(settings, item, plain))
    click.echo(f"{added} codes added to {item} ({len(plain) - added} already known).")


async def _add_codes(settings: Settings, item: str, plain: list[str]) -> int:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    try:
        async with app.uow(readonly=True) as uow:
            found = await uow.catalog.get(item)
        if found is None or found.kind is not ItemKind.GIFT_CARD:
            raise click.ClickException(f"{item} is not a gift card in the catalog")
        vault = GiftCardVault(app.engine, SecretBox.from_setting(settings.secret_keys))
        return await vault.add(item, plain)
    finally:
        await app.close()


@catalog.command("report")
@click.argument("kind", type=click.Choice(["cash_out", "charity"]))
@click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC).")
@click.option("--to", "until", type=click.DateTime(["%Y-%m-%d"]), help="Day after the last.")
def report(kind: str, since: datetime | None, until: datetime | None) -> None:
    """CSV on stdout of approved cash-out requests (for payroll: laurel pays nothing) or
    charity donations (for finance), by the day they were approved."""
    settings = configured()
    start = (since or datetime(1970, 1, 1)).replace(tzinfo=UTC)
    end = (until or datetime(9999, 1, 1)).replace(tzinfo=UTC)
    rows = run(lambda: _approved(settings, ItemKind(kind), start, end))
    out = csv.writer(sys.stdout)
    out.writerow(["request", "approved_at", "email", "name", "item", "quantity", "points", "value"])
    out.writerows([[inert(cell) for cell in row] for row in rows])


async def _approved(
    settings: Settings, kind: ItemKind, since: datetime, until: datetime
) -> list[list[object]]:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    try:
        async with app.uow(readonly=True) as uow:
            items = {i.slug: i for i in await uow.catalog.items() if i.kind is kind}
            found = await uow.redemptions.approved(list(items), since, until)
            people = await uow.people.get_many(sorted({r.person_id for r in found}))
            policy = (await uow.config.load()).policy
    finally:
        await app.close()

    def value(points: int) -> str:
        """The points' worth at the organisation's rate (empty when none is set)."""
        if not policy.point_value_cents:
            return ""
        cents = points * policy.point_value_cents
        return f"{cents // 100}.{cents % 100:02d} {policy.currency}"

    return [
        [
            r.id,
            r.decided_at.isoformat() if r.decided_at else "",
            people[r.person_id].email,
            people[r.person_id].display_name,
            items[r.item_slug].name,
            r.quantity,
            r.points,
            value(r.points),
        ]
        for r in found
    ]
