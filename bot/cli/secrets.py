"""`laurel secrets rotate|new-key`: key rotation for LAUREL_SECRET_KEYS (docs/operations.md
"Key rotation")."""

from __future__ import annotations

import click
from cryptography.fernet import Fernet
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from adapters.persistence.engine import create_engine
from adapters.persistence.rekey import Tally, rekey
from adapters.secrets import SecretBox

from ..settings import Settings
from .common import configured, run


@click.group()
def secrets() -> None:
    """The keys that seal gift-card codes, shipping addresses and Slack installations."""


@secrets.command("new-key")
def new_key() -> None:
    """Print a new key, to put first in LAUREL_SECRET_KEYS."""
    click.echo(Fernet.generate_key().decode())


@secrets.command()
@click.option("--dry-run", is_flag=True, help="Count what would be re-sealed; change nothing.")
def rotate(dry_run: bool) -> None:
    """Re-seal every stored secret with the first key of LAUREL_SECRET_KEYS, so that the
    keys after it can be removed. Safe while laurel runs, and to run again."""
    settings = configured()
    if not settings.secret_keys:
        raise click.ClickException("LAUREL_SECRET_KEYS is not set: there is nothing to rotate")
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    tallies = run(lambda: _rotate(settings, err, apply=not dry_run))
    table = Table("secrets", "stored", "first key", "would re-seal" if dry_run else "re-sealed")
    table.add_column("no key opens")
    for t in tallies:
        table.add_row(t.what, *(str(n) for n in (t.total, t.current, t.resealed, t.unopenable)))
    console.print(table)
    lost = sum(t.unopenable for t in tallies)
    left = sum(t.resealed for t in tallies)
    if dry_run:
        console.print(
            f"Dry run: nothing was changed. {left} secrets are still sealed with an older key."
            if left
            else "Dry run: every secret laurel opens is sealed with the first key."
        )
    elif not lost:
        console.print("Every stored secret is sealed with the first key now.")
    if lost:
        raise click.ClickException(
            f"{lost} secrets open with none of the keys in LAUREL_SECRET_KEYS: put back the "
            "key they were sealed with (after the first), then run this again"
        )
    if not dry_run and len(settings.secret_keys.split(",")) > 1:
        console.print("The keys after the first can be removed from LAUREL_SECRET_KEYS.")


async def _rotate(settings: Settings, console: Console, *, apply: bool) -> list[Tally]:
    assert settings.secret_keys
    box = SecretBox.from_setting(settings.secret_keys)
    engine = create_engine(settings.database_url)
    try:
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(what: str, done: int, total: int) -> None:
                if what not in tasks:
                    tasks[what] = bar.add_task(what, total=total)
                bar.update(tasks[what], completed=done, total=total)

            return await rekey(engine, box, apply=apply, progress=progress)
    finally:
        await engine.dispose()
