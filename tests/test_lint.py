"""Ruff, configured in pyproject.toml, over the whole repository (the package, tests,
scripts, benchmarks and the notebooks' code): lint findings and unformatted files fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*args: str) -> subprocess.CompletedProcess:
    # this interpreter's ruff first (.venv/bin/python runs the tests without activating .venv)
    sibling = Path(sys.executable).with_name("ruff")
    exe = str(sibling) if sibling.exists() else shutil.which("ruff")
    command = [exe] if exe else [sys.executable, "-m", "ruff"]
    return subprocess.run([*command, *args, str(ROOT)], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.parametrize("args", [("check", "--output-format", "concise"), ("format", "--check")])
def test_ruff(args):
    result = _ruff(*args)
    assert result.returncode == 0, (
        f"ruff {' '.join(args)} found problems (fix them, or run `ruff format .` and "
        f"`ruff check --fix .`):\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
    )
