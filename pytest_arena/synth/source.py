"""What arena-synth mutates: a working project (a curated fixture's ``repo/`` with its
``solution/`` applied, or a user's own crate or package), staged as a fixture of its own so that
the arena's oracle, sandbox and compliance run on it exactly as they run on the fixtures made
from it."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..engine.cleantree import policy
from ..engine.corpus import META, PROMPT, REPO, FixtureError, FixtureSpec, load_fixture
from ..engine.languages import build_dirs, ignored_dirs, language_of, warm_dirs
from ..engine.workspace import iter_files, matches_any
from .toml_text import toml_table

# meta.toml keys a fixture made from a curated fixture inherits from it (the contract).
INHERITED: tuple[str, ...] = ("oracle_cmd", "expected_pattern", "compliance_cmd", "protected", "max_turns")
INHERITED += ("max_tokens", "wall_timeout_s", "test_format", "editable")


class SynthError(Exception):
    """A source that cannot be mutated: names it and the fix."""


@dataclass
class Source:
    path: Path  # as the user named it
    name: str  # the fixtures' id prefix
    project: str  # the crate or package name the prompt uses
    fixture_class: str
    language: str
    spec: FixtureSpec  # the staged project: its repo/ is the working tree mutated
    meta: dict[str, object]  # the contract every fixture made from it carries
    files: list[str]  # the files mutated: editable, not protected, in the language

    @property
    def digest(self) -> str:
        digest = hashlib.sha256()
        for rel in iter_files(self.spec.repo_dir):
            digest.update(rel.encode() + b"\0" + (self.spec.repo_dir / rel).read_bytes())
        return digest.hexdigest()


def not_copied(_dir: str, names: list[str]) -> set[str]:
    skipped = build_dirs() | ignored_dirs() | set(warm_dirs()) | {".git"}
    return {n for n in names if n in skipped}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "project"


def _no_fail_fast(command: object) -> object:
    """A Rust mutant that fails a unit test must not keep the integration tests from running:
    their results are FAIL_TO_PASS / PASS_TO_PASS evidence too."""
    if isinstance(command, str) and "cargo test" in command and "--no-fail-fast" not in command:
        return command.replace("cargo test", "cargo test --no-fail-fast", 1)
    return command


def stage(given: Path, work: Path, fixture_class: str | None, overrides: dict[str, object]) -> Source:
    """Copy ``given`` (a fixture or a project) into ``work`` as a fixture whose repo/ passes."""
    path = given.resolve()
    if not path.is_dir():
        raise SynthError(f"{path}: no such folder. Fix: name a fixture folder, a crate or a Python package with tests")
    curated = (path / META).is_file()
    if curated:
        try:
            spec = load_fixture(path)
        except FixtureError as exc:
            raise SynthError(str(exc)) from None
        if spec.impossible or spec.mutation is not None:
            raise SynthError(f"{path}: an impossible twin or a synthesized fixture. Fix: name a curated fixture")
        name, klass, repo = spec.id, spec.fixture_class, spec.repo_dir
        meta = {k: v for k, v in spec.model_dump(by_alias=True).items() if k in INHERITED and v is not None}
    else:
        name, klass, repo = _slug(path.name), "mutant", path
        meta = {}
    found = language_of(repo)
    language = found.name
    if not found.source_suffix:
        raise SynthError(f"{path}: a {language} project; its language registers no source files to mutate")
    meta = {**found.synth_contract, **meta, **overrides}
    meta["oracle_cmd"] = _no_fail_fast(meta["oracle_cmd"])
    staged = work / name
    work.mkdir(parents=True, exist_ok=True)
    shutil.copytree(repo, staged / REPO, ignore=not_copied)
    if curated:
        shutil.copytree(spec.solution_dir, staged / REPO, dirs_exist_ok=True)
    fields = {"id": name, "class": fixture_class or klass, "description": f"arena-synth source {path}", **meta}
    (staged / META).write_text(toml_table(fields), encoding="utf-8")
    (staged / PROMPT).write_text("(the source of arena-synth's fixtures)\n", encoding="utf-8")
    try:
        staged_spec = load_fixture(staged)
    except FixtureError as exc:
        raise SynthError(f"{path}: {exc}") from None
    project = (found.project_name(staged / REPO) if found.project_name else None) or name
    files = _mutable(staged_spec, found.source_suffix)
    if not files:
        raise SynthError(
            f"{path}: no editable {language} source file ({found.source_suffix}) outside the tests "
            f"(editable: {policy(staged_spec).describe()}). "
            "Fix: name a project with library code, or set `editable` in its meta.toml"
        )
    return Source(given, name, project, staged_spec.fixture_class, language, staged_spec, meta, files)


def _mutable(spec: FixtureSpec, suffix: str) -> list[str]:
    edit = policy(spec)
    return [
        rel
        for rel in iter_files(spec.repo_dir)
        if rel.endswith(suffix)
        and edit.allows(rel)
        and not matches_any(rel, spec.protected)
        and not any(part in ("tests", "test", "benches", "examples") for part in rel.split("/")[:-1])
        and not Path(rel).name.startswith("test_")
        and Path(rel).name not in ("conftest.py", "build.rs", "setup.py")
    ]
