"""The dependency rules of DESIGN.md: bot -> adapters -> core, and core on the standard library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"core"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) - allowed)
        for path in (ROOT / "core").rglob("*.py")
        if _imports(path) - allowed
    }
    assert offenders == {}


def test_botbuilder_and_slack_stay_out_of_core_and_bot() -> None:
    """Platform SDKs belong to their adapter folders only."""
    sdk = {"slack_bolt", "slack_sdk", "botbuilder"}
    for folder in ("core", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not (_imports(path) & sdk), path


def test_each_chat_sdk_stays_in_its_own_adapter() -> None:
    """A later move to the Microsoft 365 Agents SDK must touch adapters/teams/ only, and
    Slack's SDK lives in adapters/slack/ only."""
    homes = {
        "botbuilder": "teams",
        "botframework": "teams",
        "msrest": "teams",
        "slack_bolt": "slack",
        "slack_sdk": "slack",
    }
    for path in (ROOT / "adapters").rglob("*.py"):
        folder = path.relative_to(ROOT / "adapters").parts[0]
        for module in _imports(path):
            assert homes.get(module, folder) == folder, f"{path} imports {module}"
