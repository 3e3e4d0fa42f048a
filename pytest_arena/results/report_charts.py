"""The charts of arena-report (matplotlib, rendered to PNG bytes; nothing is drawn on screen)."""

from __future__ import annotations

from matplotlib.figure import Figure

from .record import ItemRecord
from .report_blocks import Chart, png
from .report_tables import outcome_names, students_of, temp_label
from .stats import group_by
from .tally import counted, pass_rate, uncounted

OUTCOME_COLOURS = {
    "OraclePassed": "#2e7d32",
    "ComplianceFailed": "#f9a825",
    "OracleFailed": "#c62828",
    "OracleFailedAfterMaxTurns": "#8e24aa",
    "AgentTextLoop": "#1565c0",
    "ComplianceTrap": "#ef6c00",
    "WallTimeout": "#6d4c41",
    "DriverError": "#616161",
    "TamperDetected": "#111111",  # near black: a tamper attempt must not pass for an ordinary failure
}
EXTRA_COLOURS = ("#00838f", "#ad1457", "#9e9d24", "#283593", "#4e342e")


def colour(name: str, index: int) -> str:
    return OUTCOME_COLOURS.get(name, EXTRA_COLOURS[index % len(EXTRA_COLOURS)])


def outcome_chart(records: list[ItemRecord]) -> Chart:
    groups = sorted(
        group_by(records, lambda r: f"{r.student}\n{temp_label(r.temperature)}").items(),
        key=lambda kv: (kv[1][0].student, kv[1][0].temperature),
    )
    labels = [label for label, _ in groups]
    fig = Figure(figsize=(max(5.0, 1.1 * len(labels) + 2.5), 4.5))
    ax = fig.add_subplot()
    bottoms = [0] * len(groups)
    for index, name in enumerate(outcome_names(records)):
        counts = [sum(r.outcome == name for r in runs) for _, runs in groups]
        bars = ax.bar(range(len(groups)), counts, width=0.6, bottom=bottoms, label=name, color=colour(name, index))
        ax.bar_label(bars, labels=[str(c) if c else "" for c in counts], label_type="center", color="white", fontsize=8)
        bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
    ax.set_xticks(range(len(groups)), labels, fontsize=8)
    ax.set_ylabel("runs")
    ax.set_title("Outcomes per student and temperature")
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return Chart(
        "Outcomes per student and temperature",
        png(fig),
        "Stacked counts of each outcome per student and temperature: OraclePassed is a pass; every other "
        "outcome names how the run failed (tests, compliance, tampering, no tool call, timeout, harness error).",
    )


def temperature_chart(records: list[ItemRecord]) -> Chart:
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.add_subplot()
    students = students_of(records)
    spread = 0.02 * (len(students) - 1)
    temperatures = sorted({r.temperature for r in records})
    width = (max(temperatures) - min(temperatures)) or 1.0
    any_driver = uncounted(records) > 0
    for index, student in enumerate(students):
        runs = [r for r in records if r.student == student]
        offset = (index * 0.04 - spread) * width
        for clean_only, style in ((True, "-o"), (False, "--s")):
            if not clean_only and not any_driver:
                continue
            xs, ys, low, high = [], [], [], []
            for temperature in temperatures:
                at = [r for r in runs if r.temperature == temperature]
                rate = pass_rate(counted(at) if clean_only else at)
                if not rate.total:
                    continue
                lo, hi = rate.interval
                xs.append(temperature + offset)
                ys.append(rate.value)
                low.append(rate.value - lo)
                high.append(hi - rate.value)
            if not xs:
                continue
            label = student + ("" if clean_only else " (all runs)")
            ax.errorbar(xs, ys, yerr=[low, high], fmt=style, capsize=4, label=label, alpha=1.0 if clean_only else 0.5)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(temperatures, [f"{t:g}" for t in temperatures])
    ax.set_xlim(min(temperatures) - 0.15 * width, max(temperatures) + 0.15 * width)
    ax.set_xlabel("temperature")
    ax.set_ylabel("pass rate")
    ax.set_title("Pass rate vs temperature (95% Wilson intervals)")
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.grid(alpha=0.3)
    caption = "Pass rate over runs without DriverError/HarnessError, with 95% Wilson intervals"
    if any_driver:
        caption += "; dashed: over all runs (DriverError and HarnessError counted as failures)"
    return Chart("Pass rate vs temperature", png(fig), caption + ".")


def fixture_chart(records: list[ItemRecord]) -> Chart:
    fixtures = sorted({r.fixture for r in records})
    students = students_of(records)
    grid = [[float("nan")] * len(students) for _ in fixtures]
    labels = [[""] * len(students) for _ in fixtures]
    for i, fixture in enumerate(fixtures):
        for j, student in enumerate(students):
            rate = pass_rate(counted([r for r in records if r.fixture == fixture and r.student == student]))
            if rate.total:
                grid[i][j] = rate.value
                labels[i][j] = f"{rate.passed}/{rate.total}"
    fig = Figure(figsize=(max(5.0, 1.4 * len(students) + 3.5), max(2.5, 0.35 * len(fixtures) + 1.5)))
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto")
    for i in range(len(fixtures)):
        for j in range(len(students)):
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(students)), students, fontsize=8, rotation=20, ha="right")
    ax.set_yticks(range(len(fixtures)), fixtures, fontsize=8)
    ax.set_title("Pass rate per fixture (runs without DriverError/HarnessError)")
    fig.colorbar(image, ax=ax, fraction=0.04)
    return Chart("Pass rate per fixture", png(fig), "Passed/runs per fixture and student, DriverError excluded.")
