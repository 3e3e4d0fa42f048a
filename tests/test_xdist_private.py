"""Many hosts through xdist, with nothing left behind: a worker that cannot see the controller's
folders (as on another host) still delivers every record and every trajectory, because the
trajectory travels with the item's report and the controller writes it (trajectory_transit)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from .helpers import run_module, run_pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not found: apt-get install bubblewrap"),
]
pytest.importorskip("xdist")


def test_a_worker_with_a_private_filesystem_loses_no_trajectory(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    # Each worker's Python runs with a private, empty tmpfs over the reports folder: whatever it
    # writes there, the controller never sees.
    wrapper = tmp_path / "python-without-reports"
    wrapper.write_text(f'#!/bin/sh\nexec bwrap --dev-bind / / --tmpfs {reports} -- {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    run = run_pytest(
        "--arena", "--arena-student", "reference", "--arena-root", "fixtures/python", "-k", "uniq or roman",
        "--dist", "load", "--tx", f"2*popen//python={wrapper}", f"--arena-reports={reports}", timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    run_dir = (reports / "latest").resolve()
    records = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(r["outcome"] == "OraclePassed" for r in records), records
    for record in records:
        assert record["trajectory"], record["item"]
        stored = json.loads((run_dir / record["trajectory"]).read_text())
        assert stored["record"]["item"] == record["item"] and stored["turns"]
    report = run_module("pytest_arena.results.report", str(run_dir), timeout=300)
    assert report.returncode == 0, report.output
    pages = sorted(p.name for p in (run_dir / "items").glob("*.html") if p.name != "index.html")
    assert len(pages) == 2, pages
