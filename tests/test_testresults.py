"""Per-test results read from real runner output (unittest -v, pytest -rA and -v; cargo in the
corpus tests), FAIL_TO_PASS / PASS_TO_PASS, and the pass@k estimator against brute force."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_arena.engine.corpus import FixtureError, load_fixture
from pytest_arena.engine.testresults import Baseline, TestCounts, parse_cargo, parse_tests
from pytest_arena.results.stats import pass_at_k, pass_at_k_curve

from .helpers import CORPUS

TESTS = '''
import unittest

class Maths(unittest.TestCase):
    def test_adds(self):
        self.assertEqual(1 + 1, 2)

    def test_breaks(self):
        """A docstring shown by -v."""
        self.assertEqual(1 + 1, 3)

    def test_raises(self):
        raise RuntimeError("boom")

    @unittest.skip("not today")
    def test_skipped(self):
        pass

def test_plain():
    assert True

def test_plain_fails():
    assert 1 == 2

import pytest

@pytest.mark.parametrize("a,b", [("x y", 1), ("x - y", 2)])
def test_param(a, b):
    assert b == 1
'''


def _run(tmp_path: Path, *args: str) -> str:
    (tmp_path / "test_sample.py").write_text(TESTS)
    proc = subprocess.run([sys.executable, "-m", *args], cwd=tmp_path, capture_output=True, text=True, check=False)
    return proc.stdout + proc.stderr


def test_unittest_verbose(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(TESTS.split("def test_plain")[0])
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "-v", "test_sample"], cwd=tmp_path, capture_output=True, text=True
    )
    output = proc.stderr
    assert parse_tests(output, "unittest") == {
        "test_sample.Maths.test_adds": "passed",
        "test_sample.Maths.test_breaks": "failed",
        "test_sample.Maths.test_raises": "failed",
        "test_sample.Maths.test_skipped": "skipped",
    }
    assert parse_tests(output) == parse_tests(output, "unittest")


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["-q", "-rA"], ["-v"]])
def test_pytest_short_summary_and_verbose(tmp_path: Path, flags: list[str]) -> None:
    output = _run(tmp_path, "pytest", "-p", "no:cacheprovider", *flags)
    results = parse_tests(output, "pytest")
    assert results["test_sample.py::test_plain"] == "passed"
    assert results["test_sample.py::test_plain_fails"] == "failed"
    assert results["test_sample.py::Maths::test_adds"] == "passed"
    assert results["test_sample.py::Maths::test_raises"] == "failed"
    # Parametrized ids keep their spaces and dashes; a failure's " - message" is not part of the id.
    assert results["test_sample.py::test_param[x y-1]"] == "passed"
    assert results["test_sample.py::test_param[x - y-2]"] == "failed"
    assert parse_tests(output) == results


def test_cargo_names_tests_by_binary() -> None:
    output = """
     Running unittests src/lib.rs (target/debug/deps/wc-1)
running 1 test
test tests::counts ... ok
     Running tests/cli.rs (target/debug/deps/cli-2)
running 3 tests
test counts ... FAILED
test prints ... ok
test later ... ignored
   Doc-tests wc
test src/lib.rs - count (line 3) ... ok
"""
    assert parse_cargo(output) == {
        "src/lib.rs::tests::counts": "passed",
        "tests/cli.rs::counts": "failed",
        "tests/cli.rs::prints": "passed",
        "tests/cli.rs::later": "skipped",
        "doc:wc::src/lib.rs - count (line 3)": "passed",
    }


def test_fail_to_pass_and_pass_to_pass() -> None:
    pristine = {"a": "failed", "b": "passed", "c": "passed"}
    solution = {"a": "passed", "b": "passed", "c": "passed", "d": "passed", "e": "skipped"}
    baseline = Baseline.derive(pristine, solution)
    assert baseline == Baseline(("a", "d"), ("b", "c"), tests=5)  # a later run reporting fewer lost some
    assert TestCounts.of(baseline, {"a": "passed", "b": "failed"}) == TestCounts(2, 1, 2, 2)
    assert TestCounts.untouched(baseline) == TestCounts(2, 0, 2, 0)


def test_test_format_is_validated(tmp_path: Path) -> None:
    import shutil

    fixture = shutil.copytree(CORPUS / "unix__01-wc", tmp_path / "unix__01-wc", ignore=shutil.ignore_patterns("target"))
    meta = fixture / "meta.toml"
    meta.write_text(meta.read_text() + 'test_format = "junit"\n')
    with pytest.raises(FixtureError, match=r"key 'test_format'.*'auto', 'cargo', 'unittest' or 'pytest'"):
        load_fixture(fixture)


def _brute_force(n: int, c: int, k: int) -> float:
    outcomes = [True] * c + [False] * (n - c)
    draws = list(itertools.combinations(range(n), k))
    return sum(any(outcomes[i] for i in draw) for draw in draws) / len(draws)


@pytest.mark.parametrize(("n", "c"), [(1, 0), (1, 1), (3, 1), (5, 2), (6, 0), (6, 6), (7, 3)])
def test_pass_at_k_is_the_unbiased_estimator(n: int, c: int) -> None:
    for k in range(1, n + 1):
        assert pass_at_k(n, c, k) == pytest.approx(_brute_force(n, c, k))
    assert pass_at_k(n, c, 1) == pytest.approx(c / n)
    with pytest.raises(ValueError):
        pass_at_k(n, c, n + 1)


def test_pass_at_k_curve_means_over_fixtures_with_a_bootstrap_interval() -> None:
    curve = pass_at_k_curve([(3, 0), (3, 1), (3, 3), (4, 2)])
    assert [p.k for p in curve] == [1, 2, 3]  # up to the fewest samples a fixture has
    assert curve[0].value == pytest.approx((0 + 1 / 3 + 1 + 0.5) / 4)
    assert curve[-1].value == pytest.approx((0 + 1 + 1 + 1) / 4)
    for point in curve:
        assert 0 <= point.low <= point.value <= point.high <= 1 and point.fixtures == 4
    assert pass_at_k_curve([(3, 1)] * 5) == pass_at_k_curve([(3, 1)] * 5)  # seeded: reproducible
    assert str(curve[0]).startswith("pass@1 0.46 [")
