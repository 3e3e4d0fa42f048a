"""Fixtures and hooks for the project's tests (shared helpers live in tests/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import FAULTS, TIMINGS


@pytest.fixture
def reports_dir(tmp_path: Path) -> Path:
    return tmp_path / "reports"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FAULTS:
        lost = [name for name, data_lost, _ in FAULTS if data_lost]
        shown = [name for name, _, traceback in FAULTS if traceback]
        terminalreporter.write_line(
            f"faults: {len(FAULTS)} probes, {len(lost)} data lost, {len(shown)} tracebacks shown to the user"
            + (f" (data lost: {', '.join(lost)})" if lost else "")
            + (f" (tracebacks: {', '.join(shown)})" if shown else "")
        )
    for name, seconds in TIMINGS.items():
        terminalreporter.write_line(f"{name}: {len(seconds)} fixture checks, {sum(seconds):.1f}s in total")
