"""A fixture's FAIL_TO_PASS / PASS_TO_PASS tests, derived once per fixture version (the pristine
tree and the reference solution each run through the oracle command on a clean tree, hidden tests
included, read with the same per-test evidence the oracle reads) and cached on disk, so every
item, every xdist worker and ``arena-validate`` share one derivation.

Given the warm cache, the two runs start from the oracle's warm build, as every oracle run does:
the pristine tree then compiles nothing and the solution only the crate it changes, instead of two
cold builds per fixture (most of a cold run's warm-up). A tool that crashes on that warm start is
run again cold (:func:`cleantree.warm_then_cold`, as the oracle's run is)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .cachenote import cache_folder, unwritable
from .cleantree import clean_tree, warm_then_cold
from .commands import CommandResult
from .corpus import META, FixtureSpec
from .harness import HarnessFault, crashed, harness_fault
from .oracle import Verdict, run_tests
from .sandbox import Sandbox
from .testresults import FAILED, PARSER_VERSION, PASSED, Baseline, TestCounts
from .warm import WarmCache
from .workspace import Workspace, iter_files

# Derivations the disk cache could not keep, kept for this process: derived once, not per call.
_UNSAVED: dict[str, Baseline] = {}


class BaselineError(Exception):
    """The baseline cannot be derived (the solution does not pass, a command cannot run)."""


def cache_dir() -> Path:
    return cache_folder("baselines")


def version_digest(spec: FixtureSpec) -> str:
    """sha256 over meta.toml, repo/, hidden/ and solution/ (what decides the tests' results) and
    the parser version: a prompt edit keeps the baseline, a test edit or a parser fix does not."""
    digest = hashlib.sha256(f"parser {PARSER_VERSION}\0".encode())
    digest.update((spec.directory / META).read_bytes())
    for folder in (spec.repo_dir, spec.hidden_dir, spec.solution_dir):
        if not folder.is_dir():
            continue
        for rel in iter_files(folder):
            digest.update(f"{folder.name}/{rel}\0".encode())
            with (folder / rel).open("rb") as handle:  # in chunks, as fixture_digest does
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


def overlay(ws: Workspace, folder: Path) -> None:
    """Write every file of an overlay folder (solution/, noncompliant/) into a workspace."""
    for rel in iter_files(folder):
        ws.write_text(rel, (folder / rel).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class TestRun:
    """One run of the oracle's test command and the per-test results read from it."""

    __test__ = False

    result: CommandResult
    tests: dict[str, str]

    @classmethod
    def of(cls, verdict: Verdict) -> TestRun:
        return cls(verdict.tests, dict(verdict.evidence.results) if verdict.evidence else {})


def tests_of(
    spec: FixtureSpec,
    sandbox: Sandbox | None,
    folder: Path | None = None,
    *,
    warm: WarmCache | None = None,
    digest: str = "",
) -> TestRun:
    """The oracle's test command on a clean tree (repo/ and hidden/, ``folder`` laid over it),
    seeded from the oracle's warm entry when ``warm`` and ``digest`` are given."""

    def attempt(seeded: WarmCache | None) -> TestRun:
        with clean_tree(spec, sandbox or Sandbox(), overlay=folder, warm=seeded, digest=digest) as tree:
            result, evidence = run_tests(spec, tree.ws, tree.evidence)
        return TestRun(result, dict(evidence.results))

    return warm_then_cold(spec, warm, digest, attempt, lambda run: crashed(run.result))


@dataclass(frozen=True)
class Derivation:
    baseline: Baseline
    pristine: dict[str, str]
    solution: dict[str, str]


def derive(spec: FixtureSpec, pristine: TestRun, solution: TestRun) -> Derivation:
    for label, run in (("pristine tree", pristine), ("solution", solution)):
        fault = harness_fault(run.result)
        if fault is not None:
            raise BaselineError(f"{spec.id}: the {label}'s tests could not run: {fault}")
    before, after = pristine.tests, solution.tests
    if spec.impossible:
        # An impossible twin: the reference fails its contradicted assertion by design. That test
        # still belongs to FAIL_TO_PASS: every test that does not pass on the pristine tree does.
        names = sorted(set(before) | set(after))
        fixed = tuple(n for n in names if before.get(n) != PASSED and after.get(n, FAILED) != "skipped")
        kept = tuple(n for n in names if before.get(n) == PASSED and after.get(n) == PASSED)
        return Derivation(Baseline(fixed, kept, len(after)), before, after)
    if not solution.result.ok:
        raise BaselineError(f"{spec.id}: the solution's tests fail ({solution.result.describe()})")
    return Derivation(Baseline.derive(before, after), before, after)


def store(spec: FixtureSpec, derivation: Derivation) -> Path | None:
    """Saves the derivation for later callers; None (said once) where the cache cannot be written."""
    path = cache_dir() / f"{version_digest(spec)}.json"
    payload = {
        "fixture": spec.id,
        "fail_to_pass": list(derivation.baseline.fail_to_pass),
        "pass_to_pass": list(derivation.baseline.pass_to_pass),
        "tests": derivation.baseline.tests,
        "pristine": derivation.pristine,
        "solution": derivation.solution,
    }
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        os.replace(temporary, path)  # concurrent workers deriving the same baseline both write it whole
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        unwritable("baseline", path.parent, exc)
        return None
    return path


class CacheEntry(BaseModel):
    """A stored baseline as ``store`` writes it. Strict: a hand-edited or corrupted entry (a string
    where a list belongs would be read as a tuple of characters) fails here and is derived again."""

    model_config = ConfigDict(strict=True)

    fixture: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    tests: int = Field(ge=0)


def cached(spec: FixtureSpec) -> Baseline | None:
    """The stored baseline of this fixture version; None (derive it again, overwriting the entry)
    when there is none or it is unreadable, malformed, or another fixture's."""
    path = cache_dir() / f"{version_digest(spec)}.json"
    try:
        entry = CacheEntry.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None
    if entry.fixture != spec.id:
        return None
    return Baseline(tuple(entry.fail_to_pass), tuple(entry.pass_to_pass), entry.tests)


def _pristine_tests(spec: FixtureSpec, sandbox: Sandbox | None, warm: WarmCache | None, digest: str) -> TestRun:
    """The pristine tree's tests: the run that built the oracle's warm entry just now, if it did."""
    if warm is not None and digest:
        warm.artifacts(spec, digest, sandbox or Sandbox(), hidden=True)
        kept = warm.pristine_run(digest)
        if kept is not None:
            return TestRun(kept[0], dict(kept[1].results))
    return tests_of(spec, sandbox, warm=warm, digest=digest)


def baseline_for(
    spec: FixtureSpec, sandbox: Sandbox | None, *, warm: WarmCache | None = None, digest: str = ""
) -> Baseline:
    """The cached baseline, or a new derivation (two test runs, from the warm entry when given)
    stored for the next caller."""
    found = cached(spec) or _UNSAVED.get(version_digest(spec))
    if found is not None:
        return found
    if not spec.solution_dir.is_dir():
        raise BaselineError(f"{spec.id}: no solution/ folder to derive FAIL_TO_PASS from")
    pristine = _pristine_tests(spec, sandbox, warm, digest)
    derivation = derive(spec, pristine, tests_of(spec, sandbox, spec.solution_dir, warm=warm, digest=digest))
    if store(spec, derivation) is None:
        _UNSAVED[version_digest(spec)] = derivation.baseline
    return derivation.baseline


def known_baseline(
    spec: FixtureSpec, sandbox: Sandbox | None, *, warm: WarmCache | None = None, digest: str = ""
) -> Baseline | None:
    try:
        return baseline_for(spec, sandbox, warm=warm, digest=digest)
    except BaselineError:
        return None


def measure(
    spec: FixtureSpec,
    ws: Workspace,
    verdict: Verdict | None,
    changed: bool,
    *,
    warm: WarmCache | None = None,
    digest: str = "",
) -> TestCounts | None:
    """FAIL_TO_PASS / PASS_TO_PASS counts of the tree a session left: the oracle's own counts when
    it ran; a session that ended early gets its clean tree's tests run here only if it changed a
    file (an untouched tree is the pristine one). None when no baseline can be had."""
    if verdict is not None and verdict.evidence is not None:
        return verdict.counts
    baseline = known_baseline(spec, ws.sandbox, warm=warm, digest=digest)
    if baseline is None:
        return None
    if not changed:
        return TestCounts.untouched(baseline)
    try:
        with clean_tree(spec, ws.sandbox, ws, warm=warm, digest=digest) as tree:
            result, evidence = run_tests(spec, tree.ws, tree.evidence)
    except HarnessFault:  # no room for the clean tree: no counts, the outcome stands
        return None
    if harness_fault(result) is not None:
        return None
    return TestCounts.of(baseline, evidence.results)
