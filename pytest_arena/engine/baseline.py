"""A fixture's FAIL_TO_PASS / PASS_TO_PASS tests, derived once per fixture version (the pristine
tree and the reference solution each run through the oracle command) and cached on disk, so every
item, every xdist worker and ``arena-validate`` share one derivation."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .commands import CommandResult
from .corpus import META, FixtureSpec
from .harness import harness_fault
from .sandbox import Sandbox
from .testresults import PARSER_VERSION, Baseline, TestCounts, parse_tests
from .workspace import Workspace, iter_files


class BaselineError(Exception):
    """The baseline cannot be derived (the solution does not pass, a command cannot run)."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-arena" / "baselines"


def version_digest(spec: FixtureSpec) -> str:
    """sha256 over meta.toml, repo/ and solution/ (what decides the tests' results) and the parser
    version: a prompt edit keeps the baseline, a test edit or a parser fix does not."""
    digest = hashlib.sha256(f"parser {PARSER_VERSION}\0".encode())
    digest.update((spec.directory / META).read_bytes())
    for folder in (spec.repo_dir, spec.solution_dir):
        if not folder.is_dir():
            continue
        for rel in iter_files(folder):
            digest.update(f"{folder.name}/{rel}\0".encode())
            digest.update((folder / rel).read_bytes())
    return digest.hexdigest()


def overlay(ws: Workspace, folder: Path) -> None:
    """Write every file of an overlay folder (solution/, noncompliant/) into a workspace."""
    for rel in iter_files(folder):
        ws.write_text(rel, (folder / rel).read_text(encoding="utf-8"))


def run_tests(spec: FixtureSpec, sandbox: Sandbox | None, folder: Path | None = None) -> CommandResult:
    """The oracle's test command on a fresh copy of repo/ (with ``folder`` laid over it)."""
    ws = Workspace(spec.repo_dir, spec.protected, prefix=f"baseline-{spec.id}-", sandbox=sandbox)
    try:
        if folder is not None:
            overlay(ws, folder)
        return ws.run(spec.oracle_cmd, spec.oracle_timeout_s)
    finally:
        ws.cleanup()


@dataclass(frozen=True)
class Derivation:
    baseline: Baseline
    pristine: dict[str, str]
    solution: dict[str, str]


def derive(spec: FixtureSpec, pristine: CommandResult, solution: CommandResult) -> Derivation:
    for label, result in (("pristine tree", pristine), ("solution", solution)):
        fault = harness_fault(result)
        if fault is not None:
            raise BaselineError(f"{spec.id}: the {label}'s tests could not run: {fault}")
    if not solution.ok:
        raise BaselineError(f"{spec.id}: the solution's tests fail ({solution.describe()})")
    before = parse_tests(pristine.output, spec.test_format)
    after = parse_tests(solution.output, spec.test_format)
    return Derivation(Baseline.derive(before, after), before, after)


def store(spec: FixtureSpec, derivation: Derivation) -> Path:
    path = cache_dir() / f"{version_digest(spec)}.json"
    payload = {
        "fixture": spec.id,
        "fail_to_pass": list(derivation.baseline.fail_to_pass),
        "pass_to_pass": list(derivation.baseline.pass_to_pass),
        "pristine": derivation.pristine,
        "solution": derivation.solution,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    os.replace(temporary, path)  # concurrent workers deriving the same baseline both write it whole
    return path


def cached(spec: FixtureSpec) -> Baseline | None:
    path = cache_dir() / f"{version_digest(spec)}.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(path.read_text(encoding="utf-8"))
        return Baseline(tuple(data["fail_to_pass"]), tuple(data["pass_to_pass"]))
    return None


def baseline_for(spec: FixtureSpec, sandbox: Sandbox | None) -> Baseline:
    """The cached baseline, or a new derivation (two test runs) stored for the next caller."""
    found = cached(spec)
    if found is not None:
        return found
    if not spec.solution_dir.is_dir():
        raise BaselineError(f"{spec.id}: no solution/ folder to derive FAIL_TO_PASS from")
    derivation = derive(spec, run_tests(spec, sandbox), run_tests(spec, sandbox, spec.solution_dir))
    store(spec, derivation)
    return derivation.baseline


def measure(spec: FixtureSpec, ws: Workspace, tests: CommandResult | None, changed: bool) -> TestCounts | None:
    """FAIL_TO_PASS / PASS_TO_PASS counts of the tree a session left, from the oracle's own test run
    when there was one; a session that ended early gets its tests run here only if it changed a
    file (an untouched tree is the pristine one). None when no baseline can be had."""
    try:
        baseline = baseline_for(spec, ws.sandbox)
    except BaselineError:
        return None
    if tests is None:
        if not changed:
            return TestCounts.untouched(baseline)
        tests = ws.run(spec.oracle_cmd, spec.oracle_timeout_s)
    if harness_fault(tests) is not None:
        return None
    return TestCounts.of(baseline, parse_tests(tests.output, spec.test_format))
