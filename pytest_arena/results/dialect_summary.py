"""Dialects side by side (the A/B test "is it the model family or the format?"): per student and
dialect, pass@1, the tool-call rate, strict/salvaged/native call counts and the outcome shares.
Shown in the terminal summary and in arena-report when a student ran under more than one dialect."""

from __future__ import annotations

from .record import ItemRecord
from .stats import group_by
from .tally import ordinary, outcome_shares, pass_rate

HEADERS = [
    "student",
    "dialect",
    "runs",
    "pass@1",
    "tool-call rate",
    "strict calls",
    "salvaged calls",
    "native calls",
    "content fallback",
    "outcomes",
]


def _compared(records: list[ItemRecord]) -> dict[str, list[ItemRecord]]:
    """(student|dialect) groups of the students that ran under two or more dialects."""
    swept = {s for s, rs in group_by(records, lambda r: r.student).items() if len({r.dialect for r in rs}) > 1}
    return group_by([r for r in records if r.student in swept], lambda r: f"{r.student}|{r.dialect or '?'}")


def _tool_call_rate(runs: list[ItemRecord]) -> str:
    turns = sum(r.turns for r in runs)
    return f"{sum(r.well_formed_turns for r in runs)}/{turns} turns" + (
        f" = {sum(r.well_formed_turns for r in runs) / turns:.0%}" if turns else ""
    )


def dialect_rows(records: list[ItemRecord]) -> list[list[str]]:
    rows = []
    for key, runs in sorted(_compared(records).items()):
        student, _, dialect = key.partition("|")
        rows.append(
            [
                student,
                dialect,
                str(len(runs)),
                str(pass_rate(ordinary(runs))),  # an impossible twin's pass is no pass
                _tool_call_rate(runs),
                str(sum(r.strict_calls for r in runs)),
                str(sum(r.salvaged_calls for r in runs)),
                str(sum(r.native_calls for r in runs)),
                str(sum(r.content_fallback_calls for r in runs)),
                outcome_shares(runs),
            ]
        )
    return rows


def dialect_lines(records: list[ItemRecord]) -> list[str]:
    rows = dialect_rows(records)
    if not rows:
        return []
    lines = ["dialects side by side:"]
    for row in rows:
        cells = dict(zip(HEADERS, row, strict=True))
        lines.append(
            f"  {cells['student']} [{cells['dialect']}]: {cells['runs']} items, pass@1 {cells['pass@1']}; "
            f"tool-call rate {cells['tool-call rate']}; calls strict {cells['strict calls']}, "
            f"salvaged {cells['salvaged calls']}, native {cells['native calls']}, "
            f"content fallback {cells['content fallback']}; outcomes: {cells['outcomes']}"
        )
    return lines
