"""Paired comparison of students: the statistics on known values, then the records' rules (what is
paired, what is left out) and the lines the summary, arena-report and arena-gate show."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from pytest_arena.results.paired import (
    bootstrap_interval,
    fewest_discordant,
    mcnemar_exact,
    minimum_detectable,
    paired_difference,
)
from pytest_arena.results.pairs import comparisons, pair_lines, pairs_table
from pytest_arena.results.record import ItemRecord
from pytest_arena.results.summary import summary_lines

from .helpers import FINISH, ROOT, run_module, run_pytest, write_script
from .helpers import arena_record as record

README = (ROOT / "README.md").read_text(encoding="utf-8")

Z = 1.959963984540054 + 0.8416212335729143  # z[0.975] + z[0.8]


def test_mcnemar_exact_known_values() -> None:
    assert mcnemar_exact(10, 0) == 2 / 1024 == mcnemar_exact(0, 10)
    assert mcnemar_exact(7, 2) == 2 * (1 + 9 + 36) / 512  # 0.1797
    assert mcnemar_exact(3, 0) == 0.25 and mcnemar_exact(6, 0) == 1 / 32
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0
    assert fewest_discordant() == 6  # 5 discordant fixtures, all one way, give p = 1/16


def test_all_against_nothing_is_exactly_plus_100() -> None:
    result = paired_difference({f"f{i}": 1.0 for i in range(30)}, {f"f{i}": 0.0 for i in range(30)})
    assert (result.difference, result.low, result.high) == (1.0, 1.0, 1.0)
    assert result.interval_text() == "+100 points [+100, +100]"
    assert (result.a_better, result.b_better, result.fixtures) == (30, 0, 30)
    assert result.p_value == 2 / 2**30 and result.significant


def test_a_symmetric_record_is_zero_and_swapping_negates_it() -> None:
    a = {f"f{i}": float(i < 5) for i in range(20)}  # A alone passes f0-f4
    b = {f"f{i}": float(5 <= i < 10) for i in range(20)}  # B alone passes f5-f9
    ab, ba = paired_difference(a, b), paired_difference(b, a)
    assert ab.difference == 0.0 and ab.p_value == 1.0 and ab.interval_text().startswith("0 points [-")
    assert ab.low < 0 < ab.high and (ba.low, ba.high) == (-ab.high, -ab.low)
    same = paired_difference(a, a)
    assert (same.difference, same.low, same.high, same.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_the_bootstrap_is_seeded() -> None:
    diffs = [1.0, 0.0, -1.0, 1.0, 0.5, 0.0, 1.0]
    assert bootstrap_interval(diffs) == bootstrap_interval(diffs) != bootstrap_interval(diffs, seed=1)


def test_minimum_detectable_difference() -> None:
    # 100 fixtures, 20 discordant: (z + z) * sqrt(0.2 / 100)
    assert minimum_detectable([1.0] * 20 + [0.0] * 80) == pytest.approx(Z * math.sqrt(0.2 / 100))
    # 1 discordant fixture in 10: the exact test cannot reject below 6 of 10 all one way
    assert minimum_detectable([1.0] + [0.0] * 9) == 0.6
    # never discordant: the worst case, not a meaningless 0
    assert minimum_detectable([0.0] * 50) == pytest.approx(Z / math.sqrt(50))
    assert paired_difference({"f": 1.0}, {"f": 0.0}).detectable_text() == "more than 100 points"


def reference_and_finish() -> list[ItemRecord]:
    runs = []
    for fixture in ("leetcode__01-roman-numerals", "unix__01-uniq", "unix__02-tr"):
        runs.append(record(fixture, "reference", "OraclePassed", True))
        runs.append(record(fixture, "finish", "OracleFailed", False))
    return runs


def test_summary_prints_the_paired_difference() -> None:
    lines = summary_lines(reference_and_finish())
    start = lines.index("paired comparisons, pass@1 of A - B in points [95% interval]:")
    assert lines[start + 1 : start + 3] == [
        "  reference - finish: pass@1 +100 points [+100, +100], McNemar exact p = 0.25 "
        "(3 fixtures favour reference, 0 favour finish)",
        "    3 fixtures paired, 0 left out; minimum detectable difference more than 100 points",
    ]
    assert "2000 resamples, seed 0" in lines[start + 3]
    assert pair_lines(reference_and_finish()[::2]) == []  # one student: nothing to pair


def test_what_is_paired_and_what_is_left_out() -> None:
    runs = reference_and_finish() + [
        record("oo__01-bank-ledger", "reference", "OraclePassed", True),  # finish never ran it
        record("oo__02-shopping-cart", "finish", "DriverError", False),  # not counted: left out
        record("oo__02-shopping-cart", "reference", "OraclePassed", True),
        record("refactor__01-x", "finish", "HarnessError", False),  # neither has a counted run
        record("leetcode__03-impossible", "finish", "OraclePassed", True, impossible=True),  # no fixture at all
        # a second seed: finish passes half of its unix__01-uniq samples, so +50 there
        record("unix__01-uniq", "finish", "OraclePassed", True, seed=1),
    ]
    (result,) = comparisons(runs)
    assert (result.a, result.b, result.paired.fixtures) == ("reference", "finish", 3)
    assert result.paired.difference == pytest.approx((1 + 0.5 + 1) / 3)
    assert (result.only_a, result.only_b, result.neither) == (2, 0, 1)
    assert result.coverage() == (
        "3 fixtures paired, 3 left out (counted runs of reference only: 2; of finish only: 0; of neither: 1)"
    )


def test_the_better_student_comes_first_and_the_report_has_every_pair() -> None:
    runs = reference_and_finish() + [
        record(r.fixture, "aaa", "OraclePassed", r.fixture.startswith("unix")) for r in reference_and_finish()[::2]
    ]
    assert [(c.a, c.b) for c in comparisons(runs)] == [("aaa", "finish"), ("reference", "aaa"), ("reference", "finish")]
    table = pairs_table(runs)
    assert table is not None and len(table.rows) == 3
    assert table.rows[2][:5] == ["reference", "finish", "+100 points [+100, +100]", "3", "0"]


@pytest.mark.slow
def test_reference_against_finish_only_end_to_end(tmp_path: Path) -> None:
    """The README's run: its paired lines are the summary's; arena-report and arena-gate on the run
    folder show the pair, and the README's gate fails on three fixtures for want of significance."""
    finish = write_script(tmp_path / "finish.json", {"*": [FINISH]})
    reports = tmp_path / "reports"
    run = run_pytest(
        "--arena", "--arena-root", "fixtures/python", "--arena-student", "reference",
        "--arena-student", f"scripted:{finish}", "-k", "unix or roman", f"--arena-reports={reports}",
    )  # fmt: skip
    assert run.returncode == 1 and "3 failed, 3 passed" in run.output, run.output
    block = re.search(r"```text\n(paired comparisons.*?)```", README, re.DOTALL)
    assert block is not None
    shown = block.group(1).splitlines()
    lines = run.stdout.splitlines()
    start = lines.index(shown[0])
    assert lines[start : start + len(shown)] == shown, run.stdout
    assert "+100 points [+100, +100]" in shown[1]

    report = run_module("pytest_arena.results.report", reports / "latest")
    assert report.returncode == 0, report.output
    for name in ("report.html", "summary.md"):
        text = (reports / "latest" / name).read_text(encoding="utf-8")
        assert "Students compared pairwise" in text and "+100 points [+100, +100]" in text, name

    toml = re.search(r"```toml\n(\[gates\.reference_beats_finish\].*?)```", README, re.DOTALL)
    assert toml is not None
    (tmp_path / "gates.toml").write_text(toml.group(1), encoding="utf-8")
    gate = run_module("pytest_arena.results.gate", reports / "latest", "--gates", tmp_path / "gates.toml")
    assert gate.returncode == 1, gate.output
    assert "GATE reference_beats_finish: FAIL" in gate.stdout and "short: p = 0.25 is not < 0.05)" in gate.stdout
    assert all(line in gate.stdout.splitlines() for line in shown), gate.stdout
