"""What every `laurel` command shares: settings or one clear line, and running async work."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from .. import logs
from ..settings import ConfigurationError, Settings, load_settings

T = TypeVar("T")


def configured() -> Settings:
    """The settings, with logging set up; a bad setting stops here with one line."""
    try:
        settings = load_settings()
    except ConfigurationError as error:
        raise click.ClickException(f"configuration: {error}") from None
    logs.configure(settings.log_format)
    return settings


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run async work; an unreachable database is one line, not a traceback."""
    try:
        return asyncio.run(work())
    except (SQLAlchemyError, OSError) as error:
        detail = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise click.ClickException(f"database: {detail}") from None


def stop_signal() -> asyncio.Event:
    """Set on SIGINT or SIGTERM. Taken before saying "running", so that a signal sent as
    soon as the line appears stops laurel cleanly instead of killing it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
