"""`laurel serve` loads the Bot Framework SDK and the SCIM models only when they are used.

Together they are about a fifth of the server's resident memory (docs/benchmarks.md,
"Memory"), so a Slack-only installation must not pay for them. Each check runs in a fresh
interpreter: in this one, other tests have long imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# What Teams (botbuilder and its dependencies) and SCIM (scim2-models) bring in.
TEAMS = ("botbuilder", "botframework", "msrest", "msal", "adapters.teams.app")
SCIM = ("scim2_models", "lark", "adapters.scim.app")

# `laurel serve` up to its listening socket: the entry point, bootstrap, the app factory
# and the scheduler, on a fresh SQLite database. Prints the top modules then loaded.
SERVE = """
import asyncio, json, sys

from bot.cli import main  # the `laurel` entry point, as the console script imports it
from bot.bootstrap import bootstrap
from bot.settings import Settings


async def build() -> list[str]:
    app = await bootstrap(Settings())
    from bot import web
    from bot.metrics import Metrics
    from bot.scheduling import build_scheduler

    metrics = Metrics()
    web_app = web.build(app, metrics)
    build_scheduler(app, metrics)
    routes = sorted({r.resource.canonical for r in web_app.router.routes() if r.resource})
    await web_app.cleanup()  # closes the chat clients
    await app.close()
    return routes


routes = asyncio.run(build())
print(json.dumps({"modules": sorted(sys.modules), "routes": routes}))
"""


def serve_imports(tmp_path: Path, **env: str) -> tuple[set[str], list[str]]:
    """(modules loaded, routes) of `laurel serve` configured with `env` alone."""
    ours = ("SLACK_", "Microsoft", "LAUREL_", "DATABASE_URL")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    environment.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/serve.db", **env)
    done = subprocess.run(
        [sys.executable, "-c", SERVE],
        cwd=tmp_path,  # no stray .env
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    return set(found["modules"]), found["routes"]


def _under(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules for p in packages if m == p or m.startswith(f"{p}."))


SLACK_ONLY = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"}


def test_slack_only_serve_imports_neither_botbuilder_nor_scim(tmp_path: Path) -> None:
    modules, routes = serve_imports(tmp_path, **SLACK_ONLY)
    assert _under(modules, TEAMS) == []
    assert _under(modules, SCIM) == []
    assert "/slack/events" in routes and "/api/messages" not in routes


def test_teams_and_scim_load_when_configured(tmp_path: Path) -> None:
    """The control: the same check sees them, and their routes, once they are configured."""
    modules, routes = serve_imports(
        tmp_path, **SLACK_ONLY, LAUREL_TEAMS_INSECURE_DEV="1", LAUREL_SCIM_TOKEN="scim-token"
    )
    assert {"botbuilder.core", "adapters.teams.app", "scim2_models"} <= modules
    assert "/api/messages" in routes
    assert any(route.startswith("/scim/v2") for route in routes)
