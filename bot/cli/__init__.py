"""The `laurel` command line (CONTRACT.md "Commands"), one module per command."""

from __future__ import annotations

import click

from . import (
    api,
    audit,
    catalog,
    chat,
    database,
    directory,
    doctor,
    privacy,
    secrets,
    server,
    teams,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="laurel")
def main() -> None:
    """laurel: employee recognition for Slack, Microsoft Teams and the terminal."""


for command in (
    chat.chat,
    server.serve,
    server.scheduler,
    directory.directory,
    catalog.catalog,
    audit.audit,
    privacy.export,
    privacy.erase,
    database.db,
    teams.teams,
    doctor.doctor,
    api.api,
    secrets.secrets,
):
    main.add_command(command)
