"""The adversarial suite's tally, printed at the end of the run."""

from __future__ import annotations

import pytest

TALLY: list[tuple[str, bool]] = []
FORGERIES: list[tuple[str, bool]] = []  # (attempt, forged a pass)
# (attempt, a failing run made itself uncounted: HarnessError or DriverError leave the pass rate)
UNCOUNTED: list[tuple[str, bool]] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        breaches = [name for name, breached in TALLY if breached]
        terminalreporter.write_line(
            f"security: {len(TALLY)} attempts, {len(breaches)} breaches"
            + (f" ({', '.join(breaches)})" if breaches else "")
        )
    if FORGERIES or UNCOUNTED:
        forged = [name for name, passed in FORGERIES if passed]
        escaped = [name for name, out in UNCOUNTED if out]
        terminalreporter.write_line(
            f"forgery: {len(FORGERIES) + len(UNCOUNTED)} attempts, {len(forged)} forged passes, "
            f"{len(escaped)} failing runs forged out of the count"
            + (f" ({', '.join(forged + escaped)})" if forged or escaped else "")
        )
