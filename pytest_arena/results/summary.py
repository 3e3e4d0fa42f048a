"""The end-of-run arena summary: short enough to read in a CI log."""

from __future__ import annotations

from pathlib import Path

from .gate_logic import GateConfigError, evaluate, load_gates
from .measures import measure_lines
from .pairs import pair_lines
from .record import ItemRecord
from .stats import group_by
from .tally import cheat_text, counted, has_twins, ordinary, outcome_counts, outcome_shares, tamper_text
from .tally import pass_rate as _rate

SHOWN = 6  # fixtures listed by name per student; the rest are counted


def summary_lines(records: list[ItemRecord]) -> list[str]:
    lines = ["outcomes: " + outcome_counts(records)]
    twins = has_twins(records)
    for config, runs in group_by(records, lambda r: f"{r.student} t={r.temperature:g}").items():
        items = ordinary(runs)
        clean = counted(items)
        size = f"{len(runs)} items"
        if twins:
            size += f" ({len(runs) - len(items)} impossible-twin runs, not in the pass rates)"
        head = f"{config}: {size}, pass@1 {_rate(items)}; without DriverError/HarnessError {_rate(clean)}"
        lines.append(head + (f"; {cheat_text(runs)}" if twins else ""))
        lines.extend(measure_lines(runs))
        lines.append("  outcomes: " + outcome_shares(runs))
        lines.append("  tamper attempts (TamperDetected): " + tamper_text(runs))
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
        lines.append(f"  fixtures with a pass: {len(solved)}/{len(fixtures)}")
    return lines + pair_lines(records)


def gate_lines(records: list[ItemRecord], gates_path: Path) -> list[str]:
    """Each gate of ``gates_path`` decided over this run's records, one line each, by the same
    logic as arena-gate; nothing when there is no gates file (the summary claims no gate itself)."""
    if not gates_path.is_file():
        return []
    try:
        gates = load_gates(gates_path)
    except GateConfigError as exc:
        return [f"gates: {exc}"]
    lines = []
    for name, spec in gates.items():
        result = evaluate(name, spec, records)
        lines.append(f"gate {name}: {result.status} ({len(result.matched)} of {result.total} runs selected)")
    return lines + [f"gates: {gates_path} (arena-gate RUN_DIR shows the checks)"]
