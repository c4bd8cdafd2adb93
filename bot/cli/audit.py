"""`laurel audit verify|show`: the hash-chained audit log (docs/admin.md "Audit log").

Both only read: neither migrates nor writes, so they are safe on a restored backup too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from adapters.persistence.audit import AuditVerdict, UnreadableRow, verify_chain
from adapters.persistence.engine import create_engine
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.audit import EDITED, AuditRecord

from ..settings import Settings
from .common import configured, run


@click.group()
def audit() -> None:
    """The audit log of admin changes, decisions, exports and erasures (docs/admin.md)."""


@audit.command()
def verify() -> None:
    """Check that no row was edited, deleted or reordered; exit 1 naming the first bad row."""
    settings = configured()
    console = Console(highlight=False)
    verdict = run(lambda: _verify(settings, console))
    if not verdict.ok:
        raise click.ClickException(broken_line(verdict))
    console.print(f"Audit log intact: {verdict.checked} entries")
    if verdict.checked:
        # Rows cut from the end leave no gap in the chain: compare with the hash noted last time.
        console.print(f"Newest hash: {verdict.head}")


def broken_line(verdict: AuditVerdict) -> str:
    if verdict.reason == EDITED:
        why = "its content no longer matches its hash"
    elif verdict.previous_id is None:
        why = "it should be the first row, yet it points to an earlier one"
    else:
        why = f"its prev_hash is not the hash of row {verdict.previous_id}"
    return f"Audit log broken at row {verdict.bad_id}: {verdict.reason} ({why})"


async def _verify(settings: Settings, console: Console) -> AuditVerdict:
    engine = create_engine(settings.database_url)
    try:
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("audit log", total=None)
            return await verify_chain(
                engine, lambda done, total: bar.update(task, completed=done, total=total)
            )
    finally:
        await engine.dispose()


@audit.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def show(since: datetime | None, limit: int) -> None:
    """The newest entries first."""
    settings = configured()
    start = since.replace(tzinfo=UTC) if since else None
    try:
        records = run(lambda: _since(settings, start, limit))
    except UnreadableRow as error:
        raise click.ClickException(f"{error}; run `laurel audit verify`") from None
    table = Table("#", "when (UTC)", "actor", "action", "subject", "platform", "change")
    for r in records:
        table.add_row(*(escape(cell) for cell in _cells(r)))
    Console(highlight=False).print(table)


async def _since(settings: Settings, start: datetime | None, limit: int) -> list[AuditRecord]:
    engine = create_engine(settings.database_url)
    try:
        async with SqlUnitOfWorkFactory(engine)(readonly=True) as uow:
            return await uow.audit.since(start, limit=limit)
    finally:
        await engine.dispose()


def _cells(record: AuditRecord) -> list[str]:
    e = record.entry
    return [
        str(record.id),
        e.at.strftime("%Y-%m-%d %H:%M:%S"),
        "system" if e.actor_id is None else f"person:{e.actor_id}",
        e.action,
        e.subject,
        e.platform,
        f"{_state(e.before)} -> {_state(e.after)}",
    ]


def _state(state: Mapping[str, object] | None) -> str:
    return "-" if state is None else json.dumps(state, sort_keys=True, ensure_ascii=False)
