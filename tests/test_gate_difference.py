"""The gate key min_difference ("A beats B"): its errors name the file, the field and the fix, and
it holds on the lower bound of the paired interval (with a significant McNemar test), never on the
point estimate alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_arena.results.gate import evaluate, load_gates, scoreboard
from pytest_arena.results.gate_logic import FAIL, PASS, GateConfigError
from pytest_arena.results.junit import Evidence
from pytest_arena.results.record import ItemRecord

from .helpers import arena_record as record


def gates(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gates.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    path = gates(tmp_path, text)
    with pytest.raises(GateConfigError) as caught:
        load_gates(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: gate 'beats': key 'min_difference"), message
    return message


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("10", 'must be a table naming the two students. Fix: min_difference = { student = "A", over = "B", points'),
        ('{ student = "a", points = 10 }', 'missing over. Fix: min_difference = { student = "A", over = "B"'),
        ('{ student = "a", over = "b", points = 150 }', "key 'min_difference.points': Input should be less than"),
        ('{ student = "a", over = "b", points = -5 }', "greater than or equal to 0"),
        ('{ student = "a", over = "a", points = 10 }', "student and over are both 'a'; a student cannot beat itself"),
        ('{ student = "a", over = "b", points = 10, by = 1 }', "key 'min_difference.by': unknown key"),
    ],
)  # fmt: skip
def test_a_malformed_min_difference_names_file_field_and_fix(tmp_path: Path, value: str, said: str) -> None:
    assert said in config_error(tmp_path, f"[gates.beats]\nmin_difference = {value}\n")


def test_min_difference_needs_a_pooled_gate(tmp_path: Path) -> None:
    message = config_error(
        tmp_path, '[gates.beats]\naggregate = "each"\nmin_difference = { student = "a", over = "b", points = 1 }\n'
    )
    assert 'needs aggregate = "pooled" (the default), not "each". Fix: remove the aggregate key' in message


def eight_of_ten() -> list[ItemRecord]:
    """A passes 8 of 10 fixtures, B none: +80 points, interval [+50, +100], McNemar p = 2/256."""
    runs = []
    for i in range(10):
        runs.append(record(f"unix__{i:02d}-x", "a", "OraclePassed" if i < 8 else "OracleFailed", i < 8))
        runs.append(record(f"unix__{i:02d}-x", "b", "OracleFailed", False))
    return runs


def decide(tmp_path: Path, points: float, records: list[ItemRecord], student: str = "a") -> tuple[str, str]:
    path = gates(
        tmp_path, f'[gates.beats]\nmin_difference = {{ student = "{student}", over = "b", points = {points} }}\n'
    )
    result = evaluate("beats", load_gates(path)["beats"], records)
    (part,) = result.parts
    (check,) = [c for c in part.checks if c.requirement == "min_difference"]
    assert (check.ok and result.status == PASS) or (not check.ok and result.status == FAIL)
    return result.status, check.detail


def test_the_gate_holds_on_the_lower_bound_not_the_point_estimate(tmp_path: Path) -> None:
    status, detail = decide(tmp_path, 50, eight_of_ten())
    assert status == PASS, detail
    assert detail == (
        "a - b: pass@1 +80 points [+50, +100], McNemar exact p = 0.00781 (8 fixtures favour a, 0 favour b); "
        "10 fixtures paired, 0 left out (need lower bound >= +50 and p < 0.05)"
    )
    status, detail = decide(tmp_path, 60, eight_of_ten())  # +80 measured, but +50 is what the data prove
    assert status == FAIL and detail.endswith("short: lower bound +50 < +60)"), detail


def test_a_tight_interval_over_too_few_fixtures_is_no_evidence(tmp_path: Path) -> None:
    few = [r for r in eight_of_ten() if r.fixture < "unix__03"]  # 3 fixtures, all +100
    status, detail = decide(tmp_path, 10, few)
    assert status == FAIL and "+100 points [+100, +100]" in detail
    assert detail.endswith("short: p = 0.25 is not < 0.05)"), detail


def test_a_student_not_in_the_selection_fails_the_check(tmp_path: Path) -> None:
    status, detail = decide(tmp_path, 10, eight_of_ten(), student="c")
    assert status == FAIL and detail.startswith("no counted runs of student 'c' (students: a, b;"), detail


def test_arena_gate_shows_every_pair(tmp_path: Path) -> None:
    path = gates(tmp_path, '[gates.beats]\nmin_difference = { student = "a", over = "b", points = 50 }\n')
    records = eight_of_ten()
    results = [evaluate(name, spec, records) for name, spec in load_gates(path).items()]
    board = scoreboard(results, Evidence(records=records), path).splitlines()
    assert "    [ok] min_difference: a - b: pass@1 +80 points [+50, +100], McNemar exact p = 0.00781" in "\n".join(
        board
    )
    start = board.index("paired comparisons, pass@1 of A - B in points [95% interval]:")
    assert board[start + 2] == "    10 fixtures paired, 0 left out; minimum detectable difference 79 points"
