"""`laurel teams package`: the Teams app zip with the operator's app id."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.teams.package import build_package

from .common import configured


@click.group()
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
        app_id = configured().microsoft_app_id
        if not app_id:
            raise click.ClickException("no app id: pass --app-id GUID or set MicrosoftAppId")
    try:
        written = build_package(app_id, out)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{error.filename or out}: {error.strerror or error}") from None
    click.echo(f"wrote {written}")
