"""``arena-gate``: decide release gates (V1_004 first) from JUnit files written by ``pytest --arena``.

    arena-gate reports/junit.xml [more.xml ...] [--gates gates.toml] [--gate NAME ...]

Exit status: 0 every selected gate holds; 1 at least one does not (FAIL, or NO EVIDENCE: a gate
that no run matches is not passed); 2 the input cannot support a decision (unreadable or
malformed XML, no arena test cases, an unknown ``--gate``, a malformed gates file). The gates
file's format is described in :mod:`pytest_arena.results.gate_logic`. Before the summary, every
two students of the input are compared on the fixtures both ran (:mod:`pytest_arena.results.pairs`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import command, records_parser
from .gate_keys import unknown_select_key
from .gate_logic import PASS, GateConfigError, GateResult, evaluate, fixture_rates, load_gates, pass_at_1
from .junit import Evidence, InputError, load_inputs
from .pairs import pair_lines
from .tally import cheat_text, driver_errors, has_twins, outcome_counts, pass_rate, tamper_text

__all__ = ["GateConfigError", "evaluate", "load_gates", "main", "scoreboard"]


def scoreboard(results: list[GateResult], evidence: Evidence, gates_path: Path) -> str:
    lines = [f"arena-gate: {len(evidence.records)} arena runs from {len(evidence.sources)} file(s):"]
    lines += [f"  {source.describe()}" for source in evidence.sources]
    if evidence.replaced:
        lines.append(
            f"  {evidence.replaced} earlier result(s) replaced by a later one of the same item "
            "(latest wins: later file, then later in the file)"
        )
    lines += [f"  warning: {w}" for w in evidence.warnings]
    lines.append(f"gates: {gates_path}")
    for result in results:
        spec = result.spec
        lines.append("")
        lines.append(f"GATE {result.name}: {result.status}")
        if spec.description:
            lines.append(f"  {spec.description}")
        students = sorted({r.student for r in result.matched})
        driver = driver_errors(result.matched)
        harness = sum(r.outcome == "HarnessError" for r in result.matched)
        treatment = "counted as failures" if spec.count_driver_errors else "reported, not counted"
        lines.append(
            f"  select {spec.select_text()}: {len(result.matched)} of {result.total} runs"
            + (f" (students: {', '.join(students)})" if students else "")
            + f"; {driver} DriverError, {harness} HarnessError ({treatment})"
        )
        for note in result.notes:
            lines.append(f"  {note}")
        for part in result.parts:
            rates = fixture_rates(part.ordinary)
            passing = sum(r.passed > 0 for r in rates.values())
            cheat = f"; {cheat_text(part.counted)}" if has_twins(part.counted) else ""
            lines.append(
                f"  {part.label}: {part.status}; pass rate {part.rate}; "
                f"pass@1 {pass_at_1(part.ordinary):.3f}{cheat}; fixtures passing {passing}/{len(rates)}; "
                f"tamper attempts {tamper_text(part.counted)}; outcomes: {outcome_counts(part.runs, empty='none')}"
            )
            for check in part.checks:
                lines.append(f"    [{'ok' if check.ok else 'FAIL'}] {check.requirement}: {check.detail}")
    if paired := pair_lines(evidence.records):
        lines += ["", *paired]
    lines.append("")
    lines.append("SUMMARY")
    width = max([len("gate")] + [len(r.name) for r in results])
    lines.append(f"  {'gate':<{width}}  {'status':<11}  {'runs':>5}  pass rate (counted runs)")
    for result in results:
        rate = pass_rate([r for p in result.parts for r in p.ordinary])
        lines.append(f"  {result.name:<{width}}  {result.status:<11}  {len(result.matched):>5}  {rate}")
    held = sum(r.status == PASS for r in results)
    exit_code = 0 if held == len(results) else 1
    lines.append("")
    lines.append(
        f"{held} of {len(results)} selected gate(s) hold; exit {exit_code}"
        + ("" if exit_code == 0 else " (a gate with NO EVIDENCE does not hold)")
    )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = records_parser(
        prog="arena-gate",
        description="Decide gates (gates.toml) from JUnit XML written by pytest --arena --junitxml. "
        "Exit 0: every selected gate holds; 1: one does not (FAIL or NO EVIDENCE); "
        "2: the input cannot support a decision.",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="JUNIT",
        help="JUnit XML files (a run folder reports/<run-id> works too); for a repeated item the later file wins",
    )
    parser.add_argument(
        "--gates",
        type=Path,
        default=Path("gates.toml"),
        metavar="PATH",
        help="gate definitions (default: ./gates.toml)",
    )
    parser.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="NAME",
        help="evaluate this gate (repeatable; default: every gate in the file)",
    )
    return parser


@command(_parser)
def main(args: argparse.Namespace) -> int:
    try:
        gates = load_gates(args.gates)
        unknown = [name for name in args.gate if name not in gates]
        if unknown:
            raise GateConfigError(f"unknown gate '{unknown[0]}' (not in {args.gates}); defined: {', '.join(gates)}")
        evidence = load_inputs(args.inputs, skip_bad_lines=args.skip_bad_lines)
        if problem := unknown_select_key({name: gates[name] for name in (args.gate or gates)}, evidence.records):
            raise GateConfigError(problem)
    except (GateConfigError, InputError) as exc:
        print(f"arena-gate: error: {exc}", file=sys.stderr)
        return 2
    names = list(dict.fromkeys(args.gate)) or list(gates)
    results = [evaluate(name, gates[name], evidence.records) for name in names]
    print(scoreboard(results, evidence, args.gates))
    return 0 if all(r.status == PASS for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
