"""Every fixture in the corpus proves itself, through arena-validate's own code: the bug is caught,
the reference solution passes the compound oracle through the full tool protocol, and the
noncompliant overlay is caught by compliance."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from pytest_arena.engine.commands import toolchain_env
from pytest_arena.engine.corpus import FixtureSpec, discover, load_fixture
from pytest_arena.engine.workspace import iter_files
from pytest_arena.validate import prove

from .helpers import ROOT, TIMINGS, run_module, tree_digest

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


@pytest.mark.slow
def test_fixture_is_proven(spec: FixtureSpec) -> None:
    """arena-validate's own checks: pristine fails its oracle and passes compliance, the reference
    passes through the tool protocol touching exactly solution/, the noncompliant overlay fails
    compliance, FAIL_TO_PASS is not empty."""
    proof = prove(spec)
    assert proof.proven, proof.explain()
    assert proof.fail_to_pass > 0
    names = {c.name for c in proof.checks}
    assert {
        "pristine fails the oracle",
        "reference passes through the tool protocol",
        "reference touches only editable paths",
        "the pass carries every FAIL_TO_PASS and PASS_TO_PASS test",
    } <= names


def test_every_class_can_reach_compliance_failed() -> None:
    classes = {load_fixture(d).fixture_class for d in FIXTURE_DIRS}
    with_overlay = {load_fixture(d).fixture_class for d in FIXTURE_DIRS if (d / "noncompliant").is_dir()}
    assert classes <= with_overlay, f"classes without a noncompliant overlay: {classes - with_overlay}"


@pytest.mark.slow
def test_arena_validate_cli_proves_and_refuses(tmp_path: Path) -> None:
    """Exit 0 and a JSON record for a sound fixture; exit 1 for one whose solution/ does not fix the
    bug; the flaky guard runs with --repeat."""
    corpus = tmp_path / "corpus"
    good = shutil.copytree(ROOT / "fixtures" / "python" / "unix__02-tr", corpus / "unix__02-tr")
    report = tmp_path / "validate.json"
    run = run_module("pytest_arena.validate", good, "--repeat", "2", "--json", report, timeout=600)
    assert run.returncode == 0, run.output
    assert re.search(r"^unix__02-tr\s+proven\s+[1-9]\d*\s+[1-9]\d*", run.stdout, re.MULTILINE), run.stdout
    assert "1/1 fixtures proven" in run.stdout
    (record,) = json.loads(report.read_text())
    assert record["proven"] and record["fail_to_pass"] > 0
    assert any(c["name"] == "same verdicts over 2 repeats" and c["ok"] for c in record["checks"])

    broken = shutil.copytree(good, corpus / "unix__03-broken")
    meta = broken / "meta.toml"
    meta.write_text(meta.read_text().replace('id = "unix__02-tr"', 'id = "unix__03-broken"'))
    shutil.rmtree(broken / "solution")
    shutil.copytree(broken / "repo" / "tr", broken / "solution" / "tr")  # the bug, unfixed
    run = run_module("pytest_arena.validate", corpus, "--jobs", "2", timeout=600)
    assert run.returncode == 1, run.output
    assert re.search(r"^unix__03-broken\s+FAILED .*reference passes through the tool protocol", run.stdout, re.M)
    assert "1/2 fixtures proven" in run.stdout
    assert run_module("pytest_arena.validate", tmp_path / "nothing").returncode == 2
