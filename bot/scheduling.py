"""The scheduler's composition: the standard jobs, plus the directory sync when configured.

`laurel serve` runs it beside the web server (unless --no-scheduler); `laurel scheduler`
runs it alone, with the chat adapters' notifiers, for deployments with several replicas.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from adapters.directory import Parsed
from adapters.directory.csv_source import SOURCE, read_csv
from adapters.directory.hrms import client_from_settings
from adapters.scheduler.jobs import standard_jobs
from adapters.scheduler.runner import Scheduler
from core.commands import SyncDirectory
from core.directory import SyncReport

from .bootstrap import App
from .metrics import Metrics
from .settings import Settings

log = logging.getLogger("laurel.scheduler")


def build_scheduler(app: App, metrics: Metrics | None = None) -> Scheduler:
    """The jobs; with `metrics`, each run is counted (laurel_scheduler_runs_total)."""
    jobs = standard_jobs(app.bus, _directory_sync(app))
    if metrics is None:
        return Scheduler(jobs, app.engine)
    metrics.scheduler_jobs([job.name for job in jobs])
    return Scheduler(jobs, app.engine, on_run=metrics.scheduler_run)


def _directory_sync(app: App) -> Callable[[], Awaitable[object]] | None:
    """The scheduled pull of the whole directory (CSV file or HRMS), when one is set: a pull
    is complete, so the source's people who are missing from it have left."""
    source = _source(app.settings)
    if source is None:
        return None
    name, read = source

    async def sync() -> str:
        parsed = await read()
        report: SyncReport = await app.bus.handle(
            SyncDirectory(
                records=tuple(parsed.records),
                source=name,
                complete=True,
                unreadable=parsed.unreadable(),
            )
        )
        problems = [*parsed.problems, *report.problems]
        for problem in problems:
            log.warning("directory row %s (%s): %s", problem.row, problem.email, problem.problem)
        return (
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.deactivated)} deactivated, {len(problems)} problems"
        )

    return sync


def _source(settings: Settings) -> tuple[str, Callable[[], Awaitable[Parsed]]] | None:
    if settings.hrms_csv:
        path = Path(settings.hrms_csv)

        async def from_csv() -> Parsed:
            return read_csv(path)

        return SOURCE, from_csv
    if settings.hrms_url and settings.hrms_token:
        client = client_from_settings(settings.hrms_url, settings.hrms_token)
        return client.name, client.fetch
    return None
