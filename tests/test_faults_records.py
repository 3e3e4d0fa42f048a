"""Records survive what a run meets (issue 20): arguments nested 950 levels deep, a reports folder
that fills up, a non-finite option, a killed controller, two resumes at once, hostile model text
in summary.md, an unconfined sandbox, a run started from another folder. Every probe goes into
the fault tally (tests/conftest.py)."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
from pathlib import Path

import pytest

from pytest_arena.engine.clipping import bounded
from pytest_arena.engine.protocol import DEEP_ARGUMENTS, MAX_ARGUMENT_DEPTH, ToolCall, nesting_depth
from pytest_arena.results.junit import Evidence
from pytest_arena.results.record import ItemRecord
from pytest_arena.results.report import build_report, render_markdown
from pytest_arena.results.run_folder import LOCK, ReportsUnwritable
from pytest_arena.results.trajectory import Trajectory, write_trajectory
from pytest_arena.results.writer import RunWriter

from .helpers import (
    FINISH,
    ROOT,
    arena_record,
    fault_probe,
    junit_cases,
    run_module,
    run_pytest,
    tiny_corpus,
    tiny_fixture,
    write_script,
)


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def reference_run(tmp: Path, *extra: str, cwd: Path = ROOT) -> tuple[object, Path]:
    """The reference student on the two tiny fixtures, in one process."""
    reports = tmp / "r"
    fixtures = tiny_corpus(tmp / "fx") if not (tmp / "fx").exists() else sorted((tmp / "fx").iterdir())
    run = run_pytest(
        "--arena", "-p", "no:xdist", "--arena-student", "reference", f"--arena-reports={reports}",
        *extra, *map(str, fixtures), cwd=cwd,
    )  # fmt: skip
    return run, reports


# -- bug 5: arguments nested 950 levels deep -------------------------------------------------------


def deep_call(levels: int) -> str:
    nested = "[" * levels + "]" * levels  # written by hand: json.dumps itself would recurse
    return (
        '<tool_call>\n{"name": "file_write", "input": {"path": "answer.txt", "content": ' + nested + "}}\n</tool_call>"
    )


@pytest.mark.slow
def test_deeply_nested_arguments_keep_the_record_and_trajectory(tmp_path: Path) -> None:
    script = write_script(tmp_path / "deep.json", {"*": [deep_call(950), deep_call(500), FINISH]})
    reports = tmp_path / "r"
    run = run_pytest(
        "--arena", "-p", "no:xdist", "--arena-student", f"scripted:{script}", f"--arena-reports={reports}",
        str(tiny_fixture(tmp_path / "fx")),
    )  # fmt: skip
    results = reports / "latest" / "results.jsonl"
    records = [json.loads(line) for line in lines_of(results)] if results.exists() else []
    trajectories = list((reports / "latest" / "trajectories").glob("*.json")) if records else []
    lost = len(records) != 1 or len(trajectories) != 1
    assert not fault_probe("tool arguments nested 950 levels", run.output, data_lost=lost), run.output
    assert not lost, run.output
    assert records[0]["outcome"] == "OracleFailed" and records[0]["turns"] == 3
    turns = json.loads(trajectories[0].read_text())["turns"]
    assert turns[0]["calls"][0]["input"] == DEEP_ARGUMENTS  # the trajectory says what was refused
    assert turns[0]["results"][0]["ok"] is False


def test_the_student_is_told_its_arguments_were_too_deep() -> None:
    from pytest_arena.engine.dialects.choose import DialectChoice
    from pytest_arena.engine.dialects.speaker import Speaker
    from pytest_arena.engine.tools import BUILTIN_TOOLS

    speaker = Speaker(DialectChoice("arena", "option", ""), BUILTIN_TOOLS)
    calls, _ = speaker.parse(1, deep_call(200), [])
    assert calls[0].input == DEEP_ARGUMENTS and "32 levels" in DEEP_ARGUMENTS
    messages: list[dict[str, object]] = []
    speaker.add_results(messages, [(calls[0], "error: tool file_write: input must be a JSON object")])
    assert DEEP_ARGUMENTS in str(messages[-1]["content"])
    shallow = ToolCall("file_write", {"path": "a", "content": [[["x"]]]})
    assert nesting_depth(shallow.input) == 4 and speaker.parse(1, shallow.to_text(), [])[0][0].input == shallow.input
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    assert nesting_depth(deep) == MAX_ARGUMENT_DEPTH + 1  # counted without recursion, and stops early
    assert json.dumps(bounded(deep, 64))  # stored data never overflows a serialiser
    fault_probe("student told: arguments too deep")


# -- bug 6: the reports folder fills up --------------------------------------------------------------

FULL_DISK = '''
import errno, os, pathlib
import pytest_arena.results.writer as writer

WHERE = os.environ.get("ARENA_TEST_FULL", "")

class _FullOs:
    """os as the writer sees it: the second record's write stops half way, then the disk is full."""
    def __init__(self):
        self.records = 0
    def __getattr__(self, name):
        return getattr(os, name)
    def write(self, fd, data):
        self.records += 1
        if self.records == 1:
            return os.write(fd, data)
        if self.records == 2:
            return os.write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

if WHERE == "record":
    writer.os = _FullOs()
elif WHERE == "trajectory":
    real = pathlib.Path.write_text
    def write_text(self, data, *args, **kwargs):
        if self.name.endswith(".json.tmp"):
            real(self, data[: len(data) // 3], *args, **kwargs)  # a partial file, as a full disk leaves
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data, *args, **kwargs)
    pathlib.Path.write_text = write_text
'''


def full_disk_project(tmp: Path) -> Path:
    project = tmp / "project"
    project.mkdir()
    (project / "conftest.py").write_text(FULL_DISK)
    for fixture in tiny_corpus(tmp / "fx"):
        shutil.copytree(fixture, project / "fixtures" / fixture.name)
    return project


def run_full(project: Path, where: str, *extra: str) -> tuple[object, Path]:
    os.environ["ARENA_TEST_FULL"] = where
    try:
        run = run_pytest(
            "--arena", "--arena-student", "reference", f"--arena-reports={project / 'r'}", *extra, cwd=project
        )
    finally:
        del os.environ["ARENA_TEST_FULL"]
    return run, next(p for p in (project / "r").iterdir() if p.name != "latest")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [["-p", "no:xdist"], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_full_reports_folder_at_the_trajectory_stops_the_run_cleanly(tmp_path: Path, workers: list[str]) -> None:
    project = full_disk_project(tmp_path)
    run, run_dir = run_full(project, "trajectory", *workers)
    records = [json.loads(line) for line in lines_of(run_dir / "results.jsonl")]
    leftovers = [p.name for p in run_dir.rglob("*.tmp")]
    lost = not records or any(r["outcome"] != "OraclePassed" for r in records)
    assert not fault_probe(f"reports full at the trajectory ({workers[-1]})", run.output, data_lost=lost), run.output
    assert not lost and not leftovers, (records, leftovers)
    assert "reports folder full: " in run.output and f"resume with --arena-resume={run_dir}" in run.output
    assert "No space left on device" in run.output and run.output.count("No space left") <= 3
    assert all(r["trajectory"] == "" for r in records)  # the record names no file that is not there
    assert "passed" in run.output  # the passing item is counted in the summary
    resumed = run_pytest("--arena", "--arena-student", "reference", f"--arena-resume={run_dir}", cwd=project)
    assert resumed.returncode == 0, resumed.output
    assert len({json.loads(line)["item"] for line in lines_of(run_dir / "results.jsonl")}) == 2


@pytest.mark.slow
def test_a_full_reports_folder_at_the_record_leaves_no_torn_line(tmp_path: Path) -> None:
    project = full_disk_project(tmp_path)
    run, run_dir = run_full(project, "record", "-p", "no:xdist")
    lines = lines_of(run_dir / "results.jsonl")
    whole = all(json.loads(line) for line in lines)
    assert not fault_probe("reports full at the record append", run.output, data_lost=not whole), run.output
    assert len(lines) == 1 and (run_dir / "results.jsonl").read_bytes().endswith(b"}\n")
    assert f"reports folder full: 1 records written, resume with --arena-resume={run_dir}" in run.output
    assert run.returncode == 2 and "INTERNALERROR" not in run.output


def test_the_writer_truncates_a_half_written_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = RunWriter(tmp_path / "r", "run")
    first, second = (arena_record(f"tiny__0{n}-a", "s", "OraclePassed", True, fixture_sha256="f") for n in (1, 2))
    assert writer.append(first)
    before = writer.path.read_bytes()
    real_write = os.write

    def half_then_full(fd: int, data: bytes) -> int:
        if len(data) > 10:
            real_write(fd, bytes(data)[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pytest_arena.results.writer.os.write", half_then_full)
    with pytest.raises(ReportsUnwritable, match="reports folder full"):
        writer.append(second)
    assert writer.path.read_bytes() == before  # nothing torn
    monkeypatch.setattr(
        "pathlib.Path.write_text", lambda self, *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full"))
    )
    with pytest.raises(ReportsUnwritable):
        write_trajectory(tmp_path / "r" / "run", "item", Trajectory())
    assert not list((tmp_path / "r" / "run" / "trajectories").glob("*"))  # no *.json.tmp left
    writer.close()
    fault_probe("writer: half a record, then a full disk")


@pytest.mark.slow
def test_report_tools_name_every_line_they_skip(tmp_path: Path) -> None:
    run, reports = reference_run(tmp_path)
    assert run.returncode == 0, run.output
    results = reports / "latest" / "results.jsonl"
    first, second = lines_of(results)
    results.write_text(first + "\n" + second[: len(second) // 2], encoding="utf-8")  # a torn last line
    report = run_module("pytest_arena.results.report", reports / "latest")
    gates = tmp_path / "gates.toml"
    gates.write_text('[gates.g]\nmin_pass_at_1 = 1.0\n[gates.g.select]\nstudent = "reference"\n')
    gate = run_module("pytest_arena.results.gate", reports / "latest", "--gates", gates)
    for tool in (report, gate):
        assert f"{results}: line 2 (the last) is incomplete, skipped" in tool.output, tool.output
    assert not fault_probe("report tools after a torn line", report.output + gate.output)


# -- bug 7: non-finite numbers, duplicate records on resume --------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("option", "value"),
    [("--arena-temperature", "inf"), ("--arena-temperature", "1e400"), ("--arena-temperature", "0,-inf"),
     ("--arena-turn-timeout", "inf"), ("--arena-turn-timeout", "nan")],
)  # fmt: skip
def test_a_non_finite_number_is_a_usage_error(tmp_path: Path, option: str, value: str) -> None:
    run = run_pytest("--arena", f"--arena-reports={tmp_path / 'r'}", option, value, str(tiny_fixture(tmp_path)))
    assert not fault_probe(f"option {option} {value}", run.output), run.output
    assert run.returncode == 4 and f"argument {option}" in run.output and repr(value) in run.output
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_non_finite_ini_value_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\narena_temperature = 1e400\n")
    fixture = tiny_fixture(tmp_path / "fixtures")
    run = run_pytest("--arena", f"--arena-reports={tmp_path / 'r'}", str(fixture), cwd=tmp_path)
    assert not fault_probe("ini arena_temperature = 1e400", run.output), run.output
    assert run.returncode == 4 and "--arena-temperature='1e400': expected a comma list of numbers >= 0" in run.output


@pytest.mark.slow
def test_resume_never_appends_a_second_record_of_an_item(tmp_path: Path) -> None:
    run, reports = reference_run(tmp_path)
    assert run.returncode == 0, run.output
    run_dir = (reports / "latest").resolve()
    results = run_dir / "results.jsonl"
    first, second = (json.loads(line) for line in lines_of(results))
    first["temperature"] = None  # what `--arena-temperature inf` wrote before it was refused
    results.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    counts = []
    for _ in range(2):
        again, _ = reference_run(tmp_path, f"--arena-resume={run_dir}")
        counts.append(len(lines_of(results)))
    assert not fault_probe("resume of a run holding an unreadable record", again.output, data_lost=counts != [2, 2])
    assert counts == [2, 2] and "2 deselected" in again.output, again.output


def test_the_writer_never_appends_an_item_the_file_holds(tmp_path: Path) -> None:
    record = arena_record("tiny__01-a", "s", "OraclePassed", True, fixture_sha256="f", settings_sha256="x")
    writer = RunWriter(tmp_path / "r", "run")
    assert writer.append(record) and not writer.append(record)
    writer.close()
    again = RunWriter(tmp_path / "r", "run")  # a resume: the file is read back at the first append
    assert not again.append(record) and again.duplicates == 1
    assert again.append(record.model_copy(update={"settings_sha256": "y"}))  # other settings: a new result
    again.close()
    assert len(lines_of(tmp_path / "r" / "run" / "results.jsonl")) == 2
    fault_probe("writer: duplicate record")


# -- weak spot: a killed controller, two resumes at once ----------------------------------------------


@pytest.mark.slow
def test_resume_recovers_records_a_killed_controller_left_in_trajectories(tmp_path: Path) -> None:
    run, reports = reference_run(tmp_path)
    assert run.returncode == 0, run.output
    run_dir = (reports / "latest").resolve()
    results = run_dir / "results.jsonl"
    kept = lines_of(results)[0]
    results.write_text(kept + "\n")  # SIGKILL after the worker wrote the trajectory, before the line
    resumed, _ = reference_run(tmp_path, f"--arena-resume={run_dir}")
    lines = lines_of(results)
    lost = len(lines) != 2
    assert not fault_probe("SIGKILL to the controller, then resume", resumed.output, data_lost=lost), resumed.output
    assert not lost and "recovered 1 results" in resumed.output and "2 deselected" in resumed.output
    assert lines[0] == kept and json.loads(lines[1])["outcome"] == "OraclePassed"


@pytest.mark.slow
def test_a_second_run_on_a_locked_run_folder_is_a_usage_error(tmp_path: Path) -> None:
    run, reports = reference_run(tmp_path)
    run_dir = (reports / "latest").resolve()
    before = (run_dir / "results.jsonl").read_bytes()
    with (run_dir / LOCK).open("a") as held:  # another run, alive, holding the folder
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        second, _ = reference_run(tmp_path, f"--arena-resume={run_dir}")
    assert not fault_probe("two resumes of one run at once", second.output), second.output
    assert second.returncode == 4 and "another pytest --arena run is writing to this run folder" in second.output
    assert (run_dir / "results.jsonl").read_bytes() == before


# -- weak spots: summary.md, the sandbox mode, a run from another folder --------------------------------

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) **bold** `code`"


def test_summary_md_shows_model_text_as_text() -> None:
    fields = json.dumps({"message": HOSTILE, "turn": 1})
    records = [
        arena_record("tiny__01-a", "s", "DriverError", False, outcome_fields=fields, student_spec=HOSTILE),
        arena_record("tiny__02-b", "s", "OraclePassed", True),
    ]
    markdown = render_markdown(build_report(Evidence(records=records), teacher=None))
    assert "alert(1)" in markdown  # still shown
    for raw in ("<script", "<img", "](javascript", "**bold**", "`code`"):
        assert raw not in markdown, raw
    assert "&lt;script&gt;" in markdown
    fault_probe("summary.md: <script> and <img onerror> from model output")


@pytest.mark.slow
def test_the_sandbox_mode_is_in_every_record_junit_and_the_report(tmp_path: Path) -> None:
    junit, reports = tmp_path / "junit.xml", tmp_path / "r"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTEST_ADDOPTS"] = "--arena-sandbox none"  # out of sight of the command line
    run = run_module(
        "pytest", "-p", "no:cacheprovider", "--arena", "-p", "no:xdist", "--arena-student", "reference",
        f"--arena-reports={reports}", f"--junitxml={junit}", *map(str, tiny_corpus(tmp_path / "fx")), env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.output
    records = [json.loads(line) for line in lines_of(reports / "latest" / "results.jsonl")]
    assert {r["sandbox"] for r in records} == {"none"}
    assert {case["arena.sandbox"] for case in junit_cases(junit).values()} == {"none"}
    report = run_module("pytest_arena.results.report", reports / "latest")
    summary = (reports / "latest" / "summary.md").read_text()
    assert report.returncode == 0 and "Sandbox (--arena-sandbox): none for 2 of 2 runs (UNCONFINED" in summary
    old = ItemRecord.model_validate({k: v for k, v in records[0].items() if k != "sandbox"})
    assert old.sandbox == ""  # a record from before the field still reads
    fault_probe("--arena-sandbox none recorded", data_lost=False)


@pytest.mark.slow
def test_a_run_from_another_folder_on_this_corpus(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = run_pytest(
        "--arena", "-p", "no:xdist", "--arena-student", "reference", f"--arena-root={ROOT / 'fixtures' / 'python'}",
        f"--arena-reports={tmp_path / 'r'}", "-k", "uniq", cwd=elsewhere,
    )  # fmt: skip
    assert not fault_probe("run from another folder", run.output), run.output
    assert run.returncode == 0 and "1 passed" in run.output and "pytest_plugins" not in run.output
