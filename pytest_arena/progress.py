"""What the terminal shows while a campaign runs, through pytest's terminal reporter.

- ``-v``: one line per turn as it ends (item, ``turn N/M``, the tool calls or "text", tokens,
  tok/s, why a cut turn stopped). The process that runs the item writes it at once; an xdist
  worker has no terminal, so it hands its lines over with the item's report (a user property)
  and the controller prints them when the item ends. xdist forwards only its own event kinds
  from workers, so per-turn lines under ``-n`` come per item, not per turn.
- default verbosity, on a terminal: pytest's per-item letters give way to one line rewritten in
  place (items done/total, outcomes so far, elapsed, ETA), also under ``-n``.
- not a terminal (CI logs): pytest's own output, plus that status as a whole line at most every
  ``PLAIN_EVERY_S`` seconds and once at the end; never a carriage return.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from _pytest.capture import CaptureManager

from .engine.corpus import META
from .engine.outcomes import BY_NAME
from .engine.session import Turn
from .engine.student import cut_short

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController

TURN_LINES = "arena-progress.turns"  # user property key: not an ``arena.`` record field
PLAIN_EVERY_S = 30.0


def turn_line(item: str, index: int, max_turns: int, turn: Turn) -> str:
    """One turn as a log line."""
    calls = ", ".join(c["name"] + ("*" if c.get("salvaged") else "") for c in turn.calls) or "text"
    rate = turn.completion_tokens / turn.generation_s if turn.generation_s > 0 else 0.0
    line = (
        f"{item} turn {index}/{max_turns}: {calls}; {turn.completion_tokens} tokens in "
        f"{turn.generation_s:.1f}s ({rate:.0f} tok/s)"
    )
    if cut_short(turn.finish_reason):
        line += f"; stopped: {turn.finish_reason}"
    if turn.cached:
        line += "; from the response cache"
    return line


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def status_line(done: int, total: int, outcomes: Counter[str], elapsed: float) -> str:
    passing = {name for name, outcome in BY_NAME.items() if outcome.passed}
    passed = sum(n for name, n in outcomes.items() if name in passing)
    failed = ", ".join(f"{name} {n}" for name, n in outcomes.most_common() if name not in passing)
    eta = _clock(elapsed / done * (total - done)) if done and total > done else "-"
    return (
        f"arena: {done}/{total} items, {passed} passed"
        + (f", {failed}" if failed else "")
        + f"; {_clock(elapsed)} elapsed, ETA {eta}"
    )


def warming_line(done: int, total: int, failed: int, elapsed: float) -> str:
    """The warm-up phase (warmup.py) as a status line: fixtures built before the first item."""
    if done < total:
        return f"arena: warming {done}/{total} fixtures (warm builds, baselines); {_clock(elapsed)} elapsed"
    line = f"arena: warmed {total - failed}/{total} fixtures in {_clock(elapsed)}"
    return line + (f"; {failed} left to their items" if failed else "")


class Progress:
    """Registered in the process that owns the terminal (the controller under xdist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.verbose = config.get_verbosity() > 0
        self.total = 0
        self.done = 0
        self.outcomes: Counter[str] = Counter()
        self.started = time.monotonic()
        self._last_plain = self.started
        self._rewritten = False
        self._beside: str | None = None  # a phase running beside the items (warmup.Pipeline)

    @property
    def reporter(self) -> pytest.TerminalReporter | None:
        found: pytest.TerminalReporter | None = self.config.pluginmanager.get_plugin("terminalreporter")
        return found

    @property
    def tty(self) -> bool:
        return bool(self.reporter is not None and self.reporter.isatty())

    @property
    def takes_over(self) -> bool:
        """The single updating line replaces pytest's per-item letters (a terminal, no -v)."""
        return self.tty and not self.verbose and self.reporter is not None

    def collected(self, total: int) -> None:
        self.total = total
        reporter = self.reporter
        if self.takes_over and total and reporter is not None:
            reporter.showfspath = False
            reporter._show_progress_info = False  # its [NN%] would land on our line

    def turn(self, item: str, line: str) -> None:
        """A turn ended in this process: its line under -v, a fresh status line otherwise."""
        if self.reporter is None:
            return
        if self.verbose:
            self._write_line(line)
        elif self.takes_over:
            self._write_status(extra=line)

    def item_done(self, outcome: str, turn_lines: list[str]) -> None:
        self.done += 1
        self.outcomes[outcome] += 1
        if self.reporter is None:
            return
        if self.verbose:
            for line in turn_lines:  # from an xdist worker: the turns it could not print live
                self._write_line(line)
        elif self.takes_over:
            self._write_status()
        elif time.monotonic() - self._last_plain >= PLAIN_EVERY_S:
            self._last_plain = time.monotonic()
            self._write_line(self.status())

    def warming(self, done: int, total: int, failed: int, elapsed: float) -> None:
        """A fixture warmed: the phase's line, rewritten on a terminal; in a log, the first line,
        then at most every PLAIN_EVERY_S seconds, and the last. The items' clock starts after it."""
        reporter = self.reporter
        if reporter is None:
            return
        line = warming_line(done, total, failed, elapsed)
        last = done == total
        if self.takes_over:
            self._rewrite(line)
            if last:  # the phase's last line stays; the items' line starts below it
                with self._uncaptured():
                    reporter._tw.line()
                self._rewritten = False
        elif done == 0 or last or self.verbose or time.monotonic() - self._last_plain >= PLAIN_EVERY_S:
            self._last_plain = time.monotonic()
            self._write_line(line)
        if last:
            self.started = self._last_plain = time.monotonic()

    def beside(self, note: str | None) -> None:
        """The warm-up running beside the items (no xdist): its line joins the status line."""
        self._beside = note

    def note(self, line: str) -> None:
        """A line of its own above the status line (the warm-up beside the items has ended)."""
        if self.reporter is not None:
            self._write_line(line)
            self._rewritten = False

    def finish(self) -> None:
        reporter = self.reporter
        if reporter is None or not self.done:
            return
        if self._rewritten:
            reporter.write_line("")
        elif not self.verbose:
            self._write_line(self.status())

    # -- pytest hooks (this object is a plugin) ---------------------------------------------

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected(sum(is_arena_nodeid(item.nodeid) for item in session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: WorkerController, ids: Sequence[str]) -> None:
        if not self.total:
            self.collected(sum(is_arena_nodeid(nodeid) for nodeid in ids))

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
        outcome = arena_outcome(report) if report.when == "call" else None
        if outcome is None or not self.takes_over:
            return None
        return ("passed" if BY_NAME.get(outcome, _Failed).passed else "failed"), "", ""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = ended_outcome(report)
        if outcome is not None:
            self.item_done(outcome, turn_lines_of(report))

    def pytest_sessionfinish(self) -> None:
        self.finish()

    def status(self) -> str:
        line = status_line(self.done, self.total, self.outcomes, time.monotonic() - self.started)
        return line if self._beside is None else f"{line}; {self._beside.removeprefix('arena: ')}"

    def _write_line(self, line: str) -> None:
        reporter = self.reporter
        assert reporter is not None
        with self._uncaptured():
            reporter.ensure_newline()
            if reporter._tw.width_of_current_line:  # xdist's letters do not end their line
                reporter._tw.line()
            reporter.write_line(line)
            # pytest then starts the next item's letters on a line of their own, under their file's
            # name, not bare at the start of a line (where an "E" reads like an assertion's detail)
            reporter.currentfspath = None

    def _write_status(self, extra: str = "") -> None:
        self._rewrite(self.status() + (f"; {extra}" if extra else ""))

    def _rewrite(self, text: str) -> None:
        reporter = self.reporter
        assert reporter is not None
        width = max(reporter._tw.fullwidth - 1, 20)
        with self._uncaptured():
            reporter.rewrite(text[:width], erase=True)
            reporter.flush()
        self._rewritten = True

    def _uncaptured(self) -> AbstractContextManager[None]:
        capture: CaptureManager | None = self.config.pluginmanager.get_plugin("capturemanager")
        return capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()


PROGRESS_KEY = pytest.StashKey[Progress]()  # set in the process that owns the terminal


class _Failed:
    passed = False


def is_arena_nodeid(nodeid: str) -> bool:
    return Path(nodeid.partition("::")[0]).name == META and "::" in nodeid


CRASHED = "arena.crashed"  # a user property xdist's crash report gets in pytest_handlecrashitem


def mark_crash(crashitem: str, report: pytest.TestReport) -> None:
    """xdist's pytest_handlecrashitem: the report of an arena item whose worker died says so."""
    if is_arena_nodeid(crashitem):
        report.user_properties.append((CRASHED, True))


def crashed_item_name(report: pytest.TestReport) -> str:
    """The item's name in a crash report's node id, without the ``@group`` xdist adds under
    --dist loadgroup (pytest 8)."""
    name = report.nodeid.rpartition("::")[2]
    head, at, group = name.rpartition("@")
    return head if at and head.endswith("]") and "]" not in group else name


def crashed_item(report: pytest.TestReport) -> bool:
    return any(key == CRASHED for key, _ in report.user_properties)


def arena_outcome(report: pytest.TestReport) -> str | None:
    for key, value in report.user_properties:
        if key == "arena.outcome":
            return str(value)
    return None


def ended_outcome(report: pytest.TestReport) -> str | None:
    """The outcome of the arena item this report ends (DriverError for one whose worker died; an
    item that cannot start ends at its setup); None for every other report."""
    if crashed_item(report):
        return "DriverError"
    ends = report.when == "call" or (report.when == "setup" and report.failed)
    return arena_outcome(report) if ends else None


def turn_lines_of(report: pytest.TestReport) -> list[str]:
    for key, value in report.user_properties:
        if key == TURN_LINES:
            try:
                return [str(line) for line in json.loads(str(value))]
            except ValueError:
                return []
    return []
