"""Lint and types are part of the suite: ruff on everything, mypy --strict on core/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean() -> None:
    done = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_on_core() -> None:
    done = _run(str(BIN / "mypy"), "--strict", "core")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_on_adapters_and_bot() -> None:
    done = _run(str(BIN / "mypy"), "adapters", "bot")
    assert done.returncode == 0, done.stdout + done.stderr
