"""Two students compared on the same fixtures: the paired difference in pass@1, its bootstrap
interval, McNemar's exact test and the minimum detectable difference ("Adding Error Bars to
Evals", Miller 2024). Pure functions over per-fixture pass rates; the records are
:mod:`pytest_arena.results.pairs`' business.

Pairing is on the fixture: fixtures are what a corpus draws, so they are the unit that varies.
Each student's pass rate on a fixture is the mean of its samples there (seeds, temperatures, dialects),
and the difference is the mean over fixtures of (A's rate - B's rate). Pairing removes the
fixtures' own difficulty from the comparison, which an unpaired test would count as noise.
McNemar's test counts the fixtures where one student's rate is higher; with one sample each that
is its textbook form, with several it is the sign test on the per-fixture differences.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist

from .stats import percentile_bounds

RESAMPLES = 2000
SEED = 0
ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class PairedDifference:
    fixtures: int  # paired: both students have a counted run of each
    difference: float  # mean over fixtures of A's rate - B's rate, in [-1, 1]
    low: float  # bootstrap 95% interval over fixtures
    high: float
    a_better: int  # fixtures where A's rate is higher (McNemar's b)
    b_better: int  # fixtures where B's rate is higher (McNemar's c)
    p_value: float  # exact two-sided, on a_better vs b_better
    detectable: float  # minimum detectable difference at ALPHA, POWER; may exceed 1

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    def interval_text(self) -> str:
        return f"{points(self.difference)} points [{points(self.low)}, {points(self.high)}]"

    def detectable_text(self) -> str:
        if self.detectable > 1:
            return "more than 100 points"
        return f"{self.detectable * 100:.0f} points"


def points(share: float) -> str:
    """A difference of shares as signed points: +100, -12.5, 0."""
    value = round(share * 100, 1)
    text = f"{value:+.1f}".removesuffix(".0")
    return "0" if text in ("+0", "-0") else text


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact p of McNemar's test: under no difference each discordant fixture favours
    either student with probability 1/2, so min(b, c) is binomial(b + c, 1/2). Exact arithmetic,
    since the normal approximation is poor for the few discordant fixtures a corpus gives."""
    n = b + c
    if n == 0:
        return 1.0
    tail = Fraction(sum(math.comb(n, k) for k in range(min(b, c) + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


def bootstrap_interval(diffs: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float]:
    """Percentile 95% interval of the mean, resampling fixtures with replacement. Seeded, so a
    report says the same thing twice; swapping A and B draws the same fixtures and negates it."""
    if not diffs:
        return 0.0, 0.0
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(resamples))
    return percentile_bounds(means)


def fewest_discordant(alpha: float = ALPHA) -> int:
    """The fewest discordant fixtures, all one way, for which the exact test can reject at alpha:
    below it no corpus difference is significant at all (6 at alpha 0.05)."""
    k = 1
    while mcnemar_exact(k, 0) >= alpha:
        k += 1
    return k


def minimum_detectable(diffs: Sequence[float], alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest true difference this many paired fixtures detect with the given power:
    (z[1 - alpha/2] + z[power]) * sqrt(s2 / n) (Connor 1987, McNemar's power, with the discordance
    psi - delta^2 taken as psi, which errs large). s2 is the mean squared per-fixture difference:
    the observed discordance psi when each fixture has one sample; with no discordance observed
    it is 1, the worst case. Never below the exact test's floor, fewest_discordant() / n."""
    n = len(diffs)
    if n == 0:
        return math.inf
    spread = sum(d * d for d in diffs) / n or 1.0
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return max(z * math.sqrt(spread / n), fewest_discordant(alpha) / n)


def paired_difference(a: Mapping[str, float], b: Mapping[str, float]) -> PairedDifference:
    """A against B on the fixtures both have (fixture -> pass rate in [0, 1]); the others are the
    caller's to count as left out."""
    shared = sorted(set(a) & set(b))
    diffs = [a[f] - b[f] for f in shared]
    low, high = bootstrap_interval(diffs)
    a_better, b_better = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    return PairedDifference(
        fixtures=len(shared),
        difference=sum(diffs) / len(diffs) if diffs else 0.0,
        low=low,
        high=high,
        a_better=a_better,
        b_better=b_better,
        p_value=mcnemar_exact(a_better, b_better),
        detectable=minimum_detectable(diffs),
    )
