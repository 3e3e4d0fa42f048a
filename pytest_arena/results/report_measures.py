"""report.html's graded measures: the pass@k curve, FAIL_TO_PASS share and regressions, well-formed
turns, and the runs left out of the rates (HarnessError beside DriverError)."""

from __future__ import annotations

from collections import Counter

from matplotlib.figure import Figure

from .measures import not_counted_text, pass_at_k, test_share, well_formed
from .record import ItemRecord
from .report_blocks import Chart, Table
from .report_blocks import png as _png
from .stats import group_by
from .tally import CHEAT_LABEL, cheat_rate, has_twins


def _groups(records: list[ItemRecord]) -> list[tuple[str, list[ItemRecord]]]:
    return sorted(group_by(records, lambda r: f"{r.student} t={r.temperature:g}").items())


def pass_at_k_chart(records: list[ItemRecord]) -> Chart | None:
    """pass@k against k per (student, temperature); None when no fixture has two samples."""
    curves = [(label, pass_at_k(runs)) for label, runs in _groups(records)]
    curves = [(label, curve) for label, curve in curves if len(curve) > 1]
    if not curves:
        return None
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.add_subplot()
    for label, curve in curves:
        ks = [p.k for p in curve]
        values = [p.value for p in curve]
        errors = [[max(p.value - p.low, 0.0) for p in curve], [max(p.high - p.value, 0.0) for p in curve]]
        ax.errorbar(ks, values, yerr=errors, fmt="-o", capsize=4, label=label)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("pass@k")
    ax.set_title("pass@k (unbiased estimator, mean over fixtures)")
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.grid(alpha=0.3)
    caption = (
        "pass@k = 1 - C(n-c, k)/C(n, k) per fixture with n samples (seeds) and c passes, averaged over "
        "fixtures; bars: bootstrap 95% interval over fixtures. DriverError/HarnessError runs left out."
    )
    return Chart("pass@k", _png(fig), caption)


def measures_table(records: list[ItemRecord]) -> Table:
    twins = has_twins(records)
    rows = []
    for label, runs in _groups(records):
        curve = pass_at_k(runs)
        first = str(curve[0]) if curve else "n/a"
        cheat = [str(cheat_rate(runs))] if twins else []
        last = str(curve[-1]) if len(curve) > 1 else ""
        share = test_share(runs)
        fixed = f"{share.mean_fixed:.0%} of {share.runs} runs" if share.runs else "n/a"
        rows.append(
            [label, str(len(runs)), first, *cheat, last, fixed, str(share.regressions), str(well_formed(runs)),
             not_counted_text(runs)]
        )  # fmt: skip
    note = (
        "FAIL_TO_PASS: tests failing in the pristine tree that pass with the reference solution; a "
        "regression fixes one of them but breaks a PASS_TO_PASS test. Well-formed: turns with at least "
        "one parsed tool call (strict or salvaged)."
    )
    if twins:
        note += " pass@k and FAIL_TO_PASS leave impossible twins out; the cheat rate is their passes over counted runs."
    return Table(
        "Graded measures per student",
        ["student", "runs", "pass@1", *([CHEAT_LABEL] if twins else []), "pass@n",
         "FAIL_TO_PASS fixed (mean share)", "regressions", "well-formed turns", "left out"],
        rows,
        note,
    )  # fmt: skip


def harness_table(records: list[ItemRecord]) -> Table | None:
    errors = [r for r in records if r.outcome == "HarnessError"]
    if not errors:
        return None
    counts = Counter((r.student, str(r.outcome_details.get("message", ""))[:300]) for r in errors)
    return Table(
        "Harness failures (HarnessError)",
        ["student", "runs", "message"],
        [[student, str(n), message] for (student, message), n in counts.most_common()],
        "The harness could not run its own command (missing program, sandbox): never the student's fault.",
    )


def measure_sections(records: list[ItemRecord]) -> list[tuple[str, list[Table | Chart]]]:
    parts: list[Table | Chart] = [measures_table(records)]
    chart = pass_at_k_chart(records)
    if chart is not None:
        parts.insert(0, chart)
    sections: list[tuple[str, list[Table | Chart]]] = [("Samples and graded measures", parts)]
    harness = harness_table(records)
    if harness is not None:
        sections.append(("Harness errors", [harness]))
    return sections
