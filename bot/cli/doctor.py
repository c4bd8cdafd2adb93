"""`laurel doctor`: one line per check, exit 1 when any fails."""

from __future__ import annotations

import asyncio

import click
from rich.console import Console
from rich.markup import escape

from .. import logs
from ..settings import ConfigurationError, load_settings


@click.command()
def doctor() -> None:
    """Check configuration, database, migrations, secrets, Slack and Teams credentials; say
    what is wrong."""
    console = Console(highlight=False, soft_wrap=True)  # one line per check
    try:
        settings = load_settings()
    except ConfigurationError as error:  # nothing else can be checked without settings
        console.print(f"[red]FAIL[/] configuration: {escape(str(error))}")
        raise SystemExit(1) from None
    logs.configure(settings.log_format)
    from ..doctor import examine  # loads the chat SDKs, as serve does

    findings = asyncio.run(examine(settings))
    for finding in findings:
        mark = "[green]ok[/]  " if finding.ok else "[red]FAIL[/]"
        console.print(f"{mark} {finding.check}: {escape(finding.detail)}")
    if not all(f.ok for f in findings):
        raise SystemExit(1)
