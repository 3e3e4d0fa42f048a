"""The project's own code meets the bar it sets for students: lint, format and types."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT

BIN = Path(sys.executable).parent
CODE = ["pytest_arena", "tests", "benchmarks", "examples"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [["ruff", "check", *CODE], ["ruff", "format", "--check", *CODE], ["mypy", "pytest_arena"]],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_clean(command: list[str]) -> None:
    tool = BIN / command[0]
    if not tool.exists():
        pytest.skip(f"{command[0]} not installed: pip install -e '.[dev]' (./run setup does it)")
    proc = subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
