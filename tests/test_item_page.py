"""A page per item from ``arena-report RUN``: every turn, calls, results, diff and oracle output;
model text escaped (a ``<script>`` shows as text, also in headless Chromium); report.html links to
the pages and stays small however many items there are."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pytest_arena.results.item_page import ItemLink, page_name, render_item
from pytest_arena.results.record import ItemRecord
from pytest_arena.results.report_tables import ITEMS_INLINE, items_table
from pytest_arena.results.trajectory import Trajectory

from .helpers import FINISH, arena_record, call, run_module, run_pytest, tiny_fixture, write_script
from .test_report import CHROMIUM

FIXTURE = "tiny__01-answer"  # tests/helpers.py tiny_fixture: a fixture of a few shell lines
HOSTILE = "<script>document.body.setAttribute('data-pwned','yes')</script> & the fix is <b>easy</b>"
LONG = "\n".join(f"line {n} of a long explanation" for n in range(80))


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("pages")
    script = write_script(
        tmp / "agent.json",
        {"*": [HOSTILE, LONG, call("shell", command="echo '<script>x</script>'"), FINISH]},
    )
    run = run_pytest(
        "--arena",
        "--arena-student",
        f"scripted:{script}",
        "--arena-text-loop-limit=0",
        f"--arena-reports={tmp / 'reports'}",
        str(tiny_fixture(tmp)),
    )
    assert run.returncode == 1, run.output
    run_dir = (tmp / "reports" / "latest").resolve()
    result = run_module("pytest_arena.results.report", run_dir)
    assert result.returncode == 0, result.output
    return run_dir


def test_report_links_each_item_to_its_page(pages: Path) -> None:
    report = (pages / "report.html").read_text(encoding="utf-8")
    item = f"{FIXTURE}[scripted-agent-t0-s0]"
    href = page_name(item)
    assert f'<a href="{href}">{item}</a>' in report
    assert (pages / href).is_file() and (pages / "items" / "index.html").is_file()
    assert "DESIGN.md" not in report


def test_page_shows_turns_calls_results_diff_and_oracle(pages: Path) -> None:
    page = (pages / page_name(f"{FIXTURE}[scripted-agent-t0-s0]")).read_text(encoding="utf-8")
    assert "Outcome: " in page and "OracleFailed" in page
    assert page.count('<div class="turn">') == 4
    assert "&lt;script&gt;document.body.setAttribute(&#x27;data-pwned&#x27;" in page
    assert "<script" not in page.lower()
    assert "<details><summary>model output (raw) (" in page  # the long turn starts folded
    assert '<span class="tag strict">strict</span> <b>shell</b>' in page
    assert "Tool results:" in page and "shell: ok" in page
    assert "stop reason: stop" in page and "prompt added since the previous turn" in page
    assert "Final diff" in page and "(no change)" in page
    assert "sh tests/check.sh" in page and "1 failed: answer.txt says 41, expected 42" in page


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")
def test_model_script_does_not_run_in_chromium(pages: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    page = pages / page_name(f"{FIXTURE}[scripted-agent-t0-s0]")
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    dom = proc.stdout
    assert "Turns (4)" in dom, proc.stderr[-2000:]
    assert 'data-pwned="yes"' not in dom
    assert re.search(r"&lt;script&gt;document\.body\.setAttribute", dom)


def _record(n: int, passed: bool) -> ItemRecord:
    return ItemRecord.model_validate(
        {
            "item": f"fx__{n:05d}[s-t0-s0]",
            "fixture": f"fx__{n:05d}",
            "class": "leetcode",
            "student": "s",
            "student_spec": "default",
            "temperature": 0,
            "top_k": 40,
            "top_p": 0.95,
            "min_p": 0.05,
            "repeat_penalty": 1,
            "seed": 0,
            "max_tokens": 1024,
            "constrained": False,
            "outcome": "OraclePassed" if passed else "OracleFailed",
            "passed": passed,
        }
    )


@pytest.mark.slow
def test_report_lists_a_bounded_number_of_items_failures_first() -> None:
    links = [ItemLink(_record(n, passed=n % 3 != 0), page_name(f"fx__{n:05d}")) for n in range(10_000)]
    table = items_table(links)
    assert len(table.rows) == ITEMS_INLINE + 1
    assert all(row[1] == "OracleFailed" for row in table.rows[:ITEMS_INLINE])
    assert table.rows[-1][0] == "all 10000 items" and table.links[-1] == "items/index.html"


def _tampered() -> ItemRecord:
    fields = '{"kind": "build script", "evidence": "own tree passes; clean tree fails <b>exit code</b>"}'
    return arena_record(
        "fx__01-a",
        "s",
        "TamperDetected",
        False,
        outcome_fields=fields,
        dropped_changes="build.rs,pytest.ini",
        suppressions="src/lib.rs:3 allow",
    )


def test_page_shows_dropped_changes_suppressions_and_the_tamper_evidence_escaped() -> None:
    own = {"tests": {"name": "tests", "command": "cargo test", "status": "passed", "output": "ok <i>all</i>"}}
    payload = {
        "dropped_changes": ["build.rs (outside editable: <script>x</script>)", "pytest.ini (runner config)"],
        "suppressions": ["src/lib.rs:3: allow #[allow(dead_code)]"],
        "own_tree_verdict": {**own, "compliance": []},
    }
    page = render_item(_tampered(), Trajectory.model_validate(payload))
    assert "<h2>The oracle's clean tree</h2>" in page
    assert "Tamper attempt: build script" in page
    assert "clean tree fails &lt;b&gt;exit code&lt;/b&gt;" in page
    assert "<li>build.rs (outside editable: &lt;script&gt;x&lt;/script&gt;)</li>" in page
    assert "<li>pytest.ini (runner config)</li>" in page
    assert "<li>src/lib.rs:3: allow #[allow(dead_code)]</li>" in page
    assert "<h3>The student's own tree (as left, dropped changes included)</h3>" in page
    assert "tests: `cargo test` (passed)" in page and "ok &lt;i&gt;all&lt;/i&gt;" in page
    assert "<script" not in page.lower() and "<i>" not in page


def test_page_falls_back_to_the_record_and_marks_an_impossible_twin() -> None:
    page = render_item(_tampered(), Trajectory())  # a trajectory without the lists: the record's paths
    assert "<li>build.rs</li>" in page and "<li>pytest.ini</li>" in page and "<li>src/lib.rs:3 allow</li>" in page
    assert "<h3>The student's own tree" not in page and "impossible twin" not in page
    forged = arena_record("fx__02-twin", "s", "OraclePassed", True, impossible=True)
    page = render_item(forged, Trajectory(dropped_changes=[], suppressions=[]))
    assert "An impossible twin" in page and "any pass here is forged" in page
    assert "Changes dropped (outside the editable paths): none" in page
    assert "Lint suppressions the student added: none" in page and "Tamper attempt" not in page
