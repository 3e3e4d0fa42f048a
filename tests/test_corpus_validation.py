"""Every fixture in the corpus proves itself: the bug is caught, the reference solution passes the
compound oracle through the full tool protocol, and the noncompliant overlay is caught by compliance."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from pytest_arena import outcomes as oc
from pytest_arena.commands import toolchain_env
from pytest_arena.corpus import FixtureSpec, discover, load_fixture
from pytest_arena.oracle import fixture_compliance, judge, run_compliance
from pytest_arena.session import Session, SessionSettings
from pytest_arena.students.scripted import ReferenceStudent
from pytest_arena.tools import Toolbox
from pytest_arena.workspace import Workspace, iter_files

from .conftest import ROOT, TIMINGS, tree_digest

FIXTURE_DIRS = [meta.parent for meta in discover(ROOT / "fixtures")]
WITH_NONCOMPLIANT = [d for d in FIXTURE_DIRS if (d / "noncompliant").is_dir()]
NEEDS = {
    "cargo": "install Rust: cargo with clippy and rustfmt (./run setup does it)",
    "ruff": "install ruff and mypy into the arena's environment (pip install -e '.[dev]')",
}


def _skip_without_toolchain(spec: FixtureSpec) -> None:
    for program, hint in NEEDS.items():
        commands = f"{spec.oracle_cmd} {spec.compliance_cmd or ''}"
        if program in commands and shutil.which(program, path=toolchain_env()["PATH"]) is None:
            pytest.skip(f"{program} not found: {hint}")


def _checked(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    loaded = load_fixture(request.param)
    _skip_without_toolchain(loaded)
    before = tree_digest(loaded.directory)
    started = time.monotonic()
    yield loaded
    TIMINGS.setdefault("corpus validation", []).append(time.monotonic() - started)
    assert tree_digest(loaded.directory) == before, f"{loaded.id}: fixture files changed on disk"


@pytest.fixture(params=FIXTURE_DIRS, ids=[d.name for d in FIXTURE_DIRS])
def spec(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    yield from _checked(request)


@pytest.fixture(params=WITH_NONCOMPLIANT, ids=[d.name for d in WITH_NONCOMPLIANT])
def spec_with_overlay(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    yield from _checked(request)


def _workspace(spec: FixtureSpec, overlay: Path | None = None) -> Workspace:
    ws = Workspace(spec.repo_dir, spec.protected, prefix=f"validate-{spec.id}-")
    if overlay is not None:
        for rel in iter_files(overlay):
            ws.write_text(rel, (overlay / rel).read_text(encoding="utf-8"))
    return ws


def test_corpus_is_complete() -> None:
    rust = {d.name for d in FIXTURE_DIRS if d.parent.name == "under-contract"}
    python = {d.name for d in FIXTURE_DIRS if d.parent.name == "python"}
    for cls in ("leetcode", "oo", "transpile", "unix"):
        assert len([i for i in rust if i.startswith(f"{cls}__")]) == 5, cls
    for cls in ("leetcode", "oo", "transpile", "unix", "refactor"):
        assert len([i for i in python if i.startswith(f"{cls}__")]) == 2, cls
    for d in FIXTURE_DIRS:
        spec = load_fixture(d)
        assert spec.difficulty in (1, 2, 3), f"{spec.id}: difficulty missing"
        assert spec.solution_dir.is_dir(), f"{spec.id}: solution/ missing"
        tests = [p for p in iter_files(spec.repo_dir) if p.startswith("tests/")]
        assert tests, f"{spec.id}: no tests/ folder"
        assert any(g.startswith("tests/") for g in spec.protected), f"{spec.id}: tests are not protected"


def test_pristine_tree_fails_tests_and_passes_compliance(spec: FixtureSpec) -> None:
    ws = _workspace(spec)
    try:
        verdict = judge(spec, ws, fixture_compliance(spec))
        assert not verdict.tests_passed, f"{spec.id}: the planted bug is not caught by the tests"
        compliance = run_compliance(ws, fixture_compliance(spec), spec.oracle_timeout_s)
        failed = [c for c in compliance if not c.passed]
        assert not failed, f"{spec.id}: pristine tree is not compliant:\n{failed[0].result.tail()}"
    finally:
        ws.cleanup()


def test_reference_student_passes_through_the_tool_protocol(spec: FixtureSpec) -> None:
    ws = _workspace(spec)
    try:
        session = Session(spec, ws, ReferenceStudent(), SessionSettings(), Toolbox(ws), fixture_compliance(spec))
        result = session.run()
        assert result.outcome == oc.OraclePassed(), result.verdict and result.verdict.explain()
        assert result.verdict is not None and result.verdict.tests.ok and result.verdict.pattern_found
        assert set(result.files_touched) == set(iter_files(spec.solution_dir))
    finally:
        ws.cleanup()


def test_noncompliant_overlay_passes_tests_and_fails_compliance(spec_with_overlay: FixtureSpec) -> None:
    spec = spec_with_overlay
    ws = _workspace(spec, spec.noncompliant_dir)
    try:
        verdict = judge(spec, ws, fixture_compliance(spec))
        assert verdict.tests_passed, f"{spec.id}: noncompliant overlay does not pass the tests:\n{verdict.explain()}"
        assert verdict.failed_compliance is not None, f"{spec.id}: noncompliant overlay passes compliance"
    finally:
        ws.cleanup()


def test_every_class_can_reach_compliance_failed() -> None:
    classes = {load_fixture(d).fixture_class for d in FIXTURE_DIRS}
    with_overlay = {load_fixture(d).fixture_class for d in FIXTURE_DIRS if (d / "noncompliant").is_dir()}
    assert classes <= with_overlay, f"classes without a noncompliant overlay: {classes - with_overlay}"
