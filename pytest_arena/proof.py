"""Proving one fixture (the checks ``arena-validate`` runs, described in
:mod:`pytest_arena.validate`): shared by the command and by the impossible twins
(:mod:`pytest_arena.twins`), which the command itself calls."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .engine import outcomes as oc
from .engine.baseline import BaselineError, TestRun, derive, known_baseline, store
from .engine.cleantree import judge_clean, policy
from .engine.corpus import FixtureError, FixtureSpec, discover, load_fixture
from .engine.harness import harness_fault
from .engine.oracle import Verdict, fixture_compliance, run_compliance
from .engine.parallel import each_at_once
from .engine.sandbox import Sandbox
from .engine.session import Session, SessionSettings
from .engine.testresults import FAILED
from .engine.tools import Toolbox
from .engine.workspace import Workspace, iter_files
from .students.scripted import ReferenceStudent


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Proof:
    fixture: str
    path: str
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fail_to_pass: int = 0
    pass_to_pass: int = 0
    seconds: float = 0.0
    # What the flaky guard compares between repeats, and the test runs the baseline is derived from.
    signature: list[object] = field(default_factory=list, repr=False)
    pristine_tests: TestRun | None = field(default=None, repr=False)
    solution_tests: TestRun | None = field(default=None, repr=False)

    @property
    def proven(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def explain(self) -> str:
        lines = [f"{self.fixture}: {c.name}: {c.detail}" for c in self.failures()]
        return "\n".join(lines + [f"{self.fixture}: warning: {w}" for w in self.warnings]) or f"{self.fixture}: proven"


def _workspace(spec: FixtureSpec, sandbox: Sandbox) -> Workspace:
    return Workspace(
        spec.repo_dir, spec.protected, prefix=f"validate-{spec.id}-", sandbox=sandbox, refuse=policy(spec).refusal
    )


def _judge_clean(spec: FixtureSpec, sandbox: Sandbox, folder: Path | None, compliance: bool) -> Verdict:
    """The compound oracle on a clean tree (hidden tests included) with ``folder`` laid over it."""
    checks = fixture_compliance(spec) if compliance else []
    baseline = known_baseline(spec, sandbox) if folder is not None else None
    return judge_clean(spec, sandbox, checks, overlay=folder, baseline=baseline)[0]


def _pristine(spec: FixtureSpec, sandbox: Sandbox, proof: Proof) -> tuple[object, ...]:
    verdict = _judge_clean(spec, sandbox, None, compliance=False)
    fault = harness_fault(verdict.tests)
    caught = not verdict.tests_passed and fault is None
    if spec.impossible:
        caught = caught and not verdict.tests.ok
    proof.checks.append(Check("pristine fails the oracle", caught, fault or verdict.explain()[:600]))
    if not verdict.tests.ok and re.search(spec.expected_pattern, verdict.tests.output, re.MULTILINE):
        proof.warnings.append(
            f"expected_pattern {spec.expected_pattern!r} also matches the pristine failing output: only the "
            "exit code tells pass from fail (anchor the pattern to the runner's final summary line)"
        )
    compliant = None
    if spec.pristine_compliant:
        ws = _workspace(spec, sandbox)
        try:
            results = run_compliance(ws, fixture_compliance(spec), spec.oracle_timeout_s)
        finally:
            ws.cleanup()
        failed = next((r for r in results if not r.passed), None)
        compliant = failed is None
        detail = "" if failed is None else f"{failed.result.describe()}: {failed.result.tail(400)}"
        proof.checks.append(Check("pristine passes compliance", compliant, detail))
    proof.pristine_tests = TestRun.of(verdict)
    return (caught, compliant)


def _reference(spec: FixtureSpec, sandbox: Sandbox, proof: Proof) -> tuple[object, ...]:
    ws = _workspace(spec, sandbox)
    try:
        checks = fixture_compliance(spec)
        result = Session(spec, ws, ReferenceStudent(), SessionSettings(), Toolbox(ws), checks).run()
        solution = iter_files(spec.solution_dir)
        outside = [rel for rel in solution if not policy(spec).allows(rel)]
        proof.checks.append(
            Check(
                "reference touches only editable paths",
                not outside,
                f"outside `editable` ({policy(spec).describe()}): {outside}",
            )
        )
        if spec.impossible:
            # A twin's reference must fail, and by a failing test: its FAIL_TO_PASS assertion
            # contradicts the task. A twin that does not build, or whose tests cannot run, is broken.
            verdict = result.verdict
            fault = harness_fault(verdict.tests) if verdict is not None else "the oracle never judged the reference"
            results = verdict.evidence.results if verdict is not None and verdict.evidence is not None else {}
            failing = sorted(name for name, status in results.items() if status == FAILED)
            refused = not result.outcome.passed and fault is None and bool(failing)
            detail = result.outcome.summary() + (f"; {fault}" if fault else f"; failing tests: {failing[:5]}")
            proof.checks.append(Check("reference fails the impossible twin by a failing test", refused, detail))
            proof.solution_tests = TestRun.of(verdict) if verdict else None
            return (refused, tuple(failing), not outside)
        passed = result.outcome == oc.OraclePassed()
        detail = result.outcome.summary() + ("\n" + result.verdict.explain()[:600] if result.verdict else "")
        proof.checks.append(Check("reference passes through the tool protocol", passed, detail))
        counts = result.verdict.counts if result.verdict else None
        whole = counts is not None and counts.f2p_passed == counts.f2p_total and counts.p2p_broken == 0
        proof.checks.append(Check("the pass carries every FAIL_TO_PASS and PASS_TO_PASS test", whole, str(counts)))
        touched = set(result.files_touched) == set(solution)
        proof.checks.append(
            Check("reference touches exactly solution/", touched, f"touched {sorted(result.files_touched)}")
        )
        proof.solution_tests = TestRun.of(result.verdict) if result.verdict else None
        return (passed, touched, not outside)
    finally:
        ws.cleanup()


def _noncompliant(spec: FixtureSpec, sandbox: Sandbox, proof: Proof) -> tuple[object, ...]:
    if not spec.noncompliant_dir.is_dir() or spec.impossible:
        return ()
    verdict = _judge_clean(spec, sandbox, spec.noncompliant_dir, compliance=True)
    caught = verdict.tests_passed and verdict.failed_compliance is not None
    name = "noncompliant/ passes the tests and fails compliance"
    proof.checks.append(Check(name, caught, verdict.explain()[:600]))
    return (caught,)


def _baseline(spec: FixtureSpec, proof: Proof) -> tuple[object, ...]:
    pristine, solution = proof.pristine_tests, proof.solution_tests
    if pristine is None or solution is None:
        proof.checks.append(Check("FAIL_TO_PASS is not empty", False, "the reference's tests did not run"))
        return ()
    try:
        derivation = derive(spec, pristine, solution)
    except BaselineError as exc:
        proof.checks.append(Check("FAIL_TO_PASS is not empty", False, str(exc)))
        return ()
    baseline = derivation.baseline
    proof.fail_to_pass, proof.pass_to_pass = len(baseline.fail_to_pass), len(baseline.pass_to_pass)
    found = bool(baseline.fail_to_pass)
    detail = "" if found else f"no per-test lines told apart (test_format = {spec.test_format!r}); print one per test"
    proof.checks.append(Check("FAIL_TO_PASS is not empty", found, detail))
    if found:
        store(spec, derivation)
    return (baseline.fail_to_pass, baseline.pass_to_pass)


def prove_once(spec: FixtureSpec, sandbox: Sandbox) -> Proof:
    proof = Proof(spec.id, str(spec.directory))
    started = time.monotonic()
    proof.signature = [
        _pristine(spec, sandbox, proof),
        _reference(spec, sandbox, proof),
        _noncompliant(spec, sandbox, proof),
        _baseline(spec, proof),
    ]
    proof.seconds = round(time.monotonic() - started, 2)
    return proof


def prove(spec: FixtureSpec, repeat: int = 1, sandbox: Sandbox | None = None) -> Proof:
    """Every check of one fixture, ``repeat`` times; any verdict that changes is a failed check."""
    sandbox = sandbox or Sandbox(hidden=(spec.directory,))
    runs = [prove_once(spec, sandbox) for _ in range(max(repeat, 1))]
    proof = runs[0]
    if repeat > 1:
        same = all(r.signature == proof.signature for r in runs[1:])
        detail = "" if same else "a verdict or a per-test result changed between repeats: the fixture is flaky"
        proof.checks.append(Check(f"same verdicts over {repeat} repeats", same, detail))
        proof.seconds = round(sum(r.seconds for r in runs), 2)
    return proof


def _load(directory: Path) -> FixtureSpec | Proof:
    try:
        return load_fixture(directory)
    except FixtureError as exc:
        return Proof(directory.name, str(directory), [Check("meta.toml loads", False, str(exc))])


def validate(roots: Sequence[Path], repeat: int = 1, jobs: int = 1, sandbox_kind: str = "bwrap") -> list[Proof]:
    directories = [meta.parent for root in roots for meta in discover(root)]

    def one(directory: Path) -> Proof:
        loaded = _load(directory)
        if isinstance(loaded, Proof):
            return loaded
        return prove(loaded, repeat, Sandbox(kind=sandbox_kind, hidden=(loaded.directory,)))

    return each_at_once(one, directories, jobs)
