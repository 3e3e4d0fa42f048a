"""Degeneration stop: notices, token by token, when the tail of a turn has become periodic.

Small models at temperature 0 often fall into a loop (the same heading, fence or snippet over and
over) and would run to the token cap. Two rules, both checked incrementally in O(PERIOD) per token:

- tokens: the last ``period * repeats`` tokens are one block of at most ``period`` tokens repeated
  ``repeats`` times, and that span is at least ``MIN_SPAN`` tokens long (so a short legitimate run
  of identical tokens, such as a ``====`` banner or ``[0, 0, 0, 0]``, is never cut);
- lines: one non-blank line repeated ``LINE_REPEATS`` times in a row, blank lines between ignored,
  or a block of 2..``LINE_PERIOD`` non-blank lines repeated ``BLOCK_REPEATS`` times (a looping
  snippet longer than ``period`` tokens).

Legitimate code repeats lines (``}``, similar test functions), but never verbatim in a row that
often: the test suite and ``benchmarks/repetition_cuts.py`` feed the corpus, its reference
solutions and every scripted turn through the real tokenizer and check that none is cut.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

DEFAULT_PERIOD = 64
DEFAULT_REPEATS = 8
MIN_SPAN = 64  # tokens: a period-1 loop needs 64 repeats, a period-8 loop 8
LINE_REPEATS = 10
LINE_PERIOD = 16
BLOCK_REPEATS = 4  # a block of 2+ non-blank lines, verbatim, four times in a row


class RepetitionSettingError(ValueError):
    pass


@dataclass(frozen=True)
class RepetitionRule:
    """``period``: the longest repeated block, in tokens; ``repeats``: how often it must occur."""

    period: int = DEFAULT_PERIOD
    repeats: int = DEFAULT_REPEATS

    def spec(self) -> str:
        return f"{self.period}:{self.repeats}"

    def detector(self) -> RepetitionDetector:
        return RepetitionDetector(self)


def parse_rule(raw: str) -> RepetitionRule | None:
    """``off`` -> None; ``PERIOD:REPEATS`` (both integers, repeats >= 2) -> the rule."""
    text = raw.strip().lower()
    if text in ("off", "none", "0", "false", "no"):
        return None
    if text in ("", "on", "default"):
        return RepetitionRule()
    period, sep, repeats = text.partition(":")
    try:
        rule = RepetitionRule(int(period), int(repeats)) if sep else None
    except ValueError:
        rule = None
    if rule is None or rule.period < 1 or rule.repeats < 2:
        raise RepetitionSettingError(
            f"{raw!r}: expected off or PERIOD:REPEATS with PERIOD >= 1 and REPEATS >= 2, "
            f"e.g. {DEFAULT_PERIOD}:{DEFAULT_REPEATS} (the default)"
        )
    return rule


@dataclass(frozen=True)
class Cut:
    """Why a turn was stopped: the repeated block's length in ``unit`` and how often it occurred."""

    unit: str  # "tokens" | "lines"
    period: int
    repeats: int
    at_token: int  # tokens generated when the rule fired

    def describe(self) -> str:
        unit = self.unit if self.period > 1 else self.unit.removesuffix("s")
        return f"a block of {self.period} {unit} repeated {self.repeats} times, cut at token {self.at_token}"


class _Runs:
    """For each period p in 1..max_period, how many positions in a row satisfy x[i] == x[i-p]."""

    def __init__(self, max_period: int) -> None:
        self.max_period = max_period
        self.history: list[Hashable] = []
        self.runs = [0] * (max_period + 1)

    def push(self, value: Hashable) -> None:
        history, runs = self.history, self.runs
        size = len(history)
        for p in range(1, min(self.max_period, size) + 1):
            runs[p] = runs[p] + 1 if history[size - p] == value else 0
        history.append(value)
        if size >= 16 * self.max_period:  # only the last max_period values are ever compared
            del history[: size + 1 - self.max_period]

    def repeated(self, p: int) -> int:
        """Whole repetitions of the last p-block (1 when it is not repeated at all)."""
        return self.runs[p] // p + 1


class RepetitionDetector:
    """Fed one generated token at a time (an id, or the text piece a server streamed) with its
    text; ``feed`` returns the cut once the tail is degenerate, and keeps returning it."""

    def __init__(self, rule: RepetitionRule) -> None:
        self.rule = rule
        self.tokens = _Runs(rule.period)
        self.lines = _Runs(LINE_PERIOD)
        self._partial = ""
        self.count = 0
        self.cut: Cut | None = None

    def feed(self, token: Hashable, text: str) -> Cut | None:
        if self.cut is not None:
            return self.cut
        self.count += 1
        self.tokens.push(token)
        self.cut = self._token_cut() or self._line_cut(text)
        return self.cut

    def feed_text(self, text: str) -> Cut | None:
        """For backends that stream text pieces without ids: the piece is the token."""
        return self.feed(text, text)

    def _token_cut(self) -> Cut | None:
        for p in range(1, self.rule.period + 1):
            repeats = self.tokens.repeated(p)
            if repeats >= self.rule.repeats and p * repeats >= MIN_SPAN:
                return Cut("tokens", p, repeats, self.count)
        return None

    def _line_cut(self, text: str) -> Cut | None:
        if "\n" not in text:
            self._partial += text
            return None
        *done, self._partial = (self._partial + text).split("\n")
        for line in done:
            if not line.strip():
                continue
            self.lines.push(line)
            # Judged by the tail's smallest period: ten identical lines are also five pairs.
            period = next((p for p in range(1, LINE_PERIOD + 1) if self.lines.runs[p] >= p), 0)
            repeats = self.lines.repeated(period) if period else 0
            if repeats >= (LINE_REPEATS if period == 1 else BLOCK_REPEATS) and period:
                return Cut("lines", period, repeats, self.count)
        return None


def first_cut(rule: RepetitionRule, tokens: list[tuple[Hashable, str]]) -> Cut | None:
    """Runs a whole token sequence through a fresh detector (tests and benchmarks)."""
    detector = rule.detector()
    for token, text in tokens:
        if cut := detector.feed(token, text):
            return cut
    return None


class TokenIdCriterion:
    """A llama-cpp-python stopping criterion: called with every token evaluated so far (the
    prompt first, then one more generated token per call), it feeds the new ones to a detector."""

    def __init__(self, rule: RepetitionRule, detokenize: Callable[[list[int]], bytes]) -> None:
        self.detector = rule.detector()
        self.detokenize = detokenize
        self._seen: int | None = None  # the prompt's length, learnt from the first call

    def __call__(self, input_ids: Sequence[int], _logits: object) -> bool:
        size = len(input_ids)
        if self._seen is None:
            self._seen = size
        for token in input_ids[self._seen : size]:
            value = int(token)
            self.detector.feed(value, self.detokenize([value]).decode("utf-8", errors="replace"))
        self._seen = max(self._seen, size)
        return self.detector.cut is not None
