"""Every pair of students that ran on the same fixtures, compared by :mod:`paired`'s statistics:
the lines of the terminal summary and arena-gate, and report.html's table.

Runs count as pass@1 counts them: impossible twins are left out (their passes are forged) and so
are DriverError/HarnessError runs (not the student's doing). A fixture is paired when both
students have a counted run of it; the others are left out and counted as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from .paired import ALPHA, POWER, RESAMPLES, SEED, PairedDifference, paired_difference
from .record import ItemRecord
from .report_blocks import Table
from .stats import group_by
from .tally import counted, ordinary

SHOWN_PAIRS = 10  # in the terminal summary; report.html has them all

METHOD = (
    f"paired on the fixture: each student's counted runs of a fixture averaged over its seeds, "
    f"temperatures and dialects; 95% interval: bootstrap over fixtures ({RESAMPLES} "
    f"resamples, seed {SEED}); McNemar's exact test on the fixtures where one student does better; "
    f"minimum detectable difference at alpha {ALPHA:g}, power {POWER:g}"
)


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    paired: PairedDifference
    only_a: int  # fixtures only A has a counted run of
    only_b: int
    neither: int  # fixtures both ran, neither with a counted run

    @property
    def left_out(self) -> int:
        return self.only_a + self.only_b + self.neither

    def head(self) -> str:
        p = self.paired
        return (
            f"{self.a} - {self.b}: pass@1 {p.interval_text()}, McNemar exact p = {p.p_value:.3g} "
            f"({p.a_better} fixtures favour {self.a}, {p.b_better} favour {self.b})"
        )

    def coverage(self) -> str:
        text = f"{self.paired.fixtures} fixtures paired, {self.left_out} left out"
        if not self.left_out:
            return text
        lacking = [f"counted runs of {self.a} only: {self.only_a}", f"of {self.b} only: {self.only_b}"]
        lacking += [f"of neither: {self.neither}"] if self.neither else []
        return f"{text} ({'; '.join(lacking)})"


def fixture_rates(runs: list[ItemRecord]) -> dict[str, float]:
    """Fixture -> the mean pass of these runs there (several seeds or temperatures are samples)."""
    return {f: sum(r.passed for r in rs) / len(rs) for f, rs in group_by(runs, lambda r: r.fixture).items()}


def compare(runs: list[ItemRecord], ran: list[ItemRecord], a: str, b: str) -> Comparison:
    """Student ``a`` against ``b`` over ``runs``, which the caller has already cut to the runs
    that count (pass@1's rule, or a gate's); ``ran`` is every run of solvable fixtures, so that
    a fixture whose runs were all left out is counted as left out, not forgotten."""
    rates = {s: fixture_rates(rs) for s, rs in group_by(runs, lambda r: r.student).items()}
    mine, theirs = rates.get(a, {}), rates.get(b, {})
    tried = {r.fixture for r in ran if r.student in (a, b)} - mine.keys() - theirs.keys()
    difference = paired_difference(mine, theirs)
    return Comparison(a, b, difference, len(mine.keys() - theirs), len(theirs.keys() - mine), len(tried))


def comparisons(records: list[ItemRecord]) -> list[Comparison]:
    """Each pair of students once, the better one first (ties: by name), so differences read as
    gains; pairs with no fixture in common are kept, to be reported as such."""
    ran = ordinary(records)
    runs = counted(ran)
    found = []
    for a, b in combinations(sorted({r.student for r in ran}), 2):
        result = compare(runs, ran, a, b)
        found.append(compare(runs, ran, b, a) if result.paired.difference < 0 else result)
    return found


def pair_lines(records: list[ItemRecord], indent: str = "") -> list[str]:
    """The summary's (and arena-gate's) paired lines; none with fewer than two students."""
    found = comparisons(records)
    if not found:
        return []
    lines = [f"{indent}paired comparisons, pass@1 of A - B in points [95% interval]:"]
    for result in found[:SHOWN_PAIRS]:
        if not result.paired.fixtures:
            lines.append(f"{indent}  {result.a} - {result.b}: no fixture in common ({result.coverage()})")
            continue
        lines.append(f"{indent}  {result.head()}")
        lines.append(
            f"{indent}    {result.coverage()}; minimum detectable difference {result.paired.detectable_text()}"
        )
    if len(found) > SHOWN_PAIRS:
        lines.append(f"{indent}  +{len(found) - SHOWN_PAIRS} more pairs (arena-report lists them all)")
    return lines + [f"{indent}  ({METHOD})"]


def pairs_table(records: list[ItemRecord]) -> Table | None:
    found = comparisons(records)
    if not found:
        return None
    rows = []
    for c in found:
        p = c.paired
        rows.append(
            [c.a, c.b, p.interval_text() if p.fixtures else "n/a", str(p.fixtures), str(c.left_out),
             f"{p.a_better} / {p.b_better}", f"{p.p_value:.3g}", p.detectable_text()]
        )  # fmt: skip
    note = (
        f"{METHOD}. Left out: fixtures one student has no counted run of (DriverError/HarnessError "
        "runs and impossible twins do not count). A difference smaller than the minimum detectable one "
        "is not evidence either way."
    )
    return Table(
        "Students compared pairwise (paired on fixtures)",
        ["A", "B", "A - B pass@1 [95% interval]", "fixtures paired", "left out", "fixtures A / B better",
         "McNemar exact p", "minimum detectable difference"],
        rows,
        note,
    )  # fmt: skip
