"""`laurel doctor`: one line per check, exit 1 when any fails."""

from __future__ import annotations

import asyncio

import click
from rich.console import Console

from .common import configured


@click.command()
def doctor() -> None:
    """Check configuration, database, migrations, Slack and Teams credentials; say what is wrong."""
    settings = configured()  # a bad setting already stops here, with its one line
    from ..doctor import examine  # loads the chat SDKs, as serve does

    findings = asyncio.run(examine(settings))
    console = Console(highlight=False)
    for finding in findings:
        mark = "[green]ok[/]  " if finding.ok else "[red]FAIL[/]"
        console.print(f"{mark} {finding.check}: {finding.detail}")
    if not all(f.ok for f in findings):
        raise SystemExit(1)
