"""The warm oracle: workspaces seeded with the pristine build give the verdicts of a cold build,
and no artifact of the pristine tree can stand in for a file the student changed."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_arena.engine.baseline import baseline_for, derive
from pytest_arena.engine.baseline import tests_of as clean_tests
from pytest_arena.engine.corpus import fixture_digest, load_fixture
from pytest_arena.engine.oracle import fixture_compliance, judge
from pytest_arena.engine.sandbox import Sandbox
from pytest_arena.engine.session import Session, SessionSettings
from pytest_arena.engine.tools import Toolbox
from pytest_arena.engine.warm import WarmCache
from pytest_arena.engine.workspace import Workspace
from pytest_arena.students.scripted import ReferenceStudent, ScriptedStudent

from .helpers import CORPUS, FINISH, ROOT, cache_snapshot, call, requires_cargo, run_pytest

pytestmark = requires_cargo
TWO_SUM = "leetcode__01-two-sum"
# Compiles, passes clippy and fmt, fails the tests.
WRONG = "pub fn two_sum(_nums: &[i32], _target: i32) -> Option<(usize, usize)> {\n    None\n}\n"


def passing_fixture(tmp_path: Path) -> Path:
    """two-sum with its solution applied to repo/: a pristine tree whose tests pass."""
    fixture = tmp_path / "fixture" / TWO_SUM
    shutil.copytree(CORPUS / TWO_SUM, fixture)
    shutil.copytree(fixture / "solution", fixture / "repo", dirs_exist_ok=True)
    return fixture


@pytest.mark.slow
def test_a_backdated_change_is_rebuilt_not_taken_from_the_pristine_build(tmp_path: Path) -> None:
    spec = load_fixture(passing_fixture(tmp_path))
    cache = WarmCache(tmp_path / "cache")
    ws = Workspace(spec.repo_dir, spec.protected)
    try:
        assert "target" in cache.seed(spec, fixture_digest(spec.directory), ws)
        built = cache_snapshot(cache.root)
        test_binaries = list((ws.root / "target" / "debug" / "deps").glob("two_sum-*"))
        assert test_binaries, "the pristine build's test binary was copied"
        lib = ws.root / "src" / "lib.rs"
        lib.write_text(WRONG, encoding="utf-8")
        old = (CORPUS / TWO_SUM / "repo" / "src" / "lib.rs").stat().st_mtime - 3600
        os.utime(lib, (old, old))  # older than every artifact: cargo alone would not rebuild
        stale = judge(spec, ws, [])
        assert stale.tests_passed, "without freshen, the pristine binary answers for the wrong code"
        ws.freshen(ws.changed_files())
        verdict = judge(spec, ws, [])
        assert not verdict.tests_passed and verdict.failed_clause in ("exit code", "pattern")
        # cargo rebuilt the crate in a workspace of links to the cache: none of it was written through
        assert cache_snapshot(cache.root) == built
    finally:
        ws.cleanup()


def _session(spec: Any, student: Any, cache: WarmCache | None) -> tuple[str, str | None, list[str]]:
    ws = Workspace(spec.repo_dir, spec.protected)
    try:
        seeded = cache.seed(spec, fixture_digest(spec.directory), ws) if cache else []
        session = Session(spec, ws, student, SessionSettings(), Toolbox(ws), fixture_compliance(spec))
        result = session.run()
        clause = result.verdict.failed_clause if result.verdict else None
        return result.outcome.name, clause, seeded
    finally:
        ws.cleanup()


def _scripted(tmp_path: Path, name: str, turns: list[str]) -> ScriptedStudent:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"*": turns}), encoding="utf-8")
    return ScriptedStudent(path)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", [TWO_SUM, "python/leetcode__01-roman-numerals"])
def test_warm_and_cold_verdicts_are_identical(tmp_path: Path, fixture: str) -> None:
    directory = ROOT / "fixtures" / fixture if "/" in fixture else CORPUS / fixture
    spec = load_fixture(directory)
    noncompliant = directory / "noncompliant"
    overlay = [
        call("file_write", path=p.relative_to(noncompliant).as_posix(), content=p.read_text(encoding="utf-8"))
        for p in sorted(noncompliant.rglob("*"))
        if p.is_file()
    ]
    students = {
        "reference": lambda: ReferenceStudent(),
        "finish": lambda: _scripted(tmp_path, "finish", [FINISH]),
        "noncompliant": lambda: _scripted(tmp_path, "nc", [*overlay, FINISH]),
    }
    cache = WarmCache(tmp_path / "cache")
    for name, make in students.items():
        cold = _session(spec, make(), None)
        warm = _session(spec, make(), cache)
        assert warm[2], f"{name}: nothing was seeded"
        assert warm[:2] == cold[:2], name


@pytest.mark.slow
def test_a_seeded_cli_test_finds_the_program_built_here(tmp_path: Path) -> None:
    """An integration test holds the absolute path of its crate's binary (CARGO_BIN_EXE_head), the
    warm build's folder, gone by now: unless it is compiled again here, every CLI test of an
    untouched tree (or one fixed in main.rs only) failed with NotFound, and P2P counted as broken."""
    spec = load_fixture(CORPUS / "unix__02-head")
    cache = WarmCache(tmp_path / "cache")

    def results(seed: bool) -> list[str]:
        ws = Workspace(spec.repo_dir, spec.protected)
        try:
            if seed:
                assert "target" in cache.seed(spec, fixture_digest(spec.directory), ws)
            output = judge(spec, ws, []).tests.output
            return sorted(re.findall(r"^test (\S+) \.\.\. (ok|FAILED)$", output, re.MULTILINE))
        finally:
            ws.cleanup()

    cold, warm = results(seed=False), results(seed=True)
    assert sum(status == "ok" for _, status in cold) >= 10, cold  # the P2P tests, CLI ones included
    assert warm == cold


@pytest.mark.slow
def test_a_backdated_hidden_file_is_rebuilt_not_taken_from_the_pristine_entry(tmp_path: Path) -> None:
    """The oracle's entry starts from the pristine one: a hidden/ file that replaces a pristine test
    with an older mtime than the pristine artifacts must still be what the oracle's tests run."""
    fixture = tmp_path / "fixture" / TWO_SUM
    shutil.copytree(CORPUS / TWO_SUM, fixture)
    (fixture / "hidden" / "tests" / "hidden_two_sum.rs").unlink()  # fails on the pristine tree: cargo would stop
    replaced = fixture / "hidden" / "tests" / "two_sum.rs"
    replaced.write_text("#[test]\nfn hidden_canary_replaces_the_pristine_test() {}\n", encoding="utf-8")
    os.utime(replaced, (1_000_000_000, 1_000_000_000))  # 2001: older than any build
    spec = load_fixture(fixture)
    cache, digest = WarmCache(tmp_path / "cache"), fixture_digest(fixture)
    sandbox = Sandbox()
    assert cache.artifacts(spec, digest, sandbox) is not None  # the pristine entry, built first
    kept = cache.pristine_run(digest)
    assert kept is None  # the pristine entry ran no hidden test: nothing kept for the baseline
    assert cache.artifacts(spec, digest, sandbox, hidden=True) is not None
    kept = cache.pristine_run(digest)
    assert kept is not None and "hidden_canary_replaces_the_pristine_test" in " ".join(kept[1].results)
    again = clean_tests(spec, sandbox, warm=cache, digest=digest)  # a clean tree seeded from that entry
    assert any("hidden_canary" in name for name in again.tests), again.result.output[-2000:]
    assert not any("finds_pair_at_the_start" in name for name in again.tests), sorted(again.tests)


@pytest.mark.slow
@pytest.mark.parametrize(
    "fixture", [CORPUS / TWO_SUM, ROOT / "fixtures" / "python" / "unix__01-uniq"], ids=["rust", "python"]
)
def test_a_baseline_from_the_warm_entry_is_the_cold_one(
    tmp_path: Path, fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The baseline's two runs started from the oracle's warm entry (its pristine run the one that
    built the entry) give the tests, FAIL_TO_PASS and PASS_TO_PASS of two cold clean trees."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    spec = load_fixture(fixture)
    sandbox = Sandbox()
    cold = derive(spec, clean_tests(spec, sandbox), clean_tests(spec, sandbox, spec.solution_dir))
    cache, digest = WarmCache(tmp_path / "cache"), fixture_digest(fixture)
    warm = baseline_for(spec, sandbox, warm=cache, digest=digest)
    assert warm == cold.baseline and warm.fail_to_pass
    stored = json.loads(next((tmp_path / "xdg").glob("pytest-arena/baselines/*.json")).read_text())
    assert stored["pristine"] == cold.pristine and stored["solution"] == cold.solution


@pytest.mark.slow
def test_the_warm_build_is_laid_in_before_a_students_first_command_only(tmp_path: Path) -> None:
    """A student that runs no command (the reference) never pays for seeding target/; one that
    does finds it there at its first command."""
    script = tmp_path / "ls.json"
    script.write_text(json.dumps({"*": [call("shell", command="ls target/debug/deps"), FINISH]}), encoding="utf-8")
    run = run_pytest(
        "--arena", f"--arena-reports={tmp_path / 'r'}", "--arena-keep-workspaces", "-s", "-p", "no:xdist",
        "--arena-student", "reference", "--arena-student", f"scripted:{script}", str(CORPUS / TWO_SUM / "meta.toml"),
    )  # fmt: skip
    paths = [Path(p) for p in re.findall(r"workspace kept: (\S+)", run.stdout)]
    kept = dict(zip(["reference", "scripted"], paths, strict=False))  # the items run in the students' order
    try:
        assert len(paths) == 2, run.output
        assert not (kept["reference"] / "target").exists()
        assert list((kept["scripted"] / "target" / "debug" / "deps").glob("two_sum-*")), run.output
    finally:
        for path in kept.values():
            shutil.rmtree(path.parent, ignore_errors=True)
