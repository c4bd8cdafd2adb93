"""Logging set-up: readable in a terminal, JSON lines for log collectors (LAUREL_LOG_FORMAT)."""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter
from rich.logging import RichHandler


def configure(log_format: str, level: int = logging.WARNING) -> None:
    handler: logging.Handler
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler = RichHandler(show_path=False, rich_tracebacks=True)
    logging.basicConfig(level=level, handlers=[handler], force=True)
