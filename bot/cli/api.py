"""`laurel api token create|list|revoke`: tokens of the read API (docs/admin.md "Read API")."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from adapters.api.scopes import SCOPES
from adapters.persistence.api_tokens import ApiToken, ApiTokens, TokenNameTaken

from ..bootstrap import bootstrap
from ..settings import Settings
from .common import configured, run

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
T = TypeVar("T")


@click.group()
def api() -> None:
    """The read-only REST API under /api/v1 (docs/admin.md)."""


@api.group()
def token() -> None:
    """Bearer tokens of the API, each with explicit scopes."""


@token.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="What the token may read; repeat for several.",
)
def create(name: str, scopes: tuple[str, ...]) -> None:
    """Create token NAME and print it, once: only its hash is kept."""
    if not NAME.fullmatch(name):
        raise click.ClickException("NAME: 1 to 64 letters, digits, dots, dashes or underscores")
    settings = configured()
    try:
        secret = run(lambda: _with_tokens(settings, lambda t: t.create(name, scopes, at=_now())))
    except TokenNameTaken:
        raise click.ClickException(f"a token named {name} exists already") from None
    click.echo(secret)  # alone on stdout, so that a script can capture it
    click.echo(
        f"Token {name} ({', '.join(sorted(set(scopes)))}): copy it now, "
        "it will not be shown again.",
        err=True,
    )


@token.command("list")
def listing() -> None:
    """The tokens, their scopes and when they were last used (never their secrets)."""
    settings = configured()
    tokens = run(lambda: _with_tokens(settings, lambda t: t.listing()))
    console = Console(highlight=False)
    if not tokens:
        console.print("No API tokens yet: laurel api token create NAME --scope …")
        return
    table = Table("name", "scopes", "created", "last used", "state", title="API tokens")
    for found in tokens:
        table.add_row(
            escape(found.name),
            ", ".join(sorted(found.scopes)),
            _when(found.created_at),
            _when(found.last_used_at),
            _state(found),
        )
    console.print(table)


@token.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke token NAME at once; it keeps its name in the list."""
    settings = configured()
    if not run(lambda: _with_tokens(settings, lambda t: t.revoke(name, at=_now()))):
        raise click.ClickException(f"no live token named {name}")
    click.echo(f"Token {name} revoked.")


async def _with_tokens(settings: Settings, work: Callable[[ApiTokens], Awaitable[T]]) -> T:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    try:
        return await work(ApiTokens(app.engine))
    finally:
        await app.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _state(found: ApiToken) -> str:
    return f"revoked {_when(found.revoked_at)}" if found.revoked_at else "live"
