"""The compound oracle's verdict rules (tests exit 0, pattern found, compliance exit 0, in that order)
on in-memory command results and on a fixture of a few shell lines, and the outcome taxonomy."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_arena.engine import outcomes as oc
from pytest_arena.engine.commands import CommandResult
from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.oracle import CheckResult, ComplianceCheck, Verdict, judge, run_compliance
from pytest_arena.engine.sandbox import Sandbox
from pytest_arena.engine.workspace import Workspace
from pytest_arena.outcome_display import SHOWN

from .helpers import tiny_fixture

PASSED = CommandResult("sh tests/check.sh", 0, "1 passed\n", 0.1)
FAILED = CommandResult("sh tests/check.sh", 1, "1 failed: answer.txt says 41\n", 0.1)
TIMED_OUT = CommandResult("sh tests/check.sh", None, "", 9.0, timed_out=True)
LINT = CheckResult("lint", CommandResult("lint .", 1, "answer.txt:2: TODO\n", 0.1))
CLEAN = CheckResult("clean", CommandResult("true", 0, "", 0.0))


@pytest.mark.parametrize(
    ("tests", "found", "compliance", "clause"),
    [
        (FAILED, False, [], "exit code"),
        (FAILED, True, [CLEAN], "exit code"),  # a pattern in the output of a failing run does not help
        (TIMED_OUT, True, [], "exit code"),
        (PASSED, False, [CLEAN], "pattern"),
        (PASSED, True, [CLEAN, LINT], "compliance (lint)"),
        (PASSED, True, [CLEAN], None),
        (PASSED, True, [], None),
    ],
)
def test_the_first_failing_clause_decides(
    tests: CommandResult, found: bool, compliance: list[CheckResult], clause: str | None
) -> None:
    verdict = Verdict(tests, "^1 passed$", found, compliance)
    assert verdict.failed_clause == clause
    assert verdict.passed is (clause is None)
    assert verdict.tests_passed is (clause is None or clause.startswith("compliance"))


def test_explain_names_the_clause_and_the_tail_of_its_output() -> None:
    assert Verdict(PASSED, "^1 passed$", True).explain() == "compound oracle passed"
    failed = Verdict(FAILED, "^1 passed$", False).explain()
    assert failed.startswith("assert tests exit 0: `sh tests/check.sh` ended with exit code 1")
    assert failed.endswith("--- output tail ---\n1 failed: answer.txt says 41\n")
    assert "timed out after 9s" in Verdict(TIMED_OUT, "x", False).explain()
    pattern = Verdict(PASSED, "^2 passed$", False).explain()
    assert pattern.startswith("assert re.search('^2 passed$', output): pattern not found")
    lint = Verdict(PASSED, "^1 passed$", True, [LINT]).explain()
    assert lint.startswith("assert compliance exit 0: check 'lint' (`lint .`) ended with exit code 1")
    assert lint.endswith("answer.txt:2: TODO\n")


def test_detail_lists_every_check_that_ran() -> None:
    detail = Verdict(PASSED, "^2 passed$", False).detail()
    assert detail["tests"]["status"] == "exit code 0, but '^2 passed$' not found in the output"
    detail = Verdict(PASSED, "^1 passed$", True, [CLEAN, LINT]).detail()
    assert detail["tests"] == {
        "name": "tests",
        "command": "sh tests/check.sh",
        "status": "passed",
        "output": "1 passed\n",
    }
    assert [(c["name"], c["status"]) for c in detail["compliance"]] == [("clean", "passed"), ("lint", "exit code 1")]


def counting(name: str, exit_code: int, calls: list[str]) -> ComplianceCheck:
    def run(ws: Workspace, timeout_s: float) -> CommandResult:
        calls.append(name)
        return CommandResult(name, exit_code, "", 0.0)

    return ComplianceCheck(name, run)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    spec = load_fixture(tiny_fixture(tmp_path))
    ws = Workspace(spec.repo_dir, spec.protected, sandbox=Sandbox("none"))
    yield ws
    ws.cleanup()


def test_compliance_runs_only_once_the_tests_pass(tmp_path: Path, workspace: Workspace) -> None:
    spec = load_fixture(tmp_path / "tiny__01-answer")
    calls: list[str] = []
    checks = [counting("first", 0, calls)]
    verdict = judge(spec, workspace, checks)
    assert verdict.failed_clause == "exit code" and verdict.compliance == [] and calls == []
    (workspace.root / "answer.txt").write_text("42\n")
    verdict = judge(spec, workspace, checks)
    assert verdict.passed and calls == ["first"]


def test_the_pattern_must_match_a_whole_line_of_the_output(tmp_path: Path) -> None:
    spec = load_fixture(tiny_fixture(tmp_path, expected_pattern="^2 passed$"))
    ws = Workspace(spec.repo_dir, spec.protected, sandbox=Sandbox("none"))
    try:
        (ws.root / "answer.txt").write_text("42\n")
        verdict = judge(spec, ws, [])
    finally:
        ws.cleanup()
    assert verdict.tests.ok and not verdict.pattern_found and verdict.failed_clause == "pattern"


def test_run_compliance_stops_at_the_first_failure_unless_asked(workspace: Workspace) -> None:
    calls: list[str] = []
    checks = [counting("a", 0, calls), counting("b", 1, calls), counting("c", 0, calls)]
    assert [c.name for c in run_compliance(workspace, checks, 10)] == ["a", "b"]
    assert [c.passed for c in run_compliance(workspace, checks, 10, stop_at_first=False)] == [True, False, True]
    assert calls == ["a", "b", "a", "b", "c"]


def test_every_outcome_has_one_place_in_the_order_and_a_distinct_letter() -> None:
    """DESIGN.md section 6: the first that applies decides; the report lists outcomes in this order."""
    assert [cls.__name__ for cls in oc.ORDER] == [
        "DriverError", "HarnessError", "WallTimeout", "ContextExhausted", "ComplianceTrap", "AgentTextLoop",
        "TamperDetected", "OraclePassed", "ComplianceFailed", "OracleFailedAfterMaxTurns", "OracleFailed",
    ]  # fmt: skip
    assert set(oc.ORDER) == set(oc.Outcome.__subclasses__())
    assert set(SHOWN) == set(oc.BY_NAME)  # how pytest shows each (the glue's table)
    assert len({letter for letter, _ in SHOWN.values()}) == len(oc.ORDER)
    assert [cls.__name__ for cls in oc.ORDER if cls.passed] == ["OraclePassed"]
    assert sorted(oc.NOT_COUNTED) == ["DriverError", "HarnessError"]
    assert oc.BY_NAME["WallTimeout"] is oc.WallTimeout


def test_every_outcome_is_a_frozen_record_of_its_fields() -> None:
    trap = oc.ComplianceTrap(file="answer.txt", last_reason="TODO", consecutive_count=3)
    assert dataclasses.is_dataclass(trap) and trap == oc.ComplianceTrap("answer.txt", "TODO", 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        trap.consecutive_count = 4  # type: ignore[misc]
    assert {cls.__name__: len(dataclasses.fields(cls)) for cls in oc.ORDER if not dataclasses.fields(cls)} == {
        "OraclePassed": 0
    }


def test_an_outcome_summarises_its_fields() -> None:
    assert oc.OraclePassed().summary() == "OraclePassed"
    trap = oc.ComplianceTrap(file="answer.txt", last_reason="TODO", consecutive_count=3)
    assert trap.summary() == "ComplianceTrap(file='answer.txt', last_reason='TODO', consecutive_count=3)"
    assert trap.fields() == {"file": "answer.txt", "last_reason": "TODO", "consecutive_count": 3}
