"""The warm-up phase (pytest_arena/warmup.py): the selected fixtures' warm entries and baselines are
built before each item's session (under -n before the first item, without it beside the items),
once per fixture, shown by the progress line; a fixture that cannot be warmed ends as it does
without the phase (--arena-cold)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_arena.engine.parallel import each_at_once
from pytest_arena.engine.shard import fixture_bucket
from pytest_arena.progress import warming_line

from .helpers import FINISH, ROOT, run_pytest, tiny_fixture, write_script

UNIQ, TR = "unix__01-uniq", "unix__02-tr"

# Each arena item's setup notes which cache entries already exist; every warm_fixture call of the
# phase is logged (in whichever process runs it).
CONFTEST = """
import json, os
from pathlib import Path

HERE = Path(__file__).parent
CACHE = Path(os.environ["XDG_CACHE_HOME"]) / "pytest-arena"

def entries():
    found = [*CACHE.glob("warm/*/.complete"), *CACHE.glob("baselines/*.json")]
    return sorted(p.relative_to(CACHE).as_posix() for p in found)

def own(item):
    # whether the item's own fixture has its warm entries and its baseline
    from pytest_arena.engine.baseline import version_digest
    from pytest_arena.engine.corpus import fixture_digest
    from pytest_arena.engine.warm import WarmCache
    spec = item.spec
    baseline = (CACHE / "baselines" / f"{version_digest(spec)}.json").is_file()
    return baseline and not WarmCache(CACHE / "warm").missing(spec, fixture_digest(spec.directory))

def pytest_runtest_setup(item):
    if item.get_closest_marker("arena") is not None:
        with (HERE / "seen.log").open("a") as log:
            log.write(json.dumps([item.name, entries(), own(item)]) + "\\n")

try:
    from pytest_arena import warmup
except ImportError:  # before the phase existed
    warmup = None
if warmup is not None:
    real = warmup.warm_fixture
    def counted(target, warm):
        with (HERE / "warmed.log").open("a") as log:
            log.write(target.spec.id + "\\n")
        return real(target, warm)
    warmup.warm_fixture = counted
"""


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixtures: list[Path]) -> Path:
    project = tmp_path / "project"
    (project / "fixtures").mkdir(parents=True)
    (project / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    for fixture in fixtures:
        shutil.copytree(fixture, project / "fixtures" / fixture.name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # cold: nothing warmed yet
    return project


def _records(project: Path) -> dict[str, dict[str, object]]:
    lines = (project / "r" / "latest" / "results.jsonl").read_text().splitlines()
    return {str(r["item"]): r for r in map(json.loads, lines)}


def test_warming_line_counts_fixtures_and_failures() -> None:
    assert warming_line(1, 3, 0, 5) == "arena: warming 1/3 fixtures (warm builds, baselines); 5s elapsed"
    assert warming_line(3, 3, 0, 65) == "arena: warmed 3/3 fixtures in 1m05s"
    assert warming_line(3, 3, 1, 7) == "arena: warmed 2/3 fixtures in 7s; 1 left to their items"


def test_each_at_once_keeps_the_items_order_and_counts_each_end() -> None:
    ended: list[tuple[int, int]] = []
    assert each_at_once(lambda n: n * n, [3, 1, 2], 2, lambda done, r: ended.append((done, r))) == [9, 1, 4]
    assert sorted(done for done, _ in ended) == [1, 2, 3] and sorted(r for _, r in ended) == [1, 4, 9]
    assert each_at_once(str, [], 4) == []


@pytest.mark.slow
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_fixtures_are_warmed_once_before_their_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    corpus = ROOT / "fixtures" / "python"
    project = _project(tmp_path, monkeypatch, [corpus / UNIQ, corpus / TR])
    script = write_script(tmp_path / "finish.json", {"*": [FINISH]})
    students = ["--arena-student", f"scripted:{script}", "--arena-student", "reference"]
    run = run_pytest("--arena", f"--arena-reports={project / 'r'}", *students, *xdist, cwd=project, timeout=600)
    assert "2 failed, 2 passed" in run.output, run.output
    final = sorted(
        p.relative_to(tmp_path / "cache" / "pytest-arena").as_posix()
        for p in [*(tmp_path / "cache").glob("pytest-arena/warm/*/.complete"), *(tmp_path / "cache").glob("**/*.json")]
    )
    assert len([e for e in final if e.startswith("baselines/")]) == 2 and len(final) >= 4, final
    seen = [json.loads(line) for line in (project / "seen.log").read_text().splitlines()]
    assert len(seen) == 4
    # Its own fixture's entries are there before every item's session: under xdist every fixture's
    # (the controller's phase ends before anything is scheduled), without it the rest may still build.
    assert all(ready for _, _, ready in seen), seen
    if xdist:
        assert all(entries == final for _, entries, _ in seen), (seen, final)
    # Once per fixture, whatever the number of students; the phase's first line comes before any item.
    assert sorted((project / "warmed.log").read_text().split()) == sorted([UNIQ, TR])
    assert run.stdout.index("arena: warming 0/2 fixtures") < run.stdout.index("meta.toml"), run.stdout
    ended = run.stdout.index("arena: warmed 2/2 fixtures")
    assert ended < run.stdout.index("meta.toml") if xdist else ended < run.stdout.index("short test summary")
    assert "\r" not in run.stdout
    # A second run finds everything cached: no phase, nothing warmed again.
    again = run_pytest("--arena", f"--arena-reports={project / 'r'}", *students, *xdist, cwd=project, timeout=600)
    assert "arena: warm" not in again.stdout, again.stdout
    assert len((project / "warmed.log").read_text().split()) == 2


@pytest.mark.slow
@pytest.mark.parametrize("select", ["-k", "--arena-shard"])
def test_only_the_selected_fixtures_are_warmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, select: str) -> None:
    corpus = ROOT / "fixtures" / "python"
    project = _project(tmp_path, monkeypatch, [corpus / UNIQ, corpus / TR])
    chosen = ["-k", "uniq"] if select == "-k" else ["--arena-shard", f"{fixture_bucket(UNIQ, 2) + 1}/2"]
    assert select == "-k" or fixture_bucket(TR, 2) != fixture_bucket(UNIQ, 2)  # the shard holds UNIQ alone
    run = run_pytest(
        "--arena", f"--arena-reports={project / 'r'}", "--arena-student", "reference", *chosen, cwd=project
    )
    assert "1 passed" in run.output and "arena: warmed 1/1 fixtures" in run.stdout, run.output
    assert (project / "warmed.log").read_text().split() == [UNIQ]


@pytest.mark.slow
def test_a_fixture_that_cannot_be_warmed_ends_as_it_does_cold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A solution that fails (no baseline can be derived; the reference writes it) and a program that
    is missing: the phase leaves both to their items, whose records match a run without the phase."""
    made = tmp_path / "made"
    broken = tiny_fixture(made, "tiny__01-answer")
    (broken / "solution" / "answer.txt").write_text("43\n", encoding="utf-8")
    missing = tiny_fixture(made, "tiny__02-answer", oracle_cmd="no-such-program-here tests/check.sh")
    outcomes = {}
    for mode in ("warm", "cold"):
        project = _project(tmp_path / mode, monkeypatch, [broken, missing])
        cold = ["--arena-cold"] if mode == "cold" else []
        run = run_pytest(
            "--arena", f"--arena-reports={project / 'r'}", "--arena-student", "reference", *cold, cwd=project
        )
        assert "Traceback" not in run.output and "INTERNALERROR" not in run.output, run.output
        if mode == "warm":
            assert "arena: warmed 0/2 fixtures" in run.stdout and "2 left to their items" in run.stdout, run.stdout
        keys = ("outcome", "outcome_fields", "passed", "failed_clause", "f2p_total", "f2p_passed", "p2p_broken")
        records = {item: {k: r[k] for k in keys} for item, r in _records(project).items()}
        outcomes[mode] = json.loads(json.dumps(records).replace(str(project), "PROJECT"))
    assert outcomes["warm"] == outcomes["cold"]
    assert sorted(r["outcome"] for r in outcomes["warm"].values()) == ["HarnessError", "OracleFailed"], outcomes
