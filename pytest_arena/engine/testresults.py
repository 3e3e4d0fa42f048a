"""Per-test results read from a test runner's output (cargo/libtest, unittest -v, pytest -rA/-v;
a plugin's language registers its own) and the FAIL_TO_PASS / PASS_TO_PASS counts of one run
against a fixture's baseline."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .languages import test_formats

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
# Bumped whenever a parser changes, so cached baselines made by an older parser are not reused.
PARSER_VERSION = "2"  # 2: per-test evidence (pytest from JUnit), clean trees with hidden tests

_CARGO_BINARY = re.compile(r"^\s*(?:Running (?:unittests )?(\S+)|Doc-tests (\S+))", re.MULTILINE)
_CARGO_TEST = re.compile(r"^test (\S.*?) \.\.\. (ok|FAILED|ignored)\b", re.MULTILINE)
_CARGO_STATUS = {"ok": PASSED, "FAILED": FAILED, "ignored": SKIPPED}

# "test_x (pkg.mod.Case.test_x) ... ok"; a docstring's first line may sit between name and status.
_UNITTEST = re.compile(
    r"^(\w+) \(([\w.]+)\)(?:\n[^\n]*?)? \.\.\. (ok|FAIL|ERROR|skipped|expected failure|unexpected success)",
    re.MULTILINE,
)
_UNITTEST_STATUS = {
    "ok": PASSED,
    "expected failure": PASSED,
    "FAIL": FAILED,
    "ERROR": FAILED,
    "unexpected success": FAILED,
    "skipped": SKIPPED,
}

# -rA's short summary ("PASSED tests/t.py::test_a", "FAILED tests/t.py::test_b - assert 1 == 2")
# and -v's progress lines ("tests/t.py::test_a PASSED  [ 50%]").
_PYTEST_SUMMARY = re.compile(
    r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S+?::[^\[\s]*(?:\[[^\n]*?\])?)(?: - [^\n]*)?$", re.MULTILINE
)
_PYTEST_VERBOSE = re.compile(
    r"^(\S+?::[^\[\s]*(?:\[[^\n]*?\])?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b", re.MULTILINE
)
_PYTEST_STATUS = {
    "PASSED": PASSED,
    "XFAIL": PASSED,
    "FAILED": FAILED,
    "ERROR": FAILED,
    "XPASS": FAILED,
    "SKIPPED": SKIPPED,
}


def _worst(results: dict[str, str], name: str, status: str) -> None:
    """A test reported twice (a failing test's call and teardown) keeps its worst status."""
    if results.get(name) != FAILED:
        results[name] = status


def parse_cargo(output: str) -> dict[str, str]:
    """``test NAME ... ok|FAILED|ignored``, named by test binary: the same test name may live in
    the library's unit tests and in an integration test file."""
    results: dict[str, str] = {}
    binaries = [(m.start(), m.group(1) or f"doc:{m.group(2)}") for m in _CARGO_BINARY.finditer(output)]
    for match in _CARGO_TEST.finditer(output):
        binary = next((name for start, name in reversed(binaries) if start < match.start()), "")
        key = f"{binary}::{match.group(1)}" if binary else match.group(1)
        _worst(results, key, _CARGO_STATUS[match.group(2)])
    return results


def parse_unittest(output: str) -> dict[str, str]:
    results: dict[str, str] = {}
    for match in _UNITTEST.finditer(output):
        method, dotted, status = match.groups()
        # Python 3.11+ prints the full id; older versions print the class only.
        key = dotted if dotted.endswith("." + method) else f"{dotted}.{method}"
        _worst(results, key, _UNITTEST_STATUS[status])
    return results


def parse_pytest(output: str) -> dict[str, str]:
    results: dict[str, str] = {}
    for match in _PYTEST_SUMMARY.finditer(output):
        _worst(results, match.group(2).strip(), _PYTEST_STATUS[match.group(1)])
    for match in _PYTEST_VERBOSE.finditer(output):
        _worst(results, match.group(1).strip(), _PYTEST_STATUS[match.group(2)])
    return results


def parse_tests(output: str, test_format: str = "auto") -> dict[str, str]:
    """Test name -> passed | failed | skipped, read by the parser a language registered under
    ``test_format`` (engine.languages). ``auto`` reads every format: their line shapes do not
    overlap, so a fixture mixing runners (cargo plus a Python script) is read whole."""
    parsers = test_formats()
    if test_format != "auto":
        return parsers[test_format](output)
    results: dict[str, str] = {}
    for parse in parsers.values():
        for name, status in parse(output).items():
            _worst(results, name, status)
    return results


@dataclass(frozen=True)
class Baseline:
    """A fixture's tests as the pristine tree and the reference solution leave them."""

    fail_to_pass: tuple[str, ...]  # fail (or are missing) in the pristine tree, pass with solution/
    pass_to_pass: tuple[str, ...]  # pass in both
    tests: int = 0  # tests the solution's run reported: a run reporting fewer lost some

    @classmethod
    def derive(cls, pristine: Mapping[str, str], solution: Mapping[str, str]) -> Baseline:
        fixed = sorted(n for n, s in solution.items() if s == PASSED and pristine.get(n) != PASSED)
        kept = sorted(n for n, s in solution.items() if s == PASSED and pristine.get(n) == PASSED)
        return cls(tuple(fixed), tuple(kept), len(solution))


@dataclass(frozen=True)
class TestCounts:
    """One run's tests against the baseline (SWE-bench's FAIL_TO_PASS / PASS_TO_PASS)."""

    __test__ = False  # not a pytest test class, whatever its name

    f2p_total: int
    f2p_passed: int
    p2p_total: int
    p2p_broken: int

    @classmethod
    def of(cls, baseline: Baseline, run: Mapping[str, str]) -> TestCounts:
        return cls(
            f2p_total=len(baseline.fail_to_pass),
            f2p_passed=sum(run.get(n) == PASSED for n in baseline.fail_to_pass),
            p2p_total=len(baseline.pass_to_pass),
            p2p_broken=sum(run.get(n) != PASSED for n in baseline.pass_to_pass),
        )

    @classmethod
    def untouched(cls, baseline: Baseline) -> TestCounts:
        """A tree the student never changed is the pristine tree: nothing fixed, nothing broken."""
        return cls(len(baseline.fail_to_pass), 0, len(baseline.pass_to_pass), 0)
