"""The compound oracle: test command exits 0 AND its output matches AND compliance exits 0."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .commands import CommandResult
from .corpus import FixtureSpec
from .workspace import Workspace

COMPLIANCE_CHECK = "compliance_cmd"
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

    @property
    def tests_passed(self) -> bool:
        return self.tests.ok and self.pattern_found

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


def judge(spec: FixtureSpec, ws: Workspace, checks: Sequence[ComplianceCheck]) -> Verdict:
    """Run the oracle on the workspace as it is (protected files already restored)."""
    tests = ws.run(spec.oracle_cmd, spec.oracle_timeout_s)
    found = bool(re.search(spec.expected_pattern, tests.output, re.MULTILINE))
    verdict = Verdict(tests, spec.expected_pattern, found)
    if verdict.tests_passed:  # compliance only decides between passed and ComplianceFailed
        verdict.compliance = run_compliance(ws, checks, spec.oracle_timeout_s)
    return verdict
