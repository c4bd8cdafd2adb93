"""`laurel serve` and `laurel scheduler`: the long-running processes."""

from __future__ import annotations

import gc
from contextlib import AsyncExitStack

import click
from aiohttp import web

from ..bootstrap import bootstrap
from ..settings import Settings
from .common import configured, run, stop_signal


@click.command()
@click.option(
    "--no-scheduler", is_flag=True, help="Leave the scheduler out (run `laurel scheduler` once)."
)
def serve(no_scheduler: bool) -> None:
    """Run the server: Slack, Teams, SCIM, /healthz and /metrics on HOST:PORT, and the
    scheduler."""
    settings = configured()
    run(lambda: _serve(settings, scheduler=not no_scheduler))


async def _serve(settings: Settings, *, scheduler: bool) -> None:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    from .. import (
        web as web_app,
    )  # the chat SDKs load only for the server (laurel chat starts fast)
    from ..metrics import Metrics
    from ..scheduling import build_scheduler

    metrics = Metrics()  # one per process: the server's requests and its scheduler's runs
    metrics.subscribe(app.bus)
    runner = web.AppRunner(web_app.build(app, metrics), handle_signals=True)
    await runner.setup()
    # Everything built so far lives as long as the process: out of the collector's sight,
    # full collections no longer walk it while requests wait (a p99 latency cost).
    gc.collect()
    gc.freeze()
    jobs = build_scheduler(app, metrics) if scheduler else None
    try:
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
        except OSError as error:  # not a database problem: say what it is
            raise click.ClickException(
                f"cannot listen on {settings.host}:{settings.port}: {error.strerror}"
            ) from None
        if jobs is not None:
            jobs.start()
        stop = stop_signal()
        click.echo(
            f"laurel listening on http://{settings.host}:{settings.port}"
            f" (Slack {'on' if settings.slack_enabled else 'off'},"
            f" Teams {'on' if settings.teams_enabled else 'off'},"
            f" scheduler {'on' if jobs else 'off'})"
        )
        await stop.wait()
    finally:
        if jobs is not None:
            await jobs.stop()
        await runner.cleanup()
        await app.close()


@click.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Also serve /metrics and /healthz on HOST:PORT (the scheduler has no other port).",
)
def scheduler(metrics_port: int | None) -> None:
    """Run the scheduler alone (allowances, reminders, celebrations, digest, directory sync)."""
    settings = configured()
    run(lambda: _scheduler(settings, metrics_port))


async def _scheduler(settings: Settings, metrics_port: int | None) -> None:
    app = await bootstrap(settings, migrate_db=settings.auto_migrate)
    from ..metrics import Metrics, listener
    from ..scheduling import build_scheduler
    from ..web import ChatAdapters  # their notifiers deliver what the jobs announce

    metrics = Metrics()
    metrics.subscribe(app.bus)
    chats = ChatAdapters.build(app, metrics)
    jobs = build_scheduler(app, metrics)
    try:
        async with AsyncExitStack() as stack:
            if metrics_port is not None:
                try:
                    await stack.enter_async_context(
                        listener(metrics, app.engine, settings.host, metrics_port)
                    )
                except OSError as error:
                    raise click.ClickException(
                        f"cannot listen on {settings.host}:{metrics_port}: {error.strerror}"
                    ) from None
            jobs.start()
            stop = stop_signal()
            where = (
                f"; metrics on http://{settings.host}:{metrics_port}/metrics"
                if metrics_port
                else ""
            )
            click.echo(f"laurel scheduler running: {', '.join(j.name for j in jobs.jobs)}{where}")
            await stop.wait()
            await jobs.stop()  # before the listener goes: its last runs are still counted
    finally:
        await jobs.stop()
        await chats.close()
        await app.close()
