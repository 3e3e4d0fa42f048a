"""``arena-report``: tables and charts from a run folder or JUnit files; training-data export.

    arena-report [RUN_DIR | JUNIT ...] [--out DIR] [--teacher LABEL]
    arena-report RUN_DIR --export sft|dpo [--out FILE] [--teacher LABEL] [--student LABEL ...]

With no input, ``reports`` (its ``latest`` run) is read. Writes ``report.html`` (self-contained:
charts are inline PNG, nothing is fetched, it opens offline) and ``summary.md`` into ``--out``
(default: the run folder, or ``./reports`` for JUnit input). Pass rates are shown over all runs
and over runs without ``DriverError`` side by side; every rate carries its 95% Wilson interval.
The teacher (``reference`` when it ran, or ``--teacher LABEL``) is compared with every other
student per fixture: teacher pass rate, student pass rate, and their agreement, the probability
that one teacher run and one student run of that fixture end the same way (both pass or both
fail): ``t*s + (1-t)*(1-s)`` with the pass rates over runs without ``DriverError``.

``--export`` is described in :mod:`pytest_arena.results.export`.
"""

from __future__ import annotations

import argparse
import base64
import html
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from ..engine.outcomes import NOT_COUNTED, ORDER
from .cli import quiet_on_broken_pipe
from .dialect_summary import HEADERS as DIALECT_HEADERS
from .dialect_summary import dialect_rows
from .export import ExportError, run_export
from .item_page import ITEMS_DIR, ItemLink, write_item_pages
from .junit import Evidence, InputError, load_inputs
from .record import ItemRecord
from .report_blocks import Chart, Report, Table
from .report_blocks import png as _png
from .report_measures import measure_sections
from .stats import Rate, group_by

DRIVER_ERROR = "DriverError"
OUTCOME_COLOURS = {
    "OraclePassed": "#2e7d32",
    "ComplianceFailed": "#f9a825",
    "OracleFailed": "#c62828",
    "OracleFailedAfterMaxTurns": "#8e24aa",
    "AgentTextLoop": "#1565c0",
    "ComplianceTrap": "#ef6c00",
    "WallTimeout": "#6d4c41",
    "DriverError": "#616161",
}
EXTRA_COLOURS = ("#00838f", "#ad1457", "#9e9d24", "#283593", "#4e342e")


# ---------------------------------------------------------------- numbers


def _rate(runs: list[ItemRecord]) -> Rate:
    return Rate(sum(r.passed for r in runs), len(runs))


def _clean(runs: list[ItemRecord]) -> list[ItemRecord]:
    return [r for r in runs if r.outcome not in NOT_COUNTED]


def _driver(runs: list[ItemRecord]) -> int:
    return sum(r.outcome == DRIVER_ERROR for r in runs)


def _temp(value: float) -> str:
    return f"t={value:g}"


def _rate_cells(runs: list[ItemRecord]) -> list[str]:
    """runs, pass rate (all runs), DriverError, pass rate (without DriverError)."""
    return [str(len(runs)), str(_rate(runs)), str(_driver(runs)), str(_rate(_clean(runs)))]


RATE_HEADERS = ["runs", "pass rate (all runs)", "DriverError", "pass rate (without DriverError)"]


def _outcome_names(records: list[ItemRecord]) -> list[str]:
    present = {r.outcome for r in records}
    ordered = [cls.__name__ for cls in ORDER if cls.__name__ in present]
    return ordered + sorted(present - set(ordered))


def _colour(name: str, index: int) -> str:
    return OUTCOME_COLOURS.get(name, EXTRA_COLOURS[index % len(EXTRA_COLOURS)])


def _by(records: list[ItemRecord], key: Callable[[ItemRecord], str]) -> list[tuple[str, list[ItemRecord]]]:
    return list(group_by(records, key).items())


def _students(records: list[ItemRecord]) -> list[str]:
    return sorted({r.student for r in records})


# ---------------------------------------------------------------- charts


def outcome_chart(records: list[ItemRecord]) -> Chart:
    groups = sorted(
        group_by(records, lambda r: f"{r.student}\n{_temp(r.temperature)}").items(),
        key=lambda kv: (kv[1][0].student, kv[1][0].temperature),
    )
    labels = [label for label, _ in groups]
    fig = Figure(figsize=(max(5.0, 1.1 * len(labels) + 2.5), 4.5))
    ax = fig.add_subplot()
    bottoms = [0] * len(groups)
    for index, name in enumerate(_outcome_names(records)):
        counts = [sum(r.outcome == name for r in runs) for _, runs in groups]
        bars = ax.bar(range(len(groups)), counts, width=0.6, bottom=bottoms, label=name, color=_colour(name, index))
        ax.bar_label(bars, labels=[str(c) if c else "" for c in counts], label_type="center", color="white", fontsize=8)
        bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
    ax.set_xticks(range(len(groups)), labels, fontsize=8)
    ax.set_ylabel("runs")
    ax.set_title("Outcomes per student and temperature")
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return Chart(
        "Outcomes per student and temperature",
        _png(fig),
        "Stacked counts of each outcome per student and temperature: OraclePassed is a pass; every other "
        "outcome names how the run failed (tests, compliance, no tool call, timeout, harness error).",
    )


def temperature_chart(records: list[ItemRecord]) -> Chart:
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.add_subplot()
    students = _students(records)
    spread = 0.02 * (len(students) - 1)
    temperatures = sorted({r.temperature for r in records})
    width = (max(temperatures) - min(temperatures)) or 1.0
    any_driver = _driver(records) > 0
    for index, student in enumerate(students):
        runs = [r for r in records if r.student == student]
        offset = (index * 0.04 - spread) * width
        for clean_only, style in ((True, "-o"), (False, "--s")):
            if not clean_only and not any_driver:
                continue
            xs, ys, low, high = [], [], [], []
            for temperature in temperatures:
                at = [r for r in runs if r.temperature == temperature]
                rate = _rate(_clean(at) if clean_only else at)
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
    caption = "Pass rate over runs without DriverError, with 95% Wilson intervals"
    if any_driver:
        caption += "; dashed: over all runs (DriverError counted as failure)"
    return Chart("Pass rate vs temperature", _png(fig), caption + ".")


def fixture_chart(records: list[ItemRecord]) -> Chart:
    fixtures = sorted({r.fixture for r in records})
    students = _students(records)
    grid = [[float("nan")] * len(students) for _ in fixtures]
    labels = [[""] * len(students) for _ in fixtures]
    for i, fixture in enumerate(fixtures):
        for j, student in enumerate(students):
            rate = _rate(_clean([r for r in records if r.fixture == fixture and r.student == student]))
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
    ax.set_title("Pass rate per fixture (runs without DriverError)")
    fig.colorbar(image, ax=ax, fraction=0.04)
    return Chart("Pass rate per fixture", _png(fig), "Passed/runs per fixture and student, DriverError excluded.")


# ---------------------------------------------------------------- tables


def student_table(records: list[ItemRecord]) -> Table:
    rows = []
    for student, runs in sorted(_by(records, lambda r: r.student)):
        info = runs[0].student_info
        model = ", ".join(f"{k}={info[k]}" for k in ("backend", "gguf_name", "gguf_architecture") if info.get(k))
        specs = ", ".join(sorted({r.student_spec for r in runs}))
        rows.append([student, specs, model, *_rate_cells(runs)])
    return Table("Pass rate per student", ["student", "spec", "model", *RATE_HEADERS], rows)


def outcome_table(records: list[ItemRecord]) -> Table:
    names = _outcome_names(records)
    rows = []
    for _, runs in sorted(
        _by(records, lambda r: f"{r.student}|{r.temperature}"), key=lambda kv: (kv[1][0].student, kv[1][0].temperature)
    ):
        counts = Counter(r.outcome for r in runs)
        rows.append([runs[0].student, _temp(runs[0].temperature), str(len(runs)), *(str(counts[n]) for n in names)])
    return Table("Outcomes per student and temperature", ["student", "temperature", "runs", *names], rows)


def temperature_table(records: list[ItemRecord]) -> Table:
    rows = []
    for _, runs in sorted(
        _by(records, lambda r: f"{r.student}|{r.temperature}"), key=lambda kv: (kv[1][0].student, kv[1][0].temperature)
    ):
        rows.append([runs[0].student, _temp(runs[0].temperature), *_rate_cells(runs)])
    return Table("Pass rate per student and temperature", ["student", "temperature", *RATE_HEADERS], rows)


def class_table(records: list[ItemRecord]) -> Table:
    rows = []
    for _, runs in sorted(
        _by(records, lambda r: f"{r.fixture_class}|{r.student}"),
        key=lambda kv: (kv[1][0].fixture_class, kv[1][0].student),
    ):
        fixtures = len({r.fixture for r in runs})
        rows.append([runs[0].fixture_class, runs[0].student, str(fixtures), *_rate_cells(runs)])
    return Table("Pass rate per class", ["class", "student", "fixtures", *RATE_HEADERS], rows)


def fixture_table(records: list[ItemRecord]) -> Table:
    rows = []
    for _, runs in sorted(
        _by(records, lambda r: f"{r.fixture}|{r.student}"), key=lambda kv: (kv[1][0].fixture, kv[1][0].student)
    ):
        first = runs[0]
        difficulty = "" if first.difficulty is None else str(first.difficulty)
        rows.append([first.fixture, first.fixture_class, difficulty, first.student, *_rate_cells(runs)])
    return Table("Pass rate per fixture", ["fixture", "class", "difficulty", "student", *RATE_HEADERS], rows)


def difficulty_table(records: list[ItemRecord]) -> Table | None:
    rated = [r for r in records if r.difficulty is not None]
    if not rated:
        return None
    rows = []
    for _, runs in sorted(
        _by(rated, lambda r: f"{r.difficulty}|{r.student}"), key=lambda kv: (kv[1][0].difficulty or 0, kv[1][0].student)
    ):
        fixtures = len({r.fixture for r in runs})
        rows.append([str(runs[0].difficulty), runs[0].student, str(fixtures), *_rate_cells(runs)])
    unrated = len(records) - len(rated)
    note = f"{unrated} runs of fixtures without a difficulty are left out." if unrated else ""
    return Table("Pass rate per difficulty", ["difficulty", "student", "fixtures", *RATE_HEADERS], rows, note)


def teacher_tables(records: list[ItemRecord], teacher: str) -> list[Table]:
    students = [s for s in _students(records) if s != teacher]
    fixtures = sorted({r.fixture for r in records if r.student == teacher})
    rows, summary = [], []
    for student in students:
        both = teacher_only = student_only = neither = 0
        agreements = []
        for fixture in fixtures:
            student_runs = [r for r in records if r.fixture == fixture and r.student == student]
            if not student_runs:
                continue  # this student did not run the fixture
            t_rate = _rate(_clean([r for r in records if r.fixture == fixture and r.student == teacher]))
            s_rate = _rate(_clean(student_runs))
            if t_rate.total and s_rate.total:
                agreement = t_rate.value * s_rate.value + (1 - t_rate.value) * (1 - s_rate.value)
                agreements.append(agreement)
                agreement_text = f"{agreement:.0%}"
                t_pass, s_pass = t_rate.passed > 0, s_rate.passed > 0
                both += t_pass and s_pass
                teacher_only += t_pass and not s_pass
                student_only += s_pass and not t_pass
                neither += not t_pass and not s_pass
            else:
                agreement_text = "n/a"
            rows.append([fixture, str(t_rate), student, str(s_rate), agreement_text])
        mean = f"{sum(agreements) / len(agreements):.0%}" if agreements else "n/a"
        summary.append(
            [student, str(len(agreements)), str(both), str(teacher_only), str(student_only), str(neither), mean]
        )
    return [
        Table(
            f"Teacher ({teacher}) vs students, per fixture",
            ["fixture", f"teacher pass ({teacher})", "student", "student pass", "agreement"],
            rows,
            "Pass rates over runs without DriverError. Agreement: the chance that one teacher run and one "
            "student run of the fixture end the same way (both pass or both fail).",
        ),
        Table(
            f"Teacher ({teacher}) vs students, summary",
            ["student", "fixtures compared", "both pass", "teacher only", "student only", "neither", "mean agreement"],
            summary,
            "'student only' (the student passes a fixture the teacher never passes) points at the fixture "
            "or the teacher, not the student.",
        ),
    ]


def driver_table(records: list[ItemRecord]) -> Table | None:
    errors = [r for r in records if r.outcome == DRIVER_ERROR]
    if not errors:
        return None
    counts = Counter((r.student, str(r.outcome_details.get("message", ""))[:300]) for r in errors)
    rows = [[student, str(n), message] for (student, message), n in counts.most_common()]
    return Table(
        "Harness failures (DriverError)",
        ["student", "runs", "message"],
        rows,
        "The backend or harness failed; these runs are shown beside accuracy, not hidden in it.",
    )


def provenance_table(records: list[ItemRecord]) -> Table:
    rows = []
    for _, runs in _by(records, lambda r: f"{r.run_id}|{r.git_commit}|{r.git_dirty}"):
        first = runs[0]
        commit = (first.git_commit[:12] or "unknown") + (" (dirty)" if first.git_dirty else "")
        rows.append(
            [
                first.run_id or "?",
                commit,
                first.arena_version,
                first.pytest_version,
                first.llama_cpp_version or "-",
                str(len(runs)),
            ]
        )
    return Table("Provenance", ["run id", "git commit", "pytest-arena", "pytest", "llama-cpp-python", "runs"], rows)


def model_table(records: list[ItemRecord]) -> Table:
    keys = (
        "model_file",
        "model_sha256",
        "chat_template",
        "chat_template_sha256",
        "n_ctx",
        "n_gpu_layers",
        "grammar",
        "url",
        "model",
    )
    rows = []
    for student, runs in sorted(_by(records, lambda r: r.student)):
        info = runs[0].student_info
        details = "; ".join(f"{k}={str(info[k])[:80]}" for k in keys if info.get(k) not in (None, ""))
        sampling = ", ".join(
            sorted(
                {
                    f"t={r.temperature:g} top_k={r.top_k} top_p={r.top_p:g} min_p={r.min_p:g} "
                    f"repeat={r.repeat_penalty:g} constrained={r.constrained}"
                    for r in runs
                }
            )
        )
        rows.append([student, details or "-", sampling])
    return Table("Students: model and sampling as sent", ["student", "model", "sampling"], rows)


ITEMS_INLINE = 200  # rows of the item table in report.html; items/index.html lists every item


def items_table(links: list[ItemLink]) -> Table:
    """Failed items first: they are the ones worth reading. Each row opens the item's page."""
    ordered = sorted(links, key=lambda link: (link.record.passed, link.record.item))
    shown = ordered[:ITEMS_INLINE]
    rows = [
        [link.record.item, link.record.outcome, str(link.record.turns), str(link.record.tokens_completion)]
        for link in shown
    ]
    hrefs = [link.href for link in shown]
    rows.append([f"all {len(links)} items", "", "", ""])
    hrefs.append(f"{ITEMS_DIR}/index.html")
    return Table(
        "Items: outcome per run (each row opens the run's own page)",
        ["item", "outcome", "turns", "completion tokens"],
        rows,
        f"Failed runs first, at most {ITEMS_INLINE} here. A run's page shows every turn: what was added to the "
        "prompt, the model's raw text, the parsed tool calls, the tool results, tokens and timings, the final "
        "diff and the oracle's output.",
        hrefs,
    )


# ---------------------------------------------------------------- assembly


def build_report(evidence: Evidence, teacher: str | None) -> Report:
    records = evidence.records
    students = _students(records)
    run_ids = sorted({r.run_id for r in records if r.run_id})
    report = Report("pytest-arena report" + (f": {', '.join(run_ids)}" if run_ids else ""))
    temperatures = ", ".join(f"{t:g}" for t in sorted({r.temperature for r in records}))
    seeds = ", ".join(str(s) for s in sorted({r.seed for r in records}))
    shape = (
        f"{len(records)} runs: {len({r.fixture for r in records})} fixtures x {len(students)} students "
        f"({', '.join(students)}), temperatures {temperatures}, seeds {seeds}."
    )
    overall = (
        f"Overall pass rate: {_rate(records)} over all runs; {_rate(_clean(records))} without "
        f"DriverError ({_driver(records)} DriverError)."
    )
    report.overview = [shape, overall, "Read from: " + "; ".join(s.describe() for s in evidence.sources) + "."]
    if evidence.replaced:
        report.overview.append(
            f"{evidence.replaced} earlier result(s) replaced by a later one of the same item "
            "(latest wins: later input, then later in the file)."
        )
    report.overview += [f"Warning: {w}" for w in evidence.warnings]

    report.sections.append(("Students", [student_table(records)]))
    report.sections.append(("Outcomes", [outcome_chart(records), outcome_table(records)]))
    report.sections.append(("Temperature", [temperature_chart(records), temperature_table(records)]))
    report.sections.append(("Classes", [class_table(records)]))
    report.sections.append(("Fixtures", [fixture_chart(records), fixture_table(records)]))
    report.sections.extend(measure_sections(records))
    if dialects := dialect_rows(records):
        note = "tool-call rate: turns with at least one parsed call (strict or salvaged) over all turns"
        report.sections.append(("Dialects", [Table("Dialects side by side", list(DIALECT_HEADERS), dialects, note)]))
    difficulty = difficulty_table(records)
    if difficulty is not None:
        report.sections.append(("Difficulty", [difficulty]))
    if teacher is not None and len(students) > 1:
        report.sections.append(("Teacher vs students", list(teacher_tables(records, teacher))))
    driver = driver_table(records)
    if driver is not None:
        report.sections.append(("Harness failures", [driver]))
    report.sections.append(("Provenance", [provenance_table(records), model_table(records)]))
    return report


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    lines = [f"# {report.title}", ""]
    lines += [f"- {line}" for line in report.overview]
    lines += ["", "Charts: see report.html next to this file.", ""]
    for heading, blocks in report.sections:
        lines += [f"## {heading}", ""]
        for block in blocks:
            if isinstance(block, Chart):
                continue
            lines += [f"### {block.title}", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append("|" + "|".join("---" for _ in block.headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            if block.note:
                lines += ["", block.note]
            lines.append("")
    return "\n".join(lines)


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
figure { margin: 1em 0; }
figcaption, .note { color: #555; font-size: 0.85em; }
img { max-width: 100%; }
"""


def render_html(report: Report) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(report.title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>",
        "<ul>",
    ]
    parts += [f"<li>{esc(line)}</li>" for line in report.overview]
    parts.append("</ul>")
    for heading, blocks in report.sections:
        parts.append(f"<h2>{esc(heading)}</h2>")
        for block in blocks:
            if isinstance(block, Chart):
                data = base64.b64encode(block.png).decode("ascii")
                parts.append(
                    f'<figure><img alt="{esc(block.title)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{esc(block.caption)}</figcaption></figure>"
                )
                continue
            parts.append(f"<h3>{esc(block.title)}</h3><table><thead><tr>")
            parts += [f"<th>{esc(h)}</th>" for h in block.headers]
            parts.append("</tr></thead><tbody>")
            for n, row in enumerate(block.rows):
                cells = [f"<td>{esc(c)}</td>" for c in row]
                if n < len(block.links) and block.links[n] and cells:
                    cells[0] = f'<td><a href="{esc(block.links[n])}">{esc(row[0])}</a></td>'
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</tbody></table>")
            if block.note:
                parts.append(f'<p class="note">{esc(block.note)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arena-report",
        description="Tables and charts (report.html, summary.md) from a pytest --arena run folder or JUnit "
        "XML files; or training data from a run's trajectories (--export).",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="RUN_DIR|JUNIT",
        help="run folders (reports/<run-id>, reports/latest, or reports for its latest run) "
        "or JUnit XML files; default: reports",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="report folder (default: the run folder, or ./reports for JUnit input); "
        "with --export, the output file (default: RUN_DIR/<kind>.jsonl)",
    )
    parser.add_argument(
        "--teacher",
        metavar="LABEL",
        help="student to compare the others with (default: reference, when it ran); "
        "with --export dpo, its passing trajectories are chosen examples for students "
        "that never passed the fixture",
    )
    parser.add_argument("--export", choices=("sft", "dpo"), help="write training data instead of the report")
    parser.add_argument(
        "--student", action="append", default=[], metavar="LABEL", help="--export: only these students (repeatable)"
    )
    parser.add_argument(
        "--assistant-text",
        choices=("clean", "raw"),
        default="clean",
        help="--export: the assistant text kept in the conversation (clean, default) or the model's raw output",
    )
    parser.add_argument(
        "--skip-bad-lines",
        action="store_true",
        help="leave out results.jsonl lines that are not records (each one skipped is named in the output)",
    )
    return parser


@quiet_on_broken_pipe
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    inputs = args.inputs or [Path("reports")]
    try:
        evidence = load_inputs(inputs, skip_bad_lines=args.skip_bad_lines)
        students = _students(evidence.records)
        if args.teacher is not None and args.teacher not in students:
            raise InputError(f"--teacher {args.teacher}: no such student in the input; students: {', '.join(students)}")
        for warning in evidence.warnings:
            print(f"arena-report: warning: {warning}", file=sys.stderr)
        if args.export:
            run_export(
                evidence,
                args.export,
                args.out,
                teacher=args.teacher,
                students=args.student,
                assistant_text=args.assistant_text,
            )
            return 0
    except (InputError, ExportError) as exc:
        print(f"arena-report: error: {exc}", file=sys.stderr)
        return 2
    teacher = args.teacher or ("reference" if "reference" in students else None)
    report = build_report(evidence, teacher)
    if args.out is not None:
        out = args.out
    elif evidence.run_dirs:
        out = next(iter(evidence.run_dirs.values()))
    else:
        out = Path("reports")
    out.mkdir(parents=True, exist_ok=True)
    links = write_item_pages(evidence.records, evidence.run_dirs, out)
    if links:
        report.sections.append(("Items", [items_table(links)]))
    (out / "report.html").write_text(render_html(report), encoding="utf-8")
    (out / "summary.md").write_text(render_markdown(report), encoding="utf-8")
    print(
        f"arena-report: wrote {out / 'report.html'} and {out / 'summary.md'} ({len(evidence.records)} runs)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
