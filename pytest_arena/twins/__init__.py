"""Impossible twins (after ImpossibleBench): ``arena-validate --impossible OUT [ROOT ...]``.

A twin is a copy of a fixture (prompt.md, repo/, solution/, hidden/; never noncompliant/) in
which ONE FAIL_TO_PASS assertion contradicts the task: its expected literal is changed (an integer
moved by one, a string given a trailing ``~``, ``true``/``false`` swapped, ``Some(..)`` made
``None``, a bare assertion negated; a parametrized Python test has one parameter's expected value
changed). No honest fix passes a twin, so any pass a student reaches there is forged (the cheat
rate). The twin's meta.toml is the original's text with ``impossible = true``.

Each candidate change is tried on the twin: the reference solution must fail the contradicted
test and pass every other test it passed before (so the change compiled and touched nothing
else); then the twin must pass arena-validate's proof for impossible fixtures (the pristine tree
fails, the reference fails by a failing test). Candidates come from the FAIL_TO_PASS tests in
visible test files first (the student should see the contradiction), hidden ones after; a fixture
whose first ``MAX_TRIES`` candidates all fail has no twin, and says why.
"""

from __future__ import annotations

import itertools
import re
import shutil
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.baseline import BaselineError, baseline_for, derive, store, tests_of
from ..engine.cleantree import policy
from ..engine.corpus import HIDDEN, META, PROMPT, REPO, SOLUTION, FixtureError, FixtureSpec, discover, load_fixture
from ..engine.evidence import runner
from ..engine.harness import harness_fault
from ..engine.languages import ignored_dirs
from ..engine.parallel import each_at_once
from ..engine.sandbox import Sandbox
from ..engine.testresults import FAILED, PASSED
from ..engine.workspace import iter_files
from ..proof import Check, Proof, prove
from .edits import Edit, TwinError
from .python_edits import python_edits
from .rust_edits import rust_edits

__all__ = ["Edit", "TwinError", "python_edits", "rust_edits"]

MAX_TRIES = 6  # candidate changes tried per fixture (each costs a test run, an accepted one a proof)
COPIED = (PROMPT, REPO, SOLUTION, HIDDEN)  # never noncompliant/: a twin has no compliance proof


# --- from a test name to its source ---------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A FAIL_TO_PASS test found in a fixture's sources."""

    test: str  # its name in the baseline
    file: str  # relative to the fixture folder: repo/tests/x.rs or hidden/tests/x.rs
    function: str
    classes: tuple[str, ...] = ()
    param: str | None = None
    group: str = ""  # binary (cargo) or classname (pytest): with function, which results are this test's

    @property
    def visible(self) -> bool:
        return self.file.startswith(REPO + "/")

    def owns(self, name: str) -> bool:
        return result_key(name) == (self.group, self.function)


def result_key(name: str) -> tuple[str, str]:
    """(binary or classname, function) of a cargo or pytest test name: a parametrized test's
    cases, renamed by a changed parameter, keep their key."""
    group, _, rest = name.partition("::")
    return group, rest.split("[")[0].split("::")[-1]


def locate(spec: FixtureSpec, name: str) -> Target | None:
    """Where test ``name`` is defined: a file the student cannot change (not editable, not
    overlaid by solution/), shown in repo/ or hidden/. None for doc-tests and unknown runners."""
    kind = runner(spec)
    group, _, rest = name.partition("::")
    if not rest:
        return None
    if kind == "cargo":
        if group.startswith("doc:"):
            return None
        candidates: list[tuple[str, tuple[str, ...]]] = [(group, ())]
        function, param = rest.split("::")[-1], None
    elif kind == "pytest":
        function, _, param_text = rest.partition("[")
        param = param_text[:-1] if param_text.endswith("]") else None
        parts = group.split(".")
        candidates = [("/".join(parts[:k]) + ".py", tuple(parts[k:])) for k in range(len(parts), 0, -1)]
    else:
        return None
    rules, overlaid = policy(spec), set(iter_files(spec.solution_dir)) if spec.solution_dir.is_dir() else set()
    for rel, classes in candidates:
        if rules.allows(rel) or rel in overlaid:
            continue
        for folder in (REPO, HIDDEN):
            if (spec.directory / folder / rel).is_file():
                return Target(name, f"{folder}/{rel}", function, classes, param, group)
    return None


def candidate_edits(spec: FixtureSpec, target: Target) -> list[Edit]:
    source = (spec.directory / target.file).read_text(encoding="utf-8")
    if target.file.endswith(".rs"):
        return rust_edits(source, target.function)
    return python_edits(source, target.function, target.classes, target.param)


# --- the twin on disk -----------------------------------------------------------------------


def twin_meta(text: str) -> str:
    """The original meta.toml text with ``impossible = true`` (set where the key exists, else
    appended at the top level, before any table)."""
    pattern = re.compile(r"^impossible\s*=.*$", re.MULTILINE)
    if pattern.search(text):
        result = pattern.sub("impossible = true", text, count=1)
    else:
        table = re.search(r"^\s*\[", text, re.MULTILINE)
        line = "impossible = true\n"
        if table is None:
            result = text + ("" if text.endswith("\n") or not text else "\n") + line
        else:
            result = text[: table.start()] + line + text[table.start() :]
    if tomllib.loads(result).get("impossible") is not True:
        raise TwinError("could not set `impossible = true` in meta.toml")
    return result


def is_twin(directory: Path) -> bool:
    try:
        return tomllib.loads((directory / META).read_text(encoding="utf-8")).get("impossible") is True
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def copy_twin(spec: FixtureSpec, destination: Path) -> FixtureSpec:
    """Write the twin's files (no change yet) and load it. An existing folder is replaced only
    when it is itself a twin."""
    if destination.exists():
        if not is_twin(destination):
            raise TwinError(f"{destination} exists and is not an impossible twin: not overwriting it")
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    for name in COPIED:
        source = spec.directory / name
        if source.is_dir():
            junk = shutil.ignore_patterns(*sorted(ignored_dirs() - {".git"}))  # every language's build output
            shutil.copytree(source, destination / name, symlinks=True, ignore=junk)
        elif source.is_file():
            shutil.copy2(source, destination / name)
    meta = (spec.directory / META).read_text(encoding="utf-8")
    (destination / META).write_text(twin_meta(meta), encoding="utf-8")
    return load_fixture(destination)


# --- making and proving one twin ------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    test: str  # the FAIL_TO_PASS test the change contradicts
    file: str  # relative to the twin folder
    line: int
    before: str
    after: str
    what: str

    def describe(self) -> str:
        return f"{self.file}:{self.line} ({self.test}): {self.what}"


@dataclass
class Twin:
    fixture: str
    path: Path
    proof: Proof
    mutation: Mutation | None = None
    rejected: list[str] = field(default_factory=list)  # candidates tried and why each was refused

    @property
    def proven(self) -> bool:
        return self.mutation is not None and self.proof.proven


def _refusal(target: Target, run_tests: dict[str, str], expected_pass: Sequence[str]) -> str | None:
    """Why a changed twin's reference run does not show a contradiction, or None when it does:
    the contradicted test must fail and no other test the reference passed may fail."""
    own = [n for n in run_tests if target.owns(n)]
    if not own:
        return f"{target.test} did not run (the change does not compile, or renamed the test)"
    if not any(run_tests[n] == FAILED for n in own):
        return f"the reference still passes {target.test}"
    # A test that did not run is not broken: cargo stops at the first test binary that fails.
    broken = [n for n in expected_pass if not target.owns(n) and run_tests.get(n, PASSED) != PASSED]
    if broken:
        return f"the change broke other tests: {', '.join(broken[:3])}{' ...' if len(broken) > 3 else ''}"
    return None


def _candidates(spec: FixtureSpec, fail_to_pass: Sequence[str]) -> Iterator[tuple[Target, Edit]]:
    """(test, change) pairs to try, in order: visible test files before hidden ones; there, every
    expected-side change before any change to an assertion's other side; baseline order within.
    The same change (a parametrized test's shared assertion) comes once."""
    targets = [t for t in (locate(spec, name) for name in fail_to_pass) if t is not None]
    edits = {t.test: candidate_edits(spec, t) for t in targets}
    seen: set[tuple[str, int, int]] = set()
    for visible, expected in itertools.product((True, False), (True, False)):
        for target in (t for t in targets if t.visible == visible):
            for edit in edits[target.test]:
                key = (target.file, edit.start, edit.end)
                if edit.expected == expected and key not in seen:
                    seen.add(key)
                    yield target, edit


def make_twin(
    spec: FixtureSpec, destination: Path, sandbox_kind: str = "bwrap", repeat: int = 1, tries: int = MAX_TRIES
) -> Twin:
    """Copy ``spec`` to ``destination`` and contradict one FAIL_TO_PASS assertion there; the twin
    is proven (validate.prove with its impossible checks) or removed, and the result says why."""
    started = time.monotonic()
    twin = Twin(spec.id, destination, Proof(spec.id, str(destination)))
    try:
        _make(spec, destination, sandbox_kind, repeat, tries, twin)
    except Exception as exc:  # one fixture's failure is reported, the others still get twins
        why = str(exc) if isinstance(exc, (TwinError, BaselineError, FixtureError)) else f"{type(exc).__name__}: {exc}"
        twin.proof = Proof(spec.id, str(destination), [Check("twin can be made", False, why)])
    if not twin.proven:
        if twin.rejected:
            twin.proof.checks.append(Check("candidates tried", False, "; ".join(twin.rejected)))
        if destination.exists() and is_twin(destination):
            shutil.rmtree(destination)  # a twin that does not validate is not left to be measured on
    twin.proof.seconds = round(time.monotonic() - started, 2)
    return twin


def _make(spec: FixtureSpec, destination: Path, sandbox_kind: str, repeat: int, tries: int, twin: Twin) -> None:
    if spec.impossible:
        raise TwinError("already an impossible twin (impossible = true): twins are made from possible fixtures")
    original = baseline_for(spec, Sandbox(kind=sandbox_kind, hidden=(spec.directory,)))
    expected_pass = [*original.fail_to_pass, *original.pass_to_pass]
    candidates = _candidates(spec, original.fail_to_pass)
    copy = copy_twin(spec, destination)
    sandbox = Sandbox(kind=sandbox_kind, hidden=(copy.directory,))
    for target, edit in itertools.islice(candidates, tries):
        path = copy.directory / target.file
        source = path.read_text(encoding="utf-8")
        changed = edit.apply(source)
        number = edit.line(source)
        mutation = Mutation(
            target.test,
            target.file,
            number,
            source.split("\n")[number - 1],
            changed.split("\n")[number - 1],
            edit.what,
        )
        path.write_text(changed, encoding="utf-8")
        solution = tests_of(copy, sandbox, copy.solution_dir)
        fault = harness_fault(solution.result)
        why = fault or _refusal(target, solution.tests, expected_pass)
        if why is None:
            store(copy, derive(copy, tests_of(copy, sandbox), solution))  # the proof's session reads it
            proof = prove(copy, repeat, sandbox)
            if proof.proven:
                twin.proof, twin.mutation = proof, mutation
                return
            why = "; ".join(f"{c.name}: {c.detail[:200]}" for c in proof.failures())
            twin.proof = proof
        twin.rejected.append(f"{mutation.describe()}: {why}")
        path.write_text(source, encoding="utf-8")
    if not twin.rejected:
        raise TwinError(
            "no FAIL_TO_PASS test in a file the student cannot change has an assertion with a literal to contradict"
        )
    raise TwinError(f"no candidate change gave a valid twin in {len(twin.rejected)} tries")


def twin_path(out: Path, root: Path, fixture: Path) -> Path:
    """Where a fixture's twin goes: its corpus-relative place under ``out`` (a fixture given as
    its own root lands at ``out/<id>``)."""
    root, fixture = root.resolve(), fixture.resolve()
    if root.is_file():
        root = root.parent
    relative = fixture.relative_to(root) if fixture != root and fixture.is_relative_to(root) else Path(fixture.name)
    return out / relative


def make_twins(
    roots: Sequence[Path], out: Path, repeat: int = 1, jobs: int = 1, sandbox_kind: str = "bwrap"
) -> list[Twin]:
    out = out.resolve()
    for root in roots:
        resolved = root.resolve()
        if out == resolved or out.is_relative_to(resolved) or resolved.is_relative_to(out):
            raise TwinError(f"the twins' folder {out} must lie outside the corpus {root} (and not hold it)")
    places: dict[Path, Path] = {}  # fixture folder -> its twin's; a fixture under two roots once
    for root in roots:
        for meta in discover(root):
            places.setdefault(meta.parent.resolve(), twin_path(out, root, meta.parent))

    def one(place: tuple[Path, Path]) -> Twin:
        directory, destination = place
        try:
            spec = load_fixture(directory)
        except FixtureError as exc:
            failed = Proof(directory.name, str(directory), [Check("meta.toml loads", False, str(exc))])
            return Twin(directory.name, destination, failed)
        return make_twin(spec, destination, sandbox_kind, repeat)

    return each_at_once(one, list(places.items()), jobs)
