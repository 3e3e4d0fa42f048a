"""A mutant: one replaced span of one source file, and the operator catalogue it comes from."""

from __future__ import annotations

from dataclasses import dataclass

# The operators, after cargo-mutants and mutmut; a fixture's meta.toml names one of them.
OPERATORS: dict[str, str] = {
    "comparison_flip": "a comparison negated (< to >=, == to !=)",
    "comparison_boundary": "a comparison's boundary moved (< to <=)",
    "arithmetic_swap": "an arithmetic operator swapped (+ to -, * to /)",
    "boolean_swap": "a boolean operator swapped (&& to ||, and to or)",
    "condition_negate": "an if or while condition negated",
    "off_by_one": "one added to or subtracted from a literal, a range end or an index",
    "argument_swap": "two arguments of the same kind swapped",
    "default_return": "the default value returned early",
    "statement_delete": "a statement deleted",
}
# How hard a planted bug of each operator is to find, before the number of failing tests counts.
BASE_DIFFICULTY = {
    "comparison_flip": 1,
    "comparison_boundary": 2,
    "arithmetic_swap": 1,
    "boolean_swap": 2,
    "condition_negate": 1,
    "off_by_one": 2,
    "argument_swap": 2,
    "default_return": 1,
    "statement_delete": 2,
}

FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
BOUNDARY = {"<": "<=", "<=": "<", ">": ">=", ">=": ">"}


@dataclass(frozen=True, order=True)
class Mutant:
    """Bytes ``start:end`` of ``file`` (relative to the project root) become ``replacement``."""

    file: str
    start: int
    end: int
    operator: str
    replacement: bytes
    line: int  # 1-based, of ``start``
    function: str  # the enclosing function (dotted), "" at module level

    def apply(self, source: bytes) -> bytes:
        return source[: self.start] + self.replacement + source[self.end :]

    def describe(self, source: bytes) -> str:
        before = source[self.start : self.end].decode("utf-8", "replace")
        after = self.replacement.decode("utf-8", "replace")
        return f"{self.file}:{self.line} {self.operator}: {_short(before)!r} -> {_short(after)!r}"


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def line_of(source: bytes, offset: int) -> int:
    return source.count(b"\n", 0, offset) + 1


def whole_lines(source: bytes, start: int, end: int) -> tuple[int, int] | None:
    """The span of the whole lines ``start:end`` covers, newline included, when nothing but
    indentation shares them; None when other code does (the statement cannot go alone)."""
    line_start = source.rfind(b"\n", 0, start) + 1
    line_end = source.find(b"\n", end)
    line_end = len(source) if line_end < 0 else line_end + 1
    if source[line_start:start].strip() or source[end:line_end].strip():
        return None
    return line_start, line_end
