"""The adversarial suite's tally, printed at the end of the run."""

from __future__ import annotations

import pytest

TALLY: list[tuple[str, bool]] = []
FORGERIES: list[tuple[str, bool]] = []  # (attempt, forged a pass)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        breaches = [name for name, breached in TALLY if breached]
        terminalreporter.write_line(
            f"security: {len(TALLY)} attempts, {len(breaches)} breaches"
            + (f" ({', '.join(breaches)})" if breaches else "")
        )
    if FORGERIES:
        forged = [name for name, passed in FORGERIES if passed]
        terminalreporter.write_line(
            f"forgery: {len(FORGERIES)} attempts, {len(forged)} forged passes"
            + (f" ({', '.join(forged)})" if forged else "")
        )
