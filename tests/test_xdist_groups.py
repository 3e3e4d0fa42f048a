"""Under -n an arena run schedules by group (xdist_schedule): a student's items on one fixture stay
on one worker, a worker keeps its student while that student's groups last, a worker that dies
costs its item once and the rest of its group still runs, and an explicit --dist is respected.
Real pytest-xdist runs on the Python corpus (no cargo needed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_arena.items import group_name
from pytest_arena.students.threads import llama_threads

from .helpers import ROOT, junit_cases, run_pytest

PYTHON_CORPUS = ROOT / "fixtures" / "python"
ROMAN, INTERVALS, LEDGER, CART = (
    "leetcode__01-roman-numerals",
    "leetcode__02-merge-intervals",
    "oo__01-bank-ledger",
    "oo__02-shopping-cart",
)

# Students that say which worker started which item (and its seed); "crash:" dies like a
# segfaulting backend on ROMAN's seed 0 (its group also holds seed 1). The wrapper writes which
# scheduler xdist got.
CONFTEST = """
import os, signal
from pathlib import Path
import pytest
from pytest_arena.engine.commands import command_env
from pytest_arena.students.scripted import ReferenceStudent

LOG = Path(__file__).parent / "started.log"

class Logged(ReferenceStudent):
    name = "logged"
    def start(self, fixture, config):
        self.fixture = fixture.id
        with LOG.open("a") as log:
            jobs = command_env(Path("/"), Path("/tmp")).get("CARGO_BUILD_JOBS", "-")
            log.write(f"{os.environ['PYTEST_XDIST_WORKER']} {self.spec} {fixture.id} {config.seed} {jobs}\\n")
        super().start(fixture, config)

class Crashing(Logged):
    def generate(self, messages, config):
        if self.fixture == "leetcode__01-roman-numerals" and config.seed == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().generate(messages, config)

def pytest_arena_make_student(config, spec):
    made = {"crash:": Crashing}.get(spec, Logged if spec.startswith("logged:") else None)
    if made is not None:
        student = made()
        student.spec = spec
        return student
    return None

@pytest.hookimpl(wrapper=True)
def pytest_xdist_make_scheduler(config, log):
    scheduler = yield
    (Path(__file__).parent / "scheduler.txt").write_text(type(scheduler).__name__)
    return scheduler
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for fixture in (ROMAN, INTERVALS, LEDGER, CART):
        shutil.copytree(PYTHON_CORPUS / fixture, tmp_path / "fixtures" / fixture)
    return tmp_path


def started(project: Path) -> list[tuple[str, str, str, str]]:
    """(worker, student spec, fixture, seed) for every item a student started, in order."""
    return [(w, s, f, seed) for w, s, f, seed, _ in _log(project)]


def _log(project: Path) -> list[list[str]]:
    log = project / "started.log"
    return [line.split(" ") for line in (log.read_text().splitlines() if log.exists() else [])]


def arena(project: Path, *args: str) -> tuple[str, dict[str, dict[str, object]]]:
    """pytest --arena in the project (a regression that reschedules a crash forever times out);
    returns the output and the run's records by item."""
    run = run_pytest("--arena", f"--arena-reports={project / 'r'}", *args, cwd=project, timeout=400)
    lines = (project / "r" / "latest" / "results.jsonl").read_text().splitlines()
    records = {str(r["item"]): r for r in map(json.loads, lines)}
    assert len(records) == len(lines), run.output  # each item recorded once
    return run.output, records


@pytest.mark.slow
@pytest.mark.parametrize("dist", [[], ["--dist", "loadgroup"]], ids=["default", "loadgroup"])
def test_a_crashed_item_runs_once_and_the_rest_of_its_group_still_runs(project: Path, dist: list[str]) -> None:
    shutil.rmtree(project / "fixtures" / CART)
    assert group_name("crash", ROMAN) != group_name("crash", LEDGER)
    output, records = arena(project, "-n", "2", "--arena-student", "crash:", "--arena-seed", "0,1", *dist)
    assert (project / "scheduler.txt").read_text() == "ArenaGroupScheduling"
    assert "1 failed, 5 passed" in output, output
    names = [f"{f}[crash-t0-s{seed}]" for f in (ROMAN, INTERVALS, LEDGER) for seed in (0, 1)]
    assert sorted(records) == sorted(names)  # no @group suffix
    crashed = records[f"{ROMAN}[crash-t0-s0]"]
    assert crashed["outcome"] == "DriverError" and "died" in str(crashed["outcome_fields"])
    assert all(records[name]["outcome"] == "OraclePassed" for name in names if name != f"{ROMAN}[crash-t0-s0]")
    runs = started(project)
    assert sorted((f, seed) for _, _, f, seed in runs) == sorted(
        (f, str(seed)) for f in (ROMAN, INTERVALS, LEDGER) for seed in (0, 1)
    ), runs  # the crash was not run again
    (crash_worker,) = {w for w, _, f, seed in runs if (f, seed) == (ROMAN, "0")}
    (rest_worker,) = {w for w, _, f, seed in runs if (f, seed) == (ROMAN, "1")}
    assert crash_worker != rest_worker  # the rest of the group went to a live worker


@pytest.mark.slow
def test_each_group_runs_on_one_worker_and_a_worker_keeps_its_student(project: Path) -> None:
    junit = project / "junit.xml"
    output, records = arena(
        project, "-n", "2", "--arena-student", "logged:a", "--arena-student", "logged:b", f"--junitxml={junit}"
    )
    assert (project / "scheduler.txt").read_text() == "ArenaGroupScheduling"
    assert len(records) == 8 and {r["outcome"] for r in records.values()} == {"OraclePassed"}, output
    groups: dict[str, set[str]] = {}
    students: dict[str, list[str]] = {}
    for worker, spec, fixture, _ in started(project):
        groups.setdefault(group_name(spec.replace(":", "-"), fixture), set()).add(worker)
        students.setdefault(worker, []).append(spec)
    assert len(groups) == 8 and all(len(ran_on) == 1 for ran_on in groups.values()), groups
    # Each worker's students in the order it ran them: one switch at most (the model loads once each).
    for order in students.values():
        assert sum(a != b for a, b in zip(order, order[1:], strict=False)) <= 1, students
    assert sorted(junit_cases(junit)) == sorted(records)  # the same names as a run without -n
    # Each worker's builds run on its share of the cores, as its model's threads do.
    assert {jobs for *_, jobs in _log(project)} == {str(llama_threads(2))}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dist", "addopts", "scheduler"),
    [
        (["--dist", "load"], "", "LoadScheduling"),
        (["-d"], "", "LoadScheduling"),
        ([], "--dist=load", "LoadScheduling"),
        (["--dist=loadgroup"], "", "ArenaGroupScheduling"),
    ],
    ids=["--dist-load", "-d", "ini-addopts", "--dist=loadgroup"],
)
def test_an_explicit_dist_is_respected(project: Path, dist: list[str], addopts: str, scheduler: str) -> None:
    for fixture in (ROMAN, INTERVALS, LEDGER):
        shutil.rmtree(project / "fixtures" / fixture)
    if addopts:
        (project / "pytest.ini").write_text(f"[pytest]\naddopts = {addopts}\n")
    output, records = arena(project, "-n", "1", "--arena-student", "logged:a", *dist)
    assert (project / "scheduler.txt").read_text() == scheduler, output
    assert [r["outcome"] for r in records.values()] == ["OraclePassed"]
