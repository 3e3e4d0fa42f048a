"""The adversarial suite's tally, printed at the end of the run."""

from __future__ import annotations

import pytest

TALLY: list[tuple[str, bool]] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        breaches = [name for name, breached in TALLY if breached]
        terminalreporter.write_line(
            f"security: {len(TALLY)} attempts, {len(breaches)} breaches"
            + (f" ({', '.join(breaches)})" if breaches else "")
        )
