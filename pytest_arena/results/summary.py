"""The end-of-run arena summary: short enough to read in a CI log."""

from __future__ import annotations

from collections import Counter

from .measures import counted, measure_lines
from .record import ItemRecord
from .stats import Rate, group_by

SHOWN = 6  # fixtures listed by name per student; the rest are counted


def _rate(records: list[ItemRecord]) -> Rate:
    return Rate(sum(r.passed for r in records), len(records))


def summary_lines(records: list[ItemRecord]) -> list[str]:
    lines = ["outcomes: " + ", ".join(f"{n} {name}" for name, n in Counter(r.outcome for r in records).most_common())]
    for config, items in group_by(records, lambda r: f"{r.student} t={r.temperature:g}").items():
        clean = counted(items)
        lines.append(
            f"{config}: {len(items)} items, pass@1 {_rate(items)}; without DriverError/HarnessError {_rate(clean)}"
        )
        lines.extend(measure_lines(items))
        outcomes = Counter(r.outcome for r in items)
        lines.append("  outcomes: " + ", ".join(f"{name} {n / len(items):.0%}" for name, n in outcomes.most_common()))
        classes = group_by(items, lambda r: r.fixture_class)
        lines.append(
            "  per class: " + ", ".join(f"{c} {_rate(rs).passed}/{len(rs)}" for c, rs in sorted(classes.items()))
        )
        fixtures = group_by(items, lambda r: r.fixture)
        solved = {f: _rate(rs) for f, rs in sorted(fixtures.items()) if any(r.passed for r in rs)}
        if solved:
            shown = ", ".join(f"{f} {rate.passed}/{rate.total}" for f, rate in list(solved.items())[:SHOWN])
            if len(solved) > SHOWN:
                shown += f", +{len(solved) - SHOWN} more"
            lines.append(f"  fixtures with student pass rate > 0: {shown}")
        lines.append(
            f"  V1_004 (a fixture with student pass rate > 0): {'holds' if solved else 'does not hold'}"
            f" ({len(solved)}/{len(fixtures)} fixtures)"
        )
    return lines
