"""Logging set-up: readable in a terminal, JSON lines for log collectors (LAUREL_LOG_FORMAT)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter
from rich.logging import RichHandler

# Libraries whose DEBUG lines carry whole request and response bodies or SQL parameters:
# messages with gift-card codes and shipping addresses. They log warnings and errors only.
CHATTY = ("slack_sdk", "slack_bolt", "botbuilder", "msrest", "aiosqlite", "sqlalchemy.engine")


def hush_sdks() -> None:
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure(log_format: str, level: int = logging.WARNING) -> None:
    handler: logging.Handler
    if log_format == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    elif sys.stderr.isatty():
        # Plain tracebacks: rich's highlighted ones cost about a second of CPU each, on the
        # event loop, which under a burst of failures stalls the server.
        handler = RichHandler(show_path=False, rich_tracebacks=False)
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    hush_sdks()
