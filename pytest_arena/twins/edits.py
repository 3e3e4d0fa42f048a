"""One change to a test source: the literal an impossible twin contradicts, kept to one line."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

# Integer literals that may be their type's MAX (or, negated, MIN): moved toward zero, not away,
# so the twin still compiles.
_MAXES = frozenset({(1 << bits) - 1 for bits in (7, 8, 15, 16, 31, 32, 63, 64, 127, 128)})
_MINS = frozenset({1 << bits for bits in (7, 15, 31, 63, 127)})


class TwinError(Exception):
    """A twin cannot be made (no candidate change, or none that the reference fails)."""


# --- one change to a source file ------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` (within one line) by ``replacement``."""

    start: int
    end: int
    replacement: str
    what: str  # "1 -> 2", for the report
    expected: bool = True  # on the assertion's expected side (tried before the other side's literals)

    def apply(self, source: str) -> str:
        return source[: self.start] + self.replacement + source[self.end :]

    def line(self, source: str) -> int:
        return source.count("\n", 0, self.start) + 1


def _aside(edits: Iterator[Edit]) -> Iterator[Edit]:
    """The same edits, marked as changing the assertion's other (actual, input) side."""
    for edit in edits:
        yield dataclasses.replace(edit, expected=False)


def _one_line(source: str, edits: Iterator[Edit]) -> list[Edit]:
    """The edits that change exactly one line, each offset once, in order."""
    seen: set[tuple[int, int]] = set()
    kept = []
    for edit in edits:
        key = (edit.start, edit.end)
        if key in seen or "\n" in source[edit.start : edit.end] or "\n" in edit.replacement:
            continue
        seen.add(key)
        kept.append(edit)
    return kept


def _moved(value: int, negative: bool) -> int:
    """An integer literal's new magnitude: one step up, or down where it may be its type's bound
    (a MAX, or the magnitude of a MIN), so the change never overflows the literal's type."""
    return value - 1 if value in (_MINS if negative else _MAXES) else value + 1
