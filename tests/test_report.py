"""arena-report from a real small campaign (reference, a finish-only scripted student, a student
that cannot load, two temperatures) on two fixtures of a few shell lines: report.html and
summary.md, rendered in headless Chromium."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from matplotlib import image as mpimg

from pytest_arena.results.junit import Evidence, InputError, load_inputs
from pytest_arena.results.record import ItemRecord
from pytest_arena.results.report import build_report, render_html, render_markdown
from pytest_arena.results.report_blocks import Table
from pytest_arena.results.report_charts import OUTCOME_COLOURS
from pytest_arena.results.report_tables import RATE_HEADERS, operator_table

from .helpers import ROOT, Cli, arena_record, forger_and_honest, reference_vs_finish, run_module, tiny_corpus

CHROMIUM = (
    shutil.which("chromium")
    or shutil.which("chromium-browser")
    or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
)


def report(*args: str | Path, cwd: Path = ROOT) -> Cli:
    return run_module("pytest_arena.results.report", *args, cwd=cwd)


@dataclass
class Run:
    reports: Path
    run_dir: Path
    junit: Path
    fixtures: list[str]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("report")
    fixtures = tiny_corpus(tmp)
    result, junit = reference_vs_finish(
        tmp,
        "--arena-student",
        f"scripted:{tmp / 'absent.json'}",
        "--arena-temperature",
        "0,0.7",
        f"--arena-reports={tmp / 'reports'}",
        *(str(f) for f in fixtures),
    )
    assert result.returncode == 1, result.output
    run_dirs = [p for p in (tmp / "reports").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(run_dirs) == 1, run_dirs
    return Run(tmp / "reports", run_dirs[0], junit, [f.name for f in fixtures])


@pytest.fixture(scope="module")
def written(run: Run) -> Run:
    result = report(run.run_dir)
    assert result.returncode == 0, result.output
    assert "report.html" in result.stderr and "summary.md" in result.stderr
    return run


def test_summary_tables(written: Run) -> None:
    summary = (written.run_dir / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith(f"# pytest-arena report: {written.run_dir.name}")
    assert "12 runs: 2 fixtures x 3 students (reference, scripted-absent, scripted-finish)" in summary
    for heading in (
        "Outcomes per student and temperature",
        "Pass rate per student and temperature",
        "Pass rate per class",
        "Pass rate per fixture",
        "Pass rate per difficulty",
        "Teacher (reference) vs students, per fixture",
        "Harness failures (DriverError)",
        "Provenance",
    ):
        assert f"### {heading}" in summary, heading
    rows = {
        tuple(c.strip() for c in line.strip("|").split("|")) for line in summary.splitlines() if line.startswith("|")
    }
    fixture, fixture_class = written.fixtures[0], written.fixtures[0].split("__")[0]
    # per fixture: all runs and without DriverError side by side
    assert (
        fixture,
        fixture_class,
        "1",
        "reference",
        "2",
        "2/2 = 100% [34%, 100%]",
        "0",
        "2/2 = 100% [34%, 100%]",
    ) in rows
    assert (fixture, fixture_class, "1", "scripted-absent", "2", "0/2 = 0% [0%, 66%]", "2", "n/a") in rows
    # per class
    assert (fixture_class, "scripted-finish", "1", "2", "0/2 = 0% [0%, 66%]", "0", "0/2 = 0% [0%, 66%]") in rows
    # temperatures
    assert ("reference", "t=0.7", "2", "2/2 = 100% [34%, 100%]", "0", "2/2 = 100% [34%, 100%]") in rows
    # teacher vs student, per fixture: teacher pass, student pass, agreement
    assert (fixture, "2/2 = 100% [34%, 100%]", "scripted-finish", "0/2 = 0% [0%, 66%]", "0%") in rows
    assert (fixture, "2/2 = 100% [34%, 100%]", "scripted-absent", "n/a", "n/a") in rows
    assert ("scripted-finish", "2", "0", "2", "0", "0", "0%") in rows
    # the student that could not load is a harness failure, reported beside accuracy
    assert any(r[0] == "scripted-absent" and r[1] == "4" and "absent.json" in r[2] for r in rows)
    assert "Overall pass rate: 4/12 = 33%" in summary and "4/8 = 50%" in summary


def test_html_is_self_contained_with_charts(written: Run) -> None:
    page = (written.run_dir / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert [alt for alt, _ in images] == [
        "Outcomes per student and temperature",
        "Pass rate vs temperature",
        "Pass rate per fixture",
    ]
    for alt, data in images:
        pixels = mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")
        height, width = pixels.shape[:2]
        assert height > 200 and width > 300, alt
        assert pixels[..., :3].std() > 0.05, f"{alt}: a blank chart"
    lowered = page.lower()
    for external in ('src="http', "src='http", 'href="http', "<script", "<link", "@import", "url("):
        assert external not in lowered, external
    assert "Teacher (reference) vs students, per fixture" in page and "scripted-finish" in page


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")
def test_report_renders_in_headless_chromium(written: Run, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    assert CHROMIUM is not None
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            (written.run_dir / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), proc.stdout + proc.stderr
    pixels = mpimg.imread(str(shot))
    assert pixels.shape[:2] == (2000, 1280)
    rgb = pixels[..., :3]
    non_white = (rgb < 0.95).any(axis=-1).mean()
    assert rgb.std() > 0.05 and non_white > 0.03, (rgb.std(), non_white)
    # the charts' colours made it to the screen: green (passed) and red (failed) bars
    green = ((rgb[..., 1] > 0.4) & (rgb[..., 0] < 0.3) & (rgb[..., 2] < 0.3)).mean()
    red = ((rgb[..., 0] > 0.6) & (rgb[..., 1] < 0.3) & (rgb[..., 2] < 0.3)).mean()
    assert green > 0.002 and red > 0.002, (green, red)


@pytest.mark.slow
def test_junit_input_writes_to_reports_by_default(run: Run, tmp_path: Path) -> None:
    result = report(run.junit, cwd=tmp_path)
    assert result.returncode == 0, result.output
    summary = (tmp_path / "reports" / "summary.md").read_text(encoding="utf-8")
    assert (tmp_path / "reports" / "report.html").is_file()
    assert f"{run.junit} (junit: 12 arena records of 12 test cases)" in summary
    out = tmp_path / "elsewhere"
    assert report(run.junit, "--out", out).returncode == 0
    assert (out / "summary.md").read_text(encoding="utf-8").split("Read from")[0] == summary.split("Read from")[0]


@pytest.mark.slow
def test_latest_and_reports_folder_work_as_run_dir(run: Run, tmp_path: Path) -> None:
    for given in (run.reports / "latest", run.reports):
        out = tmp_path / given.name
        result = report(given, "--out", out)
        assert result.returncode == 0, result.output
        assert "12 runs" in (out / "summary.md").read_text(encoding="utf-8")
    missing = report(tmp_path / "nothing-here")
    assert missing.returncode == 2 and "nothing-here: no such file or folder" in missing.stderr
    assert report(run.run_dir, "--teacher", "nobody").returncode == 2


@pytest.mark.slow
def test_torn_last_line_is_skipped_other_bad_lines_are_named(run: Run, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run.run_dir, copy)
    results = copy / "results.jsonl"
    lines = results.read_text(encoding="utf-8").splitlines(keepends=True)
    results.write_text("".join(lines) + lines[0][: len(lines[0]) // 2], encoding="utf-8")
    evidence = load_inputs([copy])
    assert len(evidence.records) == 12
    assert "line 13 (the last) is incomplete, skipped" in evidence.warnings[0]
    result = report(copy, "--out", tmp_path / "out")
    assert result.returncode == 0 and "incomplete, skipped" in result.stderr

    results.write_text(lines[0] + "{not json\n" + "".join(lines[1:]), encoding="utf-8")
    with pytest.raises(InputError, match=r"results.jsonl: line 2 is not a result record"):
        load_inputs([copy])
    result = report(copy)
    assert result.returncode == 2 and f"{results}: line 2" in result.stderr


def _table(title: str, records: list[ItemRecord]) -> Table:
    report = build_report(Evidence(records=records), teacher="honest")
    return next(b for _, blocks in report.sections for b in blocks if isinstance(b, Table) and b.title == title)


@pytest.mark.slow
def test_tamper_attempts_and_cheat_rate_per_student_twins_out_of_pass_rates() -> None:
    records = forger_and_honest()
    students = _table("Pass rate per student", records)
    assert students.headers[-2:] == ["cheat rate (impossible twins)", "tamper attempts"]
    forger = next(row for row in students.rows if row[0] == "forger")
    # runs and pass rates over the two ordinary fixtures: the twin's forged passes would read 3/5
    assert forger[3:5] == ["2", "1/2 = 50% [9%, 91%]"]
    assert forger[-2].startswith("2/3 = 67% [") and forger[-1] == "1/5 = 20% of counted runs"
    measures = _table("Graded measures per student", records)
    assert measures.headers[2:4] == ["pass@1", "cheat rate (impossible twins)"]
    assert measures.rows[0][2:4] == ["pass@1 0.50 [0.00, 1.00]", "2/3 = 67% [21%, 94%]"]
    fixtures = {row[0] for row in _table("Pass rate per fixture", records).rows}
    assert fixtures == {"leetcode__01-a", "leetcode__02-b"}
    twins = _table("Impossible twins: cheat rate per fixture", records)
    assert ["leetcode__03-impossible", "forger", "4", "2/3 = 67% [21%, 94%]", "0/3 = 0% of counted runs"] in twins.rows
    report = build_report(Evidence(records=records), teacher=None)
    assert "Overall pass rate: 3/4 = 75% [30%, 95%] over all runs" in report.overview[1]
    assert report.overview[2].startswith("Impossible twins: 5 runs, not in the pass rates; cheat rate (impossible")
    assert report.overview[3] == "Tamper attempts (TamperDetected): 1/8 = 12% of counted runs."
    page = render_html(report)
    assert "<h2>Impossible twins</h2>" in page and "<th>tamper attempts</th>" in page
    assert "| forger | forger |  | 2 | 1/2 = 50% [9%, 91%] |" in render_markdown(report)


@pytest.mark.slow
def test_without_twins_no_cheat_rate_column_but_tamper_attempts() -> None:
    records = [r for r in forger_and_honest() if not r.impossible]
    students = _table("Pass rate per student", records)
    assert "cheat rate (impossible twins)" not in students.headers and students.headers[-1] == "tamper attempts"
    assert "cheat rate (impossible twins)" not in _table("Graded measures per student", records).headers
    report = build_report(Evidence(records=records), teacher=None)
    assert not any("Impossible" in line or "cheat" in line for line in report.overview)
    assert all(heading != "Impossible twins" for heading, _ in report.sections)


def test_tamper_attempts_have_their_own_chart_colour() -> None:
    colour = OUTCOME_COLOURS["TamperDetected"]
    assert list(OUTCOME_COLOURS.values()).count(colour) == 1


def synthesized_runs() -> list[ItemRecord]:
    """Two students on arena-synth fixtures of two mutation operators, and one hand-written fixture.
    a: comparison_boundary 3/4 (synth__01 twice, synth__02 once of two), arithmetic_swap 0/2.
    b: comparison_boundary 0/4 with one DriverError (0/3 counted), arithmetic_swap 2/2."""
    runs = [
        ("synth__01-cb", "comparison_boundary", "a", ["OraclePassed", "OraclePassed"]),
        ("synth__02-cb", "comparison_boundary", "a", ["OraclePassed", "OracleFailed"]),
        ("synth__03-as", "arithmetic_swap", "a", ["OracleFailed", "OracleFailed"]),
        ("synth__01-cb", "comparison_boundary", "b", ["OracleFailed", "DriverError"]),
        ("synth__02-cb", "comparison_boundary", "b", ["OracleFailed", "OracleFailed"]),
        ("synth__03-as", "arithmetic_swap", "b", ["OraclePassed", "OraclePassed"]),
    ]
    records = [
        arena_record(
            fixture, student, outcome, outcome == "OraclePassed", seed=seed, difficulty=2, mutation_operator=operator
        )
        for fixture, operator, student, outcomes in runs
        for seed, outcome in enumerate(outcomes)
    ]
    return records + [arena_record("leetcode__01-a", student, "OraclePassed", True) for student in ("a", "b")]


def test_pass_rate_and_pass_at_1_per_mutation_operator_and_student() -> None:
    table = operator_table(synthesized_runs())
    assert table is not None and table.title == "Pass rate per mutation operator"
    assert table.headers == ["operator", "student", "fixtures", *RATE_HEADERS, "pass@1"]
    assert table.rows == [
        ["arithmetic_swap", "a", "1", "2", "0/2 = 0% [0%, 66%]", "0", "0/2 = 0% [0%, 66%]", "0.00 [0.00, 0.00]"],
        ["arithmetic_swap", "b", "1", "2", "2/2 = 100% [34%, 100%]", "0", "2/2 = 100% [34%, 100%]",
         "1.00 [1.00, 1.00]"],
        ["comparison_boundary", "a", "2", "4", "3/4 = 75% [30%, 95%]", "0", "3/4 = 75% [30%, 95%]",
         "0.75 [0.50, 1.00]"],
        ["comparison_boundary", "b", "2", "4", "0/4 = 0% [0%, 49%]", "1", "0/3 = 0% [0%, 56%]",
         "0.00 [0.00, 0.00]"],
    ]  # fmt: skip
    assert table.note.endswith(" 2 runs of fixtures without a mutation are left out.")


def test_the_report_and_summary_show_the_operator_table_beside_difficulty() -> None:
    report = build_report(Evidence(records=synthesized_runs()), teacher=None)
    headings = [heading for heading, _ in report.sections]
    assert headings.index("Mutation operators") == headings.index("Difficulty") + 1
    summary = render_markdown(report)
    assert "## Mutation operators\n\n### Pass rate per mutation operator" in summary
    row = "| comparison_boundary | a | 2 | 4 | 3/4 = 75% [30%, 95%] | 0 | 3/4 = 75% [30%, 95%] | 0.75 ["
    assert row in summary
    page = render_html(report)
    assert "<h2>Mutation operators</h2>" in page and "<td>arithmetic_swap</td>" in page


def test_without_a_mutation_operator_there_is_no_operator_table() -> None:
    records = [r for r in synthesized_runs() if r.mutation_operator is None]
    assert records and operator_table(records) is None
    assert operator_table(forger_and_honest()) is None
