"""Pass rates with honest intervals, shared by the terminal summary, arena-report and arena-gate."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    passed: int
    total: int

    @property
    def value(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.passed, self.total)

    def __str__(self) -> str:
        if not self.total:
            return "n/a"
        low, high = self.interval
        return f"{self.passed}/{self.total} = {self.value:.0%} [{low:.0%}, {high:.0%}]"


def wilson(passed: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval: sane at 0/n and n/n, unlike the normal approximation."""
    if total == 0:
        return 0.0, 1.0
    p = passed / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    # At 0/n and n/n the bound is exactly the rate; rounding must not put it on the wrong side.
    low = 0.0 if passed == 0 else max(0.0, centre - margin)
    high = 1.0 if passed == total else min(1.0, centre + margin)
    return low, high


def group_by(items: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def percentile_bounds(means: list[float]) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of sorted bootstrap means, the indices mirrored (the
    k-th from the bottom and from the top), so negated means give the negated interval."""
    last = len(means) - 1
    k = int(0.025 * last)
    return means[k], means[last - k]


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator 1 - C(n-c, k) / C(n, k): the chance that at least one of k samples
    drawn without replacement from n (c of them passing) passes (Chen et al. 2021)."""
    if not 0 < k <= n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n (n = {n})")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@dataclass(frozen=True)
class PassAtK:
    k: int
    value: float  # mean over fixtures of the per-fixture estimate
    low: float  # bootstrap 95% interval over fixtures
    high: float
    fixtures: int

    def __str__(self) -> str:
        return f"pass@{self.k} {self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"


def pass_at_k_curve(samples: list[tuple[int, int]], resamples: int = 1000, seed: int = 0) -> list[PassAtK]:
    """pass@k for k = 1 .. the fewest samples any fixture has, from (n, c) per fixture; the interval
    resamples fixtures (the unit a corpus draws), seeded so a report is reproducible."""
    if not samples:
        return []
    rng = random.Random(seed)
    draws = [[rng.randrange(len(samples)) for _ in samples] for _ in range(resamples)]
    curve = []
    for k in range(1, min(n for n, _ in samples) + 1):
        per_fixture = [pass_at_k(n, c, k) for n, c in samples]
        low, high = percentile_bounds(sorted(sum(per_fixture[i] for i in draw) / len(draw) for draw in draws))
        curve.append(PassAtK(k, sum(per_fixture) / len(per_fixture), low, high, len(samples)))
    return curve
