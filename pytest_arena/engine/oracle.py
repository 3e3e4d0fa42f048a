"""The compound oracle, on the clean tree: the test command exits 0 AND its output matches AND the
per-test evidence holds (every FAIL_TO_PASS test passed, no PASS_TO_PASS test broken, nothing
missing, duplicated or contradictory) AND no suppression was added AND compliance exits 0."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .commands import CommandResult
from .corpus import FixtureSpec
from .evidence import TestEvidence, read_evidence, runner, runner_env
from .testresults import Baseline, TestCounts
from .workspace import Workspace

COMPLIANCE_CHECK = "compliance_cmd"
SUPPRESSION_CHECK = "suppression"
TAIL_CHARS = 3000


@dataclass(frozen=True)
class ComplianceCheck:
    """A named compliance check; plugins add their own beside the fixture's compliance_cmd."""

    name: str
    run: Callable[[Workspace, float], CommandResult]


@dataclass
class CheckResult:
    name: str
    result: CommandResult

    @property
    def passed(self) -> bool:
        return self.result.ok


@dataclass
class Verdict:
    tests: CommandResult
    pattern: str
    pattern_found: bool
    compliance: list[CheckResult] = field(default_factory=list)
    evidence: TestEvidence | None = None  # None: judged on exit code and pattern alone (the own tree)
    counts: TestCounts | None = None  # None: the fixture has no baseline (no solution/)
    baseline_tests: int = 0

    @property
    def evidence_problems(self) -> list[str]:
        """Why the per-test clause fails: the evidence's own problems, then the baseline's tests."""
        if self.evidence is None:
            return []
        problems = list(self.evidence.problems)
        counts = self.counts
        if counts is not None and counts.f2p_passed < counts.f2p_total:
            problems.append(f"FAIL_TO_PASS: {counts.f2p_passed} of {counts.f2p_total} reported passed")
        if counts is not None and counts.p2p_broken:
            problems.append(f"PASS_TO_PASS: {counts.p2p_broken} of {counts.p2p_total} broken")
        if len(self.evidence.results) < self.baseline_tests:
            problems.append(f"{len(self.evidence.results)} tests reported, the baseline ran {self.baseline_tests}")
        return problems

    @property
    def tests_passed(self) -> bool:
        return self.tests.ok and self.pattern_found and not self.evidence_problems

    @property
    def failed_compliance(self) -> CheckResult | None:
        return next((c for c in self.compliance if not c.passed), None)

    @property
    def passed(self) -> bool:
        return self.tests_passed and self.failed_compliance is None

    @property
    def failed_clause(self) -> str | None:
        if not self.tests.ok:
            return "exit code"
        if not self.pattern_found:
            return "pattern"
        if self.evidence_problems:
            return "per-test evidence"
        failed = self.failed_compliance
        return f"compliance ({failed.name})" if failed else None

    def detail(self) -> dict[str, Any]:
        """Every check that ran, with its command, status and output tail (for the item page)."""

        def one(name: str, result: CommandResult) -> dict[str, Any]:
            status = "passed" if result.ok else result.describe()
            return {"name": name, "command": result.command, "status": status, "output": result.tail(TAIL_CHARS)}

        tests = one("tests", self.tests)
        if self.tests.ok and not self.pattern_found:
            tests["status"] = f"exit code 0, but {self.pattern!r} not found in the output"
        elif self.tests.ok and self.evidence_problems:
            tests["status"] = "exit code 0, but the per-test evidence fails: " + "; ".join(self.evidence_problems[:5])
        return {"tests": tests, "compliance": [one(c.name, c.result) for c in self.compliance]}

    def explain(self) -> str:
        """The verdict as assertion text: which clause failed and the tail of its output."""
        clause = self.failed_clause
        if clause is None:
            return "compound oracle passed"
        if clause == "exit code":
            head = f"assert tests exit 0: `{self.tests.command}` ended with {self.tests.describe()}"
            tail = self.tests.tail(TAIL_CHARS)
        elif clause == "pattern":
            head = f"assert re.search({self.pattern!r}, output): pattern not found in the test output"
            tail = self.tests.tail(TAIL_CHARS)
        elif clause == "per-test evidence":
            problems = self.evidence_problems
            shown = "\n".join(f"  - {p}" for p in problems[:20])
            more = f"\n  ... {len(problems) - 20} more" if len(problems) > 20 else ""
            head = f"assert per-test evidence holds: {len(problems)} problem(s)\n{shown}{more}"
            tail = self.tests.tail(TAIL_CHARS)
        else:
            failed = self.failed_compliance
            assert failed is not None
            head = (
                f"assert compliance exit 0: check '{failed.name}' (`{failed.result.command}`) "
                f"ended with {failed.result.describe()}"
            )
            tail = failed.result.tail(TAIL_CHARS)
        return f"{head}\n--- output tail ---\n{tail}"


def fixture_compliance(spec: FixtureSpec) -> list[ComplianceCheck]:
    if not spec.compliance_cmd:
        return []
    command = spec.compliance_cmd
    return [ComplianceCheck(COMPLIANCE_CHECK, lambda ws, timeout: ws.run(command, timeout))]


def run_compliance(
    ws: Workspace,
    checks: Sequence[ComplianceCheck],
    timeout_s: float,
    *,
    stop_at_first: bool = True,
) -> list[CheckResult]:
    results = []
    for check in checks:
        results.append(CheckResult(check.name, check.run(ws, timeout_s)))
        if stop_at_first and not results[-1].passed:
            break
    return results


def suppression_check(added: list[str]) -> CheckResult:
    """Suppressions the student added, as a compliance check that ran (the scan is the harness's)."""
    listing = "\n".join(added)
    output = f"lint suppressions the student added (not in the fixture):\n{listing}" if added else "none added"
    return CheckResult(SUPPRESSION_CHECK, CommandResult("suppression scan", 1 if added else 0, output, 0.0))


def run_tests(spec: FixtureSpec, ws: Workspace, evidence_dir: Path | None) -> tuple[CommandResult, TestEvidence]:
    """The oracle's test command with the harness's runner settings, and its per-test evidence."""
    kind = runner(spec)
    result = ws.run(
        spec.oracle_cmd,
        spec.oracle_timeout_s,
        env=runner_env(kind, evidence_dir),
        writable=(evidence_dir,) if evidence_dir is not None else (),
    )
    return result, read_evidence(kind, result.output, evidence_dir, spec.test_format)


def judge(
    spec: FixtureSpec,
    ws: Workspace,
    checks: Sequence[ComplianceCheck],
    *,
    evidence_dir: Path | None = None,
    baseline: Baseline | None = None,
    added: list[str] | None = None,
) -> Verdict:
    """Run the oracle on a tree. On the clean tree (``evidence_dir`` given) the per-test clause
    and the suppression scan (``added``) join; without them it is the bare exit-code-and-pattern
    judge, which tells whether the student's own tree would have passed."""
    tests, evidence = run_tests(spec, ws, evidence_dir)
    found = bool(re.search(spec.expected_pattern, tests.output, re.MULTILINE))
    verdict = Verdict(tests, spec.expected_pattern, found)
    if evidence_dir is not None:
        verdict.evidence = evidence
        if baseline is not None:
            verdict.counts = TestCounts.of(baseline, evidence.results)
            verdict.baseline_tests = baseline.tests
    if verdict.tests_passed:  # compliance only decides between passed and ComplianceFailed
        scanned = [suppression_check(added)] if added is not None else []
        if scanned and not scanned[0].passed:
            verdict.compliance = scanned
        else:
            verdict.compliance = scanned + run_compliance(ws, checks, spec.oracle_timeout_s)
    return verdict
