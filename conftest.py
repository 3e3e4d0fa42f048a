"""Repo-level defaults for running this repository's corpus and tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

# Output and on-demand measurements are never collected as tests.
collect_ignore = ["reports", "benchmarks", "examples", "build"]

# tests/test_glue_pytester.py needs the pytester plugin: it is named in pyproject.toml's addopts
# (`-p pytester`), not here. `pytest --arena --arena-root=<this corpus>` run from another folder
# loads this conftest during collection, where `pytest_plugins` is refused (rc 4).


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not config.getoption("arena", default=False):
        return []
    cargo = shutil.which("cargo")
    if cargo is None:
        return ["arena: cargo not found: Rust fixtures will fail at setup (./run setup installs it)"]
    version = subprocess.run([cargo, "--version"], capture_output=True, text=True).stdout.strip()
    return [f"arena: {version}"]
