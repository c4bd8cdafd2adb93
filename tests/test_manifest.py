"""The Slack app manifest (app_manifest.yml): valid against Slack's published schema, and in
step with what the Slack adapter (adapters/slack/app.py) listens to.

The schema check runs shared/validators/validate_manifests.py, which lives beside the
repository (in CI the repository is cloned next to a copy of shared/); without that folder
the check is skipped.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.app import GLOBAL_SHORTCUT, MESSAGE_SHORTCUT

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install PyYAML jsonschema)")

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "app_manifest.yml"
APP_PY = REPO / "adapters" / "slack" / "app.py"
VALIDATORS = Path(__file__).resolve().parents[2] / "shared" / "validators"
REQUEST_PATH = "/slack/events"

# What adapters/slack/app.py registers: @app.event(...) names as bot events in the manifest
# (the "message" listener serves DMs to the app, i.e. message.im), and @app.command(...).
ADAPTER_EVENTS = {
    "app_home_opened",
    "app_mention",
    "member_joined_channel",
    "message.im",
    "reaction_added",
    "reaction_removed",
}
ADAPTER_COMMANDS = {"/kudos", "/kudos-admin"}
MANIFEST_COMMANDS = {"/kudos", "/kudos-admin"}  # /kudos-admin: declared ahead of its handler


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_manifest_passes_slacks_schema() -> None:
    script = VALIDATORS / "validate_manifests.py"
    if not script.is_file():
        pytest.skip(f"{script} is absent: clone the repository next to a copy of shared/")
    done = subprocess.run(
        [sys.executable, str(script), str(REPO), "--schemas-dir", str(VALIDATORS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "manifests: OK" in done.stdout, report


def test_the_hard_coded_lists_match_app_py() -> None:
    """Keeps the sets above honest: a listener added to app.py must be added here too."""
    source = APP_PY.read_text(encoding="utf-8")
    events = set(re.findall(r'@app\.event\("([^"]+)"\)', source))
    commands = set(re.findall(r'@app\.command\("([^"]+)"\)', source))
    assert {"message.im" if e == "message" else e for e in events} == ADAPTER_EVENTS
    assert commands == ADAPTER_COMMANDS


def test_every_event_the_adapter_handles_is_subscribed(manifest: dict[str, Any]) -> None:
    bot_events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert set(bot_events) == ADAPTER_EVENTS
    assert len(bot_events) == len(set(bot_events))


def test_slash_commands(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == MANIFEST_COMMANDS
    assert set(commands) >= ADAPTER_COMMANDS
    for command in commands.values():
        assert command["should_escape"] is True, command["command"]  # mentions as <@U…>


def test_both_shortcuts_are_declared(manifest: dict[str, Any]) -> None:
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert shortcuts[GLOBAL_SHORTCUT]["type"] == "global"
    assert shortcuts[MESSAGE_SHORTCUT]["type"] == "message"
    assert GLOBAL_SHORTCUT == "laurel_give_kudos"
    assert MESSAGE_SHORTCUT == "laurel_give_kudos_message"


def test_every_request_url_is_the_one_slack_route(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [c["url"] for c in manifest["features"]["slash_commands"]]
    urls.append(settings["event_subscriptions"]["request_url"])
    assert settings["interactivity"]["is_enabled"] is True
    urls.append(settings["interactivity"]["request_url"])
    for url in urls:
        assert url.startswith("https://"), url
        assert url.endswith(REQUEST_PATH), url


def test_app_home_and_messages_tab(manifest: dict[str, Any]) -> None:
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True  # app_home_opened publishes the Home tab
    assert home["messages_tab_enabled"] is True  # message.im: people write to laurel
    assert home["messages_tab_read_only_enabled"] is False


def test_oauth_install_asks_for_the_manifests_scopes(manifest: dict[str, Any]) -> None:
    from adapters.slack.app import BOT_SCOPES

    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])
