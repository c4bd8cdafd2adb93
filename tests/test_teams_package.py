"""The Teams app package (`laurel teams package`): valid against Microsoft's published schema,
the operator's app id in both of its places, bad ids refused, and the bot's command menu in
step with the chat grammar of CONTRACT.md.

The schema check runs shared/validators/validate_manifests.py, which lives beside the
repository (like tests/test_manifest.py); without that folder the check is skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from adapters.chat.grammar import VERBS
from adapters.teams.package import DEFAULT_SOURCE, TEMPLATE_ID, build_package
from bot.cli import main

VALIDATORS = Path(__file__).resolve().parents[2] / "shared" / "validators"
APP_ID = "1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b"

# The verbs of CONTRACT.md "Chat grammar", by hand: a verb added there must be added here.
GRAMMAR_VERBS = {
    "kudos",
    "balance",
    "history",
    "leaderboard",
    "shop",
    "redeem",
    "redemptions",
    "cancel",
    "values",
    "lang",
    "help",
    "approvals",
    "admin",
    "settings",  # one's own reminders (the Scheduler issue), beside the contract's grammar
}
# Teams shows at most 12 commands per list (the schema's maxItems), so two verbs stay out of
# the menu: `redemptions` and `cancel REDEMPTION`, which the `shop` card leads to.
MENU = GRAMMAR_VERBS - {"cancel", "redemptions"}
SCOPES = {"personal", "team", "groupChat"}


def _manifest_in(package: Path) -> dict[str, Any]:
    with zipfile.ZipFile(package) as zf:
        data = json.loads(zf.read("manifest.json").decode("utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def package(tmp_path: Path) -> Path:
    folder = tmp_path / "package"
    folder.mkdir()
    return build_package(APP_ID, folder / "laurel-teams.zip")


def test_the_package_passes_the_teams_schema(package: Path) -> None:
    script = VALIDATORS / "validate_manifests.py"
    if not script.is_file():
        pytest.skip(f"{script} is absent: clone the repository next to a copy of shared/")
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            str(package.parent),
            "--schemas-dir",
            str(VALIDATORS),
            "--require-teams",
            "--no-require-slack",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "manifests: OK" in done.stdout, report
    assert "checked teams laurel-teams.zip" in done.stderr, report


def test_the_package_holds_the_manifest_and_icons_at_its_root(package: Path) -> None:
    with zipfile.ZipFile(package) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        for name in ("color.png", "outline.png"):
            assert zf.read(name) == (DEFAULT_SOURCE / name).read_bytes()


def test_the_app_id_is_filled_in_everywhere(package: Path) -> None:
    manifest = _manifest_in(package)
    assert manifest["id"] == APP_ID
    assert [bot["botId"] for bot in manifest["bots"]] == [APP_ID]
    assert [e["botId"] for e in manifest["composeExtensions"]] == [APP_ID]
    assert TEMPLATE_ID not in json.dumps(manifest)
    # The file in the repository keeps the template, so that it validates as it is.
    template = json.loads((DEFAULT_SOURCE / "manifest.json").read_text(encoding="utf-8"))
    assert template["id"] == template["bots"][0]["botId"] == TEMPLATE_ID


@pytest.mark.parametrize("bad", ["nope", "", APP_ID[:-1], APP_ID + "0", "{" + APP_ID + "}"])
def test_a_bad_app_id_is_refused_and_nothing_is_written(tmp_path: Path, bad: str) -> None:
    out = tmp_path / "laurel-teams.zip"
    done = CliRunner().invoke(main, ["teams", "package", "--app-id", bad, "--out", str(out)])
    assert done.exit_code == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: app id {bad!r} is not a GUID: expected your Azure Bot's Microsoft App ID, "
        "like 1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b"
    ]
    assert not out.exists()


def test_the_template_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        build_package(TEMPLATE_ID, tmp_path / "laurel-teams.zip")
    assert not (tmp_path / "laurel-teams.zip").exists()


def test_the_app_id_defaults_to_microsoft_app_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("MicrosoftAppPassword", "secret")
    monkeypatch.delenv("LAUREL_TEAMS_INSECURE_DEV", raising=False)
    done = CliRunner().invoke(main, ["teams", "package"])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "wrote laurel-teams.zip"
    assert _manifest_in(tmp_path / "laurel-teams.zip")["id"] == APP_ID


def test_no_app_id_at_all_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    done = CliRunner().invoke(main, ["teams", "package"])
    assert done.exit_code == 1
    assert done.stderr.strip().splitlines() == [
        "Error: no app id: pass --app-id GUID or set MicrosoftAppId"
    ]
    assert not (tmp_path / "laurel-teams.zip").exists()


def test_the_command_menu_follows_the_chat_grammar() -> None:
    manifest = json.loads((DEFAULT_SOURCE / "manifest.json").read_text(encoding="utf-8"))
    (bot,) = manifest["bots"]
    assert set(bot["scopes"]) == SCOPES
    lists = bot["commandLists"]
    assert sorted(scope for entry in lists for scope in entry["scopes"]) == sorted(SCOPES)
    for entry in lists:
        titles = [command["title"] for command in entry["commands"]]
        assert set(titles) == MENU, entry["scopes"]
        assert len(titles) == len(MENU)
        assert all(command.get("description") for command in entry["commands"])
    # Whatever the parser understands is offered, but for the two verbs left out above.
    assert VERBS - (GRAMMAR_VERBS - MENU) <= MENU
