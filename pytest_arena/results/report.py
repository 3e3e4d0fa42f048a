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
Runs of impossible twins (a FAIL_TO_PASS assertion contradicts the task, so any pass is forged)
are left out of every pass rate; their cheat rate (passes over counted runs) is shown beside
pass@1, and tamper attempts (``TamperDetected`` runs) per student. Every two students are
compared on the fixtures both ran (:mod:`pytest_arena.results.pairs`): the paired pass@1
difference with its bootstrap interval, McNemar's exact p and the minimum detectable difference.
Fixtures arena-synth planted (meta.toml's ``mutation``) get pass rates and pass@1 per mutation
operator, beside those per difficulty: which kinds of bug a model fixes.

``--export`` is described in :mod:`pytest_arena.results.export`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from .cli import command, records_parser
from .dialect_summary import HEADERS as DIALECT_HEADERS
from .dialect_summary import dialect_rows
from .export import ExportError, run_export
from .item_page import write_item_pages
from .junit import Evidence, InputError, load_inputs
from .pairs import pairs_table
from .record import ItemRecord
from .report_blocks import Chart, Report, Table
from .report_html import render_html, render_markdown
from .report_tables import (
    class_table,
    difficulty_table,
    driver_table,
    fixture_table,
    items_table,
    model_table,
    operator_table,
    outcome_table,
    provenance_table,
    student_table,
    students_of,
    teacher_tables,
    temperature_table,
    twins_table,
)
from .tally import cheat_text, counted, driver_errors, has_twins, ordinary, pass_rate, tamper_text, uncounted

__all__ = ["build_report", "main", "render_html", "render_markdown"]


def sandbox_text(records: list[ItemRecord]) -> str:
    """How student commands and oracles were confined (--arena-sandbox), loudly when they were not."""
    counts = Counter(r.sandbox or "not recorded" for r in records)
    parts = [f"{kind} for {n} of {len(records)} runs" for kind, n in sorted(counts.items())]
    unconfined = " (UNCONFINED: student commands ran with the user's rights)" if counts.get("none") else ""
    return f"Sandbox (--arena-sandbox): {'; '.join(parts)}{unconfined}."


def kind_sections(records: list[ItemRecord]) -> list[tuple[str, list[Table | Chart]]]:
    """Pass rates per difficulty and per mutation operator (which kinds of bug a model fixes), each
    only where some record has one."""
    tables = [("Difficulty", difficulty_table(records)), ("Mutation operators", operator_table(records))]
    return [(heading, [table]) for heading, table in tables if table is not None]


def build_report(evidence: Evidence, teacher: str | None) -> Report:
    # The charts need matplotlib (the `report` extra); --export does not, so it loads here.
    from .report_charts import fixture_chart, outcome_chart, temperature_chart
    from .report_measures import measure_sections

    records = evidence.records
    students = students_of(records)
    run_ids = sorted({r.run_id for r in records if r.run_id})
    report = Report("pytest-arena report" + (f": {', '.join(run_ids)}" if run_ids else ""))
    temperatures = ", ".join(f"{t:g}" for t in sorted({r.temperature for r in records}))
    seeds = ", ".join(str(s) for s in sorted({r.seed for r in records}))
    shape = (
        f"{len(records)} runs: {len({r.fixture for r in records})} fixtures x {len(students)} students "
        f"({', '.join(students)}), temperatures {temperatures}, seeds {seeds}."
    )
    solvable = ordinary(records)
    overall = (
        f"Overall pass rate: {pass_rate(solvable)} over all runs; {pass_rate(counted(solvable))} without "
        f"DriverError/HarnessError ({driver_errors(solvable)} DriverError, "
        f"{uncounted(solvable) - driver_errors(solvable)} HarnessError)."
    )
    report.overview = [shape, overall]
    if has_twins(records):
        twins = len(records) - len(solvable)
        report.overview.append(f"Impossible twins: {twins} runs, not in the pass rates; {cheat_text(records)}.")
    report.overview += [
        f"Tamper attempts (TamperDetected): {tamper_text(records)}.",
        sandbox_text(records),
        "Read from: " + "; ".join(s.describe() for s in evidence.sources) + ".",
    ]
    if shards := sorted({r.shard for r in records if r.shard}):
        report.overview.append(f"Shards (--arena-shard): {', '.join(shards)}.")
    if evidence.replaced:
        report.overview.append(
            f"{evidence.replaced} earlier result(s) replaced by a later one of the same item "
            "(latest wins: later input, then later in the file)."
        )
    report.overview += [f"Warning: {w}" for w in evidence.warnings]

    report.sections.append(("Students", [student_table(records)]))
    if (paired := pairs_table(records)) is not None:
        report.sections.append(("Paired comparison", [paired]))
    report.sections.append(("Outcomes", [outcome_chart(records), outcome_table(records)]))
    report.sections.append(("Temperature", [temperature_chart(solvable), temperature_table(solvable)]))
    report.sections.append(("Classes", [class_table(solvable)]))
    report.sections.append(("Fixtures", [fixture_chart(solvable), fixture_table(solvable)]))
    if (twins_block := twins_table(records)) is not None:
        report.sections.append(("Impossible twins", [twins_block]))
    report.sections.extend(measure_sections(records))
    if dialects := dialect_rows(records):
        note = "tool-call rate: turns with at least one parsed call (strict or salvaged) over all turns"
        report.sections.append(("Dialects", [Table("Dialects side by side", list(DIALECT_HEADERS), dialects, note)]))
    report.sections.extend(kind_sections(solvable))
    if teacher is not None and len(students) > 1:
        report.sections.append(("Teacher vs students", list(teacher_tables(solvable, teacher))))
    driver = driver_table(records)
    if driver is not None:
        report.sections.append(("Harness failures", [driver]))
    report.sections.append(("Provenance", [provenance_table(records), model_table(records)]))
    return report


def _parser() -> argparse.ArgumentParser:
    parser = records_parser(
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
    return parser


@command(_parser)
def main(args: argparse.Namespace) -> int:
    inputs = args.inputs or [Path("reports")]
    try:
        evidence = load_inputs(inputs, skip_bad_lines=args.skip_bad_lines)
        students = students_of(evidence.records)
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
    try:
        import matplotlib  # noqa: F401  (the charts' backend, asked for before any file is written)
    except ImportError:
        need = "the report's charts need matplotlib: pip install 'pytest-arena[report]'"
        print(f"arena-report: error: {need}", file=sys.stderr)
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
