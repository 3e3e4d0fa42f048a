"""Repo-level defaults for running this repository's corpus and tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

# Output and on-demand measurements are never collected as tests.
collect_ignore = ["reports", "benchmarks", "examples", "build"]

# tests/test_glue_pytester.py drives the plugin in a throwaway project (pytest_plugins only here, at the root).
pytest_plugins = ["pytester"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not config.getoption("arena", default=False):
        return []
    cargo = shutil.which("cargo")
    if cargo is None:
        return ["arena: cargo not found: Rust fixtures will fail at setup (./run setup installs it)"]
    version = subprocess.run([cargo, "--version"], capture_output=True, text=True).stdout.strip()
    return [f"arena: {version}"]
