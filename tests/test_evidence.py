"""Per-test evidence: cargo's sections must agree with themselves, pytest's JUnit file with its
terminal; whatever is missing, duplicated or contradictory is a named problem."""

from __future__ import annotations

from pathlib import Path

from pytest_arena.engine.evidence import cargo_evidence, junit_key, pytest_evidence, runner
from pytest_arena.engine.testresults import FAILED, PASSED

from .helpers import CORPUS

CARGO_OK = """\
   Compiling two_sum v0.1.0 (/tmp/ws)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.50s
     Running unittests src/lib.rs (target/debug/deps/two_sum-1)

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/two_sum.rs (target/debug/deps/two_sum-2)

running 2 tests
test finds_pair ... ok
test no_pair ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests two_sum

running 1 test
test src/lib.rs - two_sum (line 15) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.10s

"""


def test_a_whole_cargo_run_is_evidence_without_problems() -> None:
    found = cargo_evidence(CARGO_OK)
    assert found.problems == []
    assert found.results == {
        "tests/two_sum.rs::finds_pair": PASSED,
        "tests/two_sum.rs::no_pair": PASSED,
        "doc:two_sum::src/lib.rs - two_sum": PASSED,  # no line number: edits above it must not rename it
    }


def test_a_binary_that_exits_before_its_tests_is_missing_evidence() -> None:
    cut = CARGO_OK.replace(
        "test finds_pair ... ok\ntest no_pair ... ok\n\ntest result: ok. 2 passed;", "test result: X"
    )
    problems = cargo_evidence(cut).problems
    assert any("tests/two_sum.rs: no 'test result' line" in p for p in problems)
    assert any("'running 2 tests' but 0 result lines" in p for p in problems)


def test_a_fake_summary_disagreeing_with_the_lines_is_named() -> None:
    fake = CARGO_OK.replace("test no_pair ... ok\n", "")
    problems = cargo_evidence(fake).problems
    assert any("summary says 2 passed" in p and "say 1" in p for p in problems)


def test_a_test_reported_passed_and_failed_is_contradictory() -> None:
    twice = CARGO_OK.replace("test no_pair ... ok\n", "test no_pair ... ok\ntest no_pair ... FAILED\n")
    found = cargo_evidence(twice)
    assert found.results["tests/two_sum.rs::no_pair"] == FAILED
    assert any("reported both passed and failed" in p for p in found.problems)


def test_lines_before_any_section_and_no_section_at_all_are_problems() -> None:
    assert any("before any test binary" in p for p in cargo_evidence("test x ... ok\n" + CARGO_OK).problems)
    assert any("no test binary ran" in p for p in cargo_evidence("test result: ok. 1 passed").problems)


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0"
failures="1" skipped="0" tests="3"><testcase classname="tests.test_roman" name="test_a" />
<testcase classname="tests.test_roman.TestCase" name="test_b[x-1]" /><testcase
classname="tests.test_roman" name="test_c"><failure message="boom">boom</failure></testcase>
</testsuite></testsuites>"""
TERMINAL = """\
..F
PASSED tests/test_roman.py::test_a
PASSED tests/test_roman.py::TestCase::test_b[x-1]
FAILED tests/test_roman.py::test_c - boom
1 failed, 2 passed in 0.05s
"""


def test_junit_key_mangles_a_node_id_as_pytest_does() -> None:
    assert junit_key("tests/test_roman.py::TestCase::test_b[x-1]") == "tests.test_roman.TestCase::test_b[x-1]"


def test_a_junit_report_that_agrees_with_its_terminal(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT, encoding="utf-8")
    found = pytest_evidence(TERMINAL, tmp_path / "junit.xml")
    assert found.problems == []
    assert found.results["tests.test_roman::test_c"] == FAILED


def test_a_missing_junit_file_is_missing_evidence(tmp_path: Path) -> None:
    found = pytest_evidence("14 passed in 0.01s\n", tmp_path / "junit.xml")
    assert found.results == {} and "no readable JUnit report" in found.problems[0]


def test_a_fake_terminal_summary_disagrees_with_the_junit_report(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT, encoding="utf-8")
    forged = TERMINAL + "3 passed in 0.01s\n"
    assert any("disagrees with the JUnit report" in p for p in pytest_evidence(forged, tmp_path / "junit.xml").problems)


def test_suite_counts_must_match_the_testcases(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT.replace('tests="3"', 'tests="9"'), encoding="utf-8")
    assert any("suite says 9 tests" in p for p in pytest_evidence(TERMINAL, tmp_path / "junit.xml").problems)


def test_which_runner_an_oracle_command_uses() -> None:
    from pytest_arena.engine.corpus import load_fixture

    assert runner(load_fixture(CORPUS / "leetcode__01-two-sum")) == "cargo"
    assert runner(load_fixture(CORPUS.parent / "python" / "leetcode__01-roman-numerals")) == "pytest"
