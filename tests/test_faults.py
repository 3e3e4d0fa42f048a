"""Faults cost only what they touch: killed runs keep whole records, a dead xdist worker costs its
item, a hanging backend times out, --arena-resume finishes what is missing, bad input is named."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_arena.engine.tempdirs import clean_stale

from .helpers import (
    CORPUS,
    FINISH,
    ROOT,
    call,
    fault_probe,
    junit_cases,
    requires_cargo,
    run_pytest,
    write_script,
)

pytestmark = requires_cargo
THREE = ("leetcode__01-two-sum", "unix__01-wc", "leetcode__05-binary-search")

# Students for fault tests, registered the way any plugin registers one.
FAULTY_STUDENTS = '''
import os, signal, time
from pytest_arena.students.scripted import ReferenceStudent

class Crashing(ReferenceStudent):
    """Dies like a segfaulting backend on one fixture, replays the solution elsewhere."""
    name = "crashing"
    def start(self, fixture, config):
        self.fixture = fixture.id
        super().start(fixture, config)
    def generate(self, messages, config):
        if self.fixture == "unix__01-wc":
            os.kill(os.getpid(), signal.SIGKILL)
        return super().generate(messages, config)

class Hanging(ReferenceStudent):
    name = "hanging"
    def generate(self, messages, config):
        time.sleep(3600)

def pytest_arena_make_student(config, spec):
    return {"crash:": Crashing, "hang:": Hanging}.get(spec, lambda: None)()
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose conftest.py registers the faulty students, with copies of three fixtures."""
    (tmp_path / "conftest.py").write_text(FAULTY_STUDENTS)
    for fixture in THREE:
        shutil.copytree(CORPUS / fixture, tmp_path / "fixtures" / fixture, ignore=shutil.ignore_patterns("target"))
    return tmp_path


def fixture_args() -> list[str]:
    return [str(CORPUS / f) for f in THREE]


def records(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_a_dead_worker_costs_only_its_item(project: Path) -> None:
    junit = project / "junit.xml"
    run = run_pytest(
        "--arena",
        "-n",
        "2",
        "--arena-student",
        "crash:",
        f"--junitxml={junit}",
        f"--arena-reports={project / 'r'}",
        cwd=project,
    )
    assert run.returncode == 1, run.output
    assert "1 failed, 2 passed" in run.output and "crashed" in run.output
    cases = junit_cases(junit)
    assert len(cases) == 3
    found = {r["item"]: r for r in records(project / "r" / "latest")}
    assert len(found) == 3
    crashed = found["unix__01-wc[crash-t0-s0]"]
    assert crashed["outcome"] == "DriverError" and "died" in str(crashed["outcome_fields"])
    assert json.loads(str(crashed["outcome_fields"]))["turn"] == 1  # the turn it died in
    assert sorted(r["outcome"] for r in found.values()) == ["DriverError", "OraclePassed", "OraclePassed"]
    # The dead worker's workspace is left in the temp dir; the next run's start removes it.
    assert any(p.name.startswith("arena-unix__01-wc-") for p in clean_stale())
    fault_probe("killed xdist worker", data_lost=len(found) != 3)


@pytest.mark.slow
def test_a_hanging_backend_hits_the_turn_timeout(project: Path) -> None:
    run = run_pytest(
        "--arena",
        "--arena-student",
        "hang:",
        "--arena-turn-timeout",
        "1",
        "-p",
        "no:xdist",
        f"--arena-reports={project / 'r'}",
        "-k",
        "two_sum",
        cwd=project,
    )
    assert run.returncode == 1
    assert (
        "DRIVER_ERROR" in run.output or "DriverError(message=\"student 'hanging' gave no answer within 1s" in run.output
    )
    assert "gave no answer within 1s (per-turn timeout, --arena-turn-timeout)" in run.output
    assert not fault_probe("hanging backend", run.output)


@pytest.mark.slow
def test_killed_run_keeps_whole_records_and_resume_finishes_it(tmp_path: Path) -> None:
    slow = write_script(tmp_path / "slow.json", {"*": [call("shell", command="sleep 3"), FINISH]})
    reports = tmp_path / "r"
    args = [
        "--arena",
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        "--arena-student",
        f"scripted:{slow}",
        f"--arena-reports={reports}",
        *fixture_args(),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        results = list(reports.glob("*/results.jsonl"))
        if results and results[0].read_text().count("\n") >= 1:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_dir = next(p for p in reports.iterdir() if p.name != "latest")
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    assert 1 <= len(lines) < 3
    assert all(json.loads(line)["outcome"] == "OracleFailed" for line in lines)  # whole records only

    resumed = run_pytest(*args, f"--arena-resume={run_dir}")
    assert resumed.returncode == 1
    assert f"{len(lines)} deselected" in resumed.output
    assert len(records(run_dir)) == 3 and len({r["item"] for r in records(run_dir)}) == 3

    finished = run_pytest(*args, f"--arena-resume={run_dir}")
    assert finished.returncode == 5 and "3 deselected" in finished.output
    assert len(records(run_dir)) == 3
    fault_probe("SIGKILL mid-run, then resume", data_lost=len(records(run_dir)) != 3)


@pytest.mark.slow
def test_resume_reruns_an_item_whose_settings_changed(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    first = run_pytest("--arena", "--arena-student", "reference", f"--arena-reports={reports}", str(CORPUS / THREE[0]))
    assert first.returncode == 0
    again = run_pytest(
        "--arena",
        "--arena-student",
        "reference",
        "--arena-max-turns",
        "7",
        f"--arena-reports={reports}",
        f"--arena-resume={reports / 'latest'}",
        str(CORPUS / THREE[0]),
    )
    assert again.returncode == 0 and "1 passed" in again.output and "deselected" not in again.output


@pytest.mark.slow
def test_missing_resume_folder_is_a_usage_error(tmp_path: Path) -> None:
    run = run_pytest("--arena", f"--arena-resume={tmp_path / 'nope'}", str(CORPUS / THREE[0]))
    assert run.returncode == 4 and "no such run folder" in run.output
    assert not fault_probe("missing resume folder", run.output)


@pytest.mark.slow
def test_oracle_program_that_does_not_exist(tmp_path: Path) -> None:
    fixture = shutil.copytree(CORPUS / THREE[0], tmp_path / "fx" / THREE[0])
    meta = fixture / "meta.toml"
    meta.write_text(meta.read_text().replace('oracle_cmd = "cargo test', 'oracle_cmd = "carg0 test'))
    run = run_pytest("--arena", "--arena-student", "reference", f"--arena-reports={tmp_path / 'r'}", str(fixture))
    assert run.returncode == 1 and "1 error" in run.output
    assert f"{meta}: key 'oracle_cmd': program 'carg0' not found on PATH" in run.output
    assert not fault_probe("oracle program missing", run.output)
