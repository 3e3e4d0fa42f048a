"""Per-test evidence of one oracle run, read so that a run cannot pass on an exit code and a
summary line alone: pytest's JUnit file (written by the runner to a harness-owned path outside
the tree it judges) checked against its terminal summary, and cargo's output checked section by
section (each test binary's ``running N tests``, its N result lines and its ``test result:``
counts must agree). Missing, duplicated or contradictory evidence is a named problem, and any
problem fails the oracle's per-test clause (DESIGN.md section 9)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import FixtureSpec
from .testresults import FAILED, PASSED, SKIPPED, parse_pytest, parse_tests

JUNIT_NAME = "junit.xml"
MAX_JUNIT_BYTES = 32 * 1024 * 1024

_CARGO_HEADER = re.compile(r"^\s*(?:Running (?:unittests )?(\S+)|Doc-tests (\S+))", re.MULTILINE)
_CARGO_RUNNING = re.compile(r"^running (\d+) tests?$", re.MULTILINE)
_CARGO_TEST = re.compile(r"^test (\S.*?) \.\.\. (ok|FAILED|ignored)\b", re.MULTILINE)
_CARGO_RESULT = re.compile(
    r"^test result: (ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored; (\d+) measured", re.MULTILINE
)
_DOC_LINE = re.compile(r"\s*\(line \d+\)(?= - compile fail|$)")
_CARGO_STATUS = {"ok": PASSED, "FAILED": FAILED, "ignored": SKIPPED}
# pytest's last line: "14 passed in 0.03s", "== 1 failed, 13 passed, 2 warnings in 0.10s ==".
_PYTEST_FINAL = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+) in [\d.]+s\b.*$", re.MULTILINE)
_PYTEST_COUNT = re.compile(r"(\d+) (\w+)")


@dataclass
class TestEvidence:
    """Test name -> passed | failed | skipped, and every problem found in how it was reported."""

    __test__ = False

    results: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def note(self, name: str, status: str, where: str) -> None:
        """A test reported twice is duplicated evidence; with two statuses, contradictory."""
        previous = self.results.get(name)
        if previous is not None:
            kind = "reported twice" if previous == status else f"reported both {previous} and {status}"
            self.problems.append(f"{where}: test {name} {kind}")
            if FAILED in (previous, status):
                status = FAILED
        self.results[name] = status


def runner(spec: FixtureSpec) -> str:
    """Which runner's evidence the oracle command leaves: pytest, cargo, or other (stdout only)."""
    if spec.test_format in ("pytest", "cargo"):
        return spec.test_format
    if spec.test_format == "auto":
        if re.search(r"\bpytest\b", spec.oracle_cmd):
            return "pytest"
        if re.search(r"\bcargo\s+test\b", spec.oracle_cmd):
            return "cargo"
    return "other"


EVIDENCE_DIR = "evidence"  # harness-owned, beside a tree the oracle judges: its runner's JUnit file


def runner_env(kind: str, evidence_dir: Path | None) -> dict[str, str]:
    """Environment the oracle's test command runs with: pytest writes its JUnit file where the
    harness reads it. Everything else the runner needs is the fixture's (the clean tree)."""
    if kind != "pytest" or evidence_dir is None:
        return {}
    return {"PYTEST_ADDOPTS": f"--junitxml={evidence_dir / JUNIT_NAME} -o junit_family=xunit2"}


def read_evidence(kind: str, output: str, evidence_dir: Path | None, test_format: str = "auto") -> TestEvidence:
    if kind == "cargo":
        return cargo_evidence(output)
    if kind == "pytest" and evidence_dir is not None:
        return pytest_evidence(output, evidence_dir / JUNIT_NAME)
    return TestEvidence(dict(parse_tests(output, test_format)))


def cargo_evidence(output: str) -> TestEvidence:
    found = TestEvidence()
    headers = list(_CARGO_HEADER.finditer(output))
    first = headers[0].start() if headers else len(output)
    if _CARGO_TEST.search(output[:first]) or _CARGO_RESULT.search(output[:first]):
        found.problems.append("test lines before any test binary's section (printed by something else)")
    if not headers:
        found.problems.append("no test binary ran (no 'Running' or 'Doc-tests' section)")
    for index, header in enumerate(headers):
        binary = header.group(1) or f"doc:{header.group(2)}"
        end = headers[index + 1].start() if index + 1 < len(headers) else len(output)
        _cargo_section(found, binary, output[header.end() : end])
    return found


def _cargo_section(found: TestEvidence, binary: str, text: str) -> None:
    where = f"cargo section {binary}"
    running = _CARGO_RUNNING.findall(text)
    results = _CARGO_RESULT.findall(text)
    tests = _CARGO_TEST.findall(text)
    if not running:
        found.problems.append(f"{where}: no 'running N tests' line (the test binary ended before its tests)")
    if not results:
        found.problems.append(f"{where}: no 'test result' line (the test binary ended before its summary)")
    if len(running) > 1 or len(results) > 1:
        found.problems.append(
            f"{where}: {len(running)} 'running' and {len(results)} 'test result' lines, one each expected"
        )
    seen: Counter[str] = Counter()
    for name, status in tests:
        if binary.startswith("doc:"):
            # A doc-test is named by its line ("src/lib.rs - two_sum (line 15)"): an honest edit
            # above it must not rename it. Several of one item are told apart by their order.
            name = _DOC_LINE.sub("", name)
            seen[name] += 1
            name = name if seen[name] == 1 else f"{name} #{seen[name]}"
        found.note(f"{binary}::{name}", _CARGO_STATUS[status], where)
    statuses = Counter(status for _, status in tests)
    if running and int(running[0]) != len(tests):
        found.problems.append(f"{where}: 'running {running[0]} tests' but {len(tests)} result lines")
    if results:
        _, passed, failed, ignored, _ = results[0]
        reported = (int(passed), int(failed), int(ignored))
        counted = (statuses["ok"], statuses["FAILED"], statuses["ignored"])
        if reported != counted:
            found.problems.append(
                f"{where}: summary says {reported[0]} passed, {reported[1]} failed, {reported[2]} ignored; "
                f"the result lines say {counted[0]}, {counted[1]}, {counted[2]}"
            )


def junit_key(nodeid: str) -> str:
    """A pytest node id as its JUnit testcase is named (classname::name): the file path's folders
    and ``.py`` become dotted module parts, classes join them, the last part is the name."""
    parts = nodeid.split("::")
    module = parts[0][:-3] if parts[0].endswith(".py") else parts[0]
    return ".".join([module.replace("/", "."), *parts[1:-1]]) + "::" + parts[-1]


def pytest_evidence(output: str, junit: Path) -> TestEvidence:
    found = TestEvidence()
    try:
        if junit.is_symlink() or not junit.is_file():
            raise OSError("no such file")
        if junit.stat().st_size > MAX_JUNIT_BYTES:
            raise OSError(f"larger than {MAX_JUNIT_BYTES} bytes")
        root = ET.fromstring(junit.read_bytes())
    except (OSError, ET.ParseError) as exc:
        found.problems.append(f"no readable JUnit report from pytest ({exc}): the test process ended before writing it")
        return found
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        _junit_suite(found, suite)
    _agree_with_terminal(found, output)
    return found


def _junit_suite(found: TestEvidence, suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    failed = 0
    for case in cases:
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            status = FAILED
            failed += 1
        elif case.find("skipped") is not None:
            status = SKIPPED
        else:
            status = PASSED
        found.note(name, status, "JUnit report")
    declared = {key: int(suite.get(key, "0") or 0) for key in ("tests", "failures", "errors")}
    if declared["tests"] != len(cases):
        found.problems.append(f"JUnit report: suite says {declared['tests']} tests, it holds {len(cases)} testcases")
    if declared["failures"] + declared["errors"] != failed:
        found.problems.append(
            f"JUnit report: suite says {declared['failures'] + declared['errors']} failed, {failed} testcases failed"
        )


def _agree_with_terminal(found: TestEvidence, output: str) -> None:
    """The terminal's per-test lines and final counts must tell what the JUnit file tells."""
    for nodeid, status in parse_pytest(output).items():
        key = junit_key(nodeid)
        reported = found.results.get(key)
        if reported is None:
            found.problems.append(f"terminal reports {nodeid} {status}, the JUnit report does not list it")
        elif reported != status and SKIPPED not in (reported, status):
            found.problems.append(f"test {nodeid}: terminal says {status}, JUnit report says {reported}")
    finals = _PYTEST_FINAL.findall(output)
    if not finals:
        found.problems.append("no pytest summary line ('N passed in Xs') in the output")
        return
    counts: Counter[str] = Counter()
    for number, word in _PYTEST_COUNT.findall(finals[-1]):
        counts[word.rstrip("s") if word in ("errors", "warnings") else word] += int(number)
    statuses = Counter(found.results.values())
    # A non-strict xpass is a passed testcase in JUnit; a test failing in its call and erroring in
    # teardown is one failed testcase but two terminal counts, so failures only need to be seen.
    passed_agree = counts["passed"] + counts["xpassed"] == statuses[PASSED]
    failed_agree = (counts["failed"] + counts["error"] > 0) == (statuses[FAILED] > 0)
    if not (passed_agree and failed_agree):
        found.problems.append(
            f"terminal summary '{finals[-1].strip('= ')}' disagrees with the JUnit report "
            f"({statuses[PASSED]} passed, {statuses[FAILED]} failed)"
        )
