"""The run's recorder, registered in the process that owns the run (the controller under xdist):
records each finished item once, from the properties its report carries, stops the run cleanly
when results can no longer be written, and prints the summary."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from .progress import crashed_item, crashed_item_name, ended_outcome
from .results.dialect_summary import dialect_lines
from .results.record import ItemRecord, crash_record
from .results.resume import orphaned_records
from .results.run_folder import ReportsUnwritable
from .results.summary import gate_lines, summary_lines
from .results.trajectory_transit import write_carried
from .results.writer import RunWriter
from .turn_marker import forget, last_turn

# User property of an item whose trajectory could not be written (not an ``arena.`` record field).
REPORTS_UNWRITABLE = "arena-reports.unwritable"


class RunRecorder:
    def __init__(self, writer: RunWriter, gates: Path, shard: str = "") -> None:
        self.writer = writer
        self.shard = shard  # "I/N" of --arena-shard, for the records of items whose worker died
        self.gates = gates  # gates.toml beside the project, decided in the summary when present
        self.records: list[ItemRecord] = []
        self.stopped: str | None = None  # the one line that says why the run stopped early
        self.session: pytest.Session | None = None

    def recover(self) -> int:
        """Appends the records a killed run left only in its trajectories (see orphaned_records)."""
        return sum(self.writer.append(record) for record in orphaned_records(self.writer.run_dir))

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if crashed_item(report):  # marked by pytest_handlecrashitem: its worker died (killed, a segfault)
            item = crashed_item_name(report)
            record = crash_record(
                item,
                f"the process running this item died: {report.longreprtext[:500]}",
                turn=last_turn(self.writer.run_dir, item),
                shard=self.shard,
            )
            forget(self.writer.run_dir, item)
            self._keep(record)
            return
        if ended_outcome(report) is None:
            return
        record = ItemRecord.from_properties(report.user_properties)
        unwritable = self._write_trajectory(report, record)
        self._keep(record)  # the record goes out even when its trajectory could not
        if unwritable is not None:
            self._stop(unwritable)
        for key, value in report.user_properties:
            if key == REPORTS_UNWRITABLE:
                self._stop(str(value))

    def _write_trajectory(self, report: pytest.TestReport, record: ItemRecord) -> str | None:
        """The trajectory a worker sent with the report (trajectory_transit): the record names it
        only once written. Returns why the run folder could not take it, or None."""
        if self.stopped is not None:  # the run stopped: nothing more is written
            record.trajectory = ""
            return None
        try:
            write_carried(report, self.writer.run_dir, record.item)
        except ReportsUnwritable as exc:
            record.trajectory = ""
            return str(exc)
        except ValueError as exc:
            record.trajectory = ""
            message = f"the trajectory of {record.item} came from its worker unreadable ({exc}); its record is kept"
            warnings.warn_explicit(pytest.PytestWarning(message), pytest.PytestWarning, "pytest-arena", 0)
        return None

    def _keep(self, record: ItemRecord) -> None:
        self.records.append(record)
        if self.stopped is not None:
            return
        try:
            self.writer.append(record)
        except ReportsUnwritable as exc:
            self._stop(str(exc))

    def _stop(self, problem: str) -> None:
        """Stops the run after the items in flight: later items could not be recorded either."""
        if self.stopped is not None:
            return
        what, _, why = problem.partition(" (")  # ReportsUnwritable's text: "<what> (<why>, writing <path>)"
        self.stopped = (
            f"{what}: {self.writer.written} records written, "
            f"resume with --arena-resume={self.writer.run_dir} once it has room ({why}"
        )
        if self.session is not None:
            self.session.shouldstop = self.stopped
        dsession = self.session.config.pluginmanager.get_plugin("dsession") if self.session else None
        if dsession is not None:  # xdist's controller loop reads its own flag
            dsession.shouldstop = self.stopped

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.records:
            return
        terminalreporter.section("arena")
        for line in [*summary_lines(self.records), *dialect_lines(self.records), *gate_lines(self.records, self.gates)]:
            terminalreporter.write_line(line)
        if self.shard:  # under xdist pytest's summary does not count the items of the other shards
            terminalreporter.write_line(
                f"shard {self.shard} (--arena-shard): {len(self.records)} items of this share; "
                "arena-report and arena-gate merge the shards' run folders"
            )
        if self.writer.duplicates:
            terminalreporter.write_line(
                f"{self.writer.duplicates} results not appended: {self.writer.path} already held them"
            )
        if self.stopped is not None:
            terminalreporter.write_line(self.stopped, red=True)
        else:
            terminalreporter.write_line(f"results: {self.writer.path}")


RECORDER_KEY = pytest.StashKey[RunRecorder]()  # set in the process that owns the run
