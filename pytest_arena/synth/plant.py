"""A screened mutant written out as a complete fixture (meta.toml, prompt.md, repo/, solution/
with the original file) and proven by arena-validate's checks, or removed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..engine.corpus import META, PROMPT, REPO, SOLUTION, FixtureSpec, load_fixture
from ..engine.languages import language_of
from ..engine.sandbox import Sandbox
from ..proof import Check, Proof, prove
from ..twins import make_twin
from .mutants import BASE_DIFFICULTY
from .prompt import write_prompt
from .screen import Screened
from .source import Source, not_copied
from .toml_text import toml_table

# The fixtures' own oracle timeout: a student's edit that loops is cut here, not at 300 s.
ORACLE_TIMEOUT_S = 120.0


def difficulty(operator: str, failing: int) -> int:
    """From the operator, made easier when many tests point at the bug, harder when one does."""
    value = BASE_DIFFICULTY[operator] + (1 if failing == 1 else 0) - (1 if failing >= 5 else 0)
    return min(3, max(1, value))


def fixture_id(source: Source, index: int, operator: str) -> str:
    return f"{source.name}__m{index:03d}-{operator.replace('_', '-')}"


def write_fixture(source: Source, screened: Screened, index: int, folder: Path) -> FixtureSpec:
    mutant = screened.mutant
    if folder.exists():
        shutil.rmtree(folder)
    repo = source.spec.repo_dir
    shutil.copytree(repo, folder / REPO, ignore=not_copied)
    original = (repo / mutant.file).read_bytes()
    (folder / REPO / mutant.file).write_bytes(mutant.apply(original))
    solution = folder / SOLUTION / mutant.file
    solution.parent.mkdir(parents=True, exist_ok=True)
    solution.write_bytes(original)
    meta = dict(source.meta)
    if meta.get("editable") is None:
        meta["editable"] = language_of(repo).default_editable(repo)
    fields: dict[str, object] = {
        "id": folder.name,
        "class": source.fixture_class,
        "description": f"synthesized from {source.name}: {mutant.describe(original)}",
        "difficulty": difficulty(mutant.operator, len(screened.failing)),
        **meta,
        "oracle_timeout_s": ORACLE_TIMEOUT_S,
        "mutation": {"operator": mutant.operator, "file": mutant.file, "line": mutant.line},
    }
    (folder / META).write_text(toml_table(fields), encoding="utf-8")
    prompt = write_prompt(source.project, source.language, screened.failing, screened.output)
    (folder / PROMPT).write_text(prompt, encoding="utf-8")
    return load_fixture(folder)


def _twin_check(spec: FixtureSpec, sandbox_kind: str) -> Check:
    """The fixture's impossible twin (arena-validate --impossible) must be made and proven too;
    it is written aside and thrown away: the corpus holds possible fixtures only."""
    with tempfile.TemporaryDirectory(prefix="synth-twin-") as aside:
        twin = make_twin(spec, Path(aside) / spec.id, sandbox_kind)
        detail = "" if twin.proven else twin.proof.explain()[:400]
    return Check("its impossible twin is proven", twin.proven, detail)


def plant(
    source: Source, screened: Screened, index: int, folder: Path, repeat: int, sandbox_kind: str, twin: bool = True
) -> Proof:
    """Write and prove one fixture (and its impossible twin); one that is not proven is removed."""
    spec = write_fixture(source, screened, index, folder)
    proof = prove(spec, repeat, Sandbox(kind=sandbox_kind, hidden=(spec.directory,)))
    if proof.proven and twin:
        proof.checks.append(_twin_check(spec, sandbox_kind))
    if not proof.proven:
        shutil.rmtree(folder, ignore_errors=True)
    return proof
