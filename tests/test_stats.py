from __future__ import annotations

import pytest

from pytest_arena.results.stats import Rate, group_by, wilson


def test_wilson_known_values() -> None:
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 10)[0] == 0.0 and wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-3)
    assert wilson(10, 10)[1] == pytest.approx(1.0) and wilson(0, 0) == (0.0, 1.0)


def test_rate_text_and_grouping() -> None:
    assert str(Rate(1, 4)).startswith("1/4 = 25% [")
    assert str(Rate(0, 0)) == "n/a"
    assert group_by([1, 2, 3, 4], lambda n: "odd" if n % 2 else "even") == {"odd": [1, 3], "even": [2, 4]}


def test_wilson_bounds_hold_the_rate_at_zero_and_all() -> None:
    """Rounding once put 0/n's lower bound above 0 (and n/n's upper below 1): the report's error bars
    then had negative lengths and matplotlib refused to draw them."""
    from pytest_arena.results.stats import wilson

    for n in range(1, 200):
        assert wilson(0, n)[0] == 0.0 and wilson(n, n)[1] == 1.0
        low, high = wilson(n // 2, n)
        assert low <= (n // 2) / n <= high
