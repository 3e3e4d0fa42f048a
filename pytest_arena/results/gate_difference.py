"""The gate key ``min_difference``: student A beats student B on the same fixtures.

    min_difference = { student = "reference", over = "finish", points = 10 }

holds when the lower bound of the paired 95% interval of pass@1(A) - pass@1(B) is at least
``points`` (0 to 100) *and* McNemar's exact p is below 0.05. The lower bound, not the point
estimate: a pass must be evidence. The p-value too, because a bootstrap over a handful of fixtures
is degenerate (A passing 3 of 3 and B none gives every resample +100, while the exact test says
p = 0.25). Students are named by their label (the record's ``student``); the gate's ``select``
must keep both. One pair per gate: write another gate for another pair.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .paired import ALPHA, points
from .pairs import compare
from .record import ItemRecord

SYNTAX = 'min_difference = { student = "A", over = "B", points = 10 }'


class DifferenceGate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    student: str = Field(min_length=1)
    over: str = Field(min_length=1)
    points: float = Field(ge=0, le=100)

    @model_validator(mode="before")
    @classmethod
    def _a_table(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"must be a table naming the two students. Fix: {SYNTAX}")
        missing = [key for key in ("student", "over", "points") if key not in value]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}. Fix: {SYNTAX}")
        return value

    @model_validator(mode="after")
    def _two_students(self) -> DifferenceGate:
        if self.student == self.over:
            raise ValueError(f"student and over are both '{self.student}'; a student cannot beat itself")
        return self


def needs_pooled(aggregate: str) -> None:
    """min_difference compares two students, so it reads the matched runs together."""
    if aggregate != "pooled":
        raise ValueError(
            f'compares two students, so the gate needs aggregate = "pooled" (the default), not "{aggregate}". '
            "Fix: remove the aggregate key, or put min_difference in a gate of its own"
        )


def difference_check(runs: list[ItemRecord], ran: list[ItemRecord], gate: DifferenceGate) -> tuple[bool, str]:
    """(holds, why) over ``runs`` already cut to those that count, of ``ran`` (see pairs.compare)."""
    need = f"need lower bound >= {points(gate.points / 100)} and p < {ALPHA:g}"
    present = sorted({r.student for r in runs})
    absent = [s for s in (gate.student, gate.over) if s not in present]
    if absent:
        return False, f"no counted runs of student '{absent[0]}' (students: {', '.join(present) or 'none'}; {need})"
    result = compare(runs, ran, gate.student, gate.over)
    if not result.paired.fixtures:
        return False, f"no fixture has counted runs of both ({result.coverage()}; {need})"
    p = result.paired
    short = [] if p.low * 100 >= gate.points - 1e-9 else [f"lower bound {points(p.low)} < {points(gate.points / 100)}"]
    short += [] if p.significant else [f"p = {p.p_value:.3g} is not < {ALPHA:g}"]
    why = f"{result.head()}; {result.coverage()} ({need}"
    return not short, why + (f"; short: {', '.join(short)})" if short else ")")
