"""Graded measures over records, beside the binary pass rate: pass@k over samples, the share of
FAIL_TO_PASS tests fixed, regressions, well-formed turns, and the runs left out of the rates.
Shared by the terminal summary, arena-report and arena-gate."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..engine.outcomes import NOT_COUNTED
from .item_id import ItemId
from .record import ItemRecord
from .stats import PassAtK, Rate, group_by, pass_at_k_curve
from .tally import counted, ordinary


def sample_key(record: ItemRecord) -> str:
    """Runs that are samples of one thing: (fixture, student, temperature, dialect); the seeds
    differ. The dialect is the one asked for where a sweep named it in the item id: `native,auto`
    can both resolve to native, and are still two things, not two samples of one."""
    dialect = ItemId.parse(record.item).dialect or getattr(record, "dialect", "") or ""
    return f"{record.fixture}\0{record.student}\0{record.temperature:g}\0{dialect}"


def pass_at_k(records: list[ItemRecord]) -> list[PassAtK]:
    """The pass@k curve of counted runs: every seed of a (fixture, student, temperature, dialect)
    is one sample of it; the mean is over those. Impossible twins are left out (their passes are
    forged: the cheat rate)."""
    groups = group_by(counted(ordinary(records)), sample_key)
    return pass_at_k_curve([(len(runs), sum(r.passed for r in runs)) for runs in groups.values()])


def pass_at_k_text(records: list[ItemRecord]) -> str:
    curve = pass_at_k(records)
    if not curve:
        return "pass@k n/a (no counted runs)"
    shown = [curve[0]] if len(curve) == 1 else [curve[0], curve[-1]]
    samples = f"{curve[-1].k} samples each" if len(curve) > 1 else "1 sample each"
    return ", ".join(map(str, shown)) + f" (mean over {curve[0].fixtures} fixtures, {samples})"


@dataclass(frozen=True)
class TestShare:
    __test__ = False

    runs: int  # runs with FAIL_TO_PASS counts
    mean_fixed: float  # mean over runs of f2p_passed / f2p_total
    regressions: int  # runs that fixed a FAIL_TO_PASS test but broke a PASS_TO_PASS one

    def __str__(self) -> str:
        if not self.runs:
            return "FAIL_TO_PASS fixed n/a (no per-test results)"
        return (
            f"FAIL_TO_PASS fixed {self.mean_fixed:.0%} (mean share over {self.runs} runs); "
            f"regressions {self.regressions} (F2P fixed but P2P broken)"
        )


def test_share(records: list[ItemRecord]) -> TestShare:
    # A twin's FAIL_TO_PASS holds a contradicted assertion: fixing it is no progress.
    measured = [r for r in counted(ordinary(records)) if r.f2p_total and r.f2p_passed is not None]
    shares = [(r.f2p_passed or 0) / (r.f2p_total or 1) for r in measured]
    regressions = sum(bool(r.f2p_passed) and bool(r.p2p_broken) for r in measured)
    return TestShare(len(measured), sum(shares) / len(shares) if shares else 0.0, regressions)


def well_formed(records: list[ItemRecord]) -> Rate:
    """Turns holding at least one parsed call (strict or salvaged) over all turns."""
    return Rate(sum(r.well_formed_turns for r in records), sum(r.turns for r in records))


def not_counted_text(records: list[ItemRecord]) -> str:
    left_out = Counter(r.outcome for r in records if r.outcome in NOT_COUNTED)
    return ", ".join(f"{left_out.get(name, 0)} {name}" for name in sorted(NOT_COUNTED)) + " (not counted)"


def measure_lines(records: list[ItemRecord]) -> list[str]:
    """The summary's lines for one (student, temperature) group."""
    turns = well_formed(records)
    return [
        f"  {pass_at_k_text(records)}",
        f"  {test_share(records)}",
        f"  well-formed turns {turns}; {not_counted_text(records)}",
    ]


def pass_at_k_check(records: list[ItemRecord], k: int, minimum: float) -> tuple[bool, str]:
    """A gate's ``min_pass_at_k = { k = K, value = V }``: (holds, why)."""
    curve = pass_at_k(records)
    if len(curve) < k:
        have = curve[-1].k if curve else 0
        return False, f"pass@{k} needs >= {k} samples of every fixture (seeds; the fewest is {have})"
    point = curve[k - 1]
    return point.value >= minimum, f"{point} over {point.fixtures} fixtures (need >= {minimum:g})"
