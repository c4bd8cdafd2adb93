"""`laurel db upgrade|downgrade`: Alembic migrations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import click

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine

from ..settings import Settings
from .common import configured, run


@click.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = configured()
    run(lambda: _migrate(settings, lambda engine: migrate.upgrade(engine, revision)))
    click.echo(f"database at {revision}")


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. base)."""
    settings = configured()
    run(lambda: _migrate(settings, lambda engine: migrate.downgrade(engine, revision)))
    click.echo(f"database at {revision}")


async def _migrate(settings: Settings, step: Callable[..., Awaitable[None]]) -> None:
    engine = create_engine(settings.database_url)
    try:
        await step(engine)
    finally:
        await engine.dispose()
