"""A fixture language is one registry entry (pytest_arena/engine/languages.py): the built-in tables
are what they were, and a language registered later reaches every place that reads them."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_arena.engine import commands, languages
from pytest_arena.engine.commands import command_env, toolchain_env
from pytest_arena.engine.corpus import FixtureError, discover, fixture_files, load_fixture
from pytest_arena.engine.editable import EditPolicy, default_editable, never_kind
from pytest_arena.engine.languages import Language, PromptExamples
from pytest_arena.engine.sandbox import answer_folders
from pytest_arena.engine.testresults import parse_tests
from pytest_arena.engine.workspace import iter_files
from pytest_arena.items import missing_program

from .helpers import ROOT, tiny_fixture

# Language facts: written once, in builtin_languages.py (runner names such as "cargo" and "pytest"
# are left out: evidence.py reads those runners' own evidence files).
FACTS = {
    "src/lib.rs",
    "Cargo.toml",
    "**/Cargo.toml",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "VIRTUAL_ENV",
    "CARGO_TERM_COLOR",
    "CARGO_INCREMENTAL",
    "CARGO_PROFILE_DEV_DEBUG",
    "CARGO_BUILD_JOBS",
    "PYTHONNOUSERSITE",
    "target",
    ".mypy_cache",
    ".ruff_cache",
    "__pycache__",
    ".pytest_cache",
}


def test_language_facts_are_written_only_in_the_registry() -> None:
    found = sorted(
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value}"
        for path in (ROOT / "pytest_arena").rglob("*.py")
        if path.name != "builtin_languages.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FACTS
    )
    assert found == []


def test_builtin_tables() -> None:
    assert [lang.name for lang in languages.registered()][:2] == ["rust", "python"]
    assert languages.ignored_dirs() == {"target", ".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
    assert languages.private_dirs() == {"repo", "solution", "noncompliant", "hidden", "target"}
    assert languages.warm_dirs() == ("target", ".mypy_cache", ".ruff_cache")
    assert set(languages.passed_env()) == {"PATH", "RUSTUP_HOME", "CARGO_HOME", "RUSTUP_TOOLCHAIN", "VIRTUAL_ENV"}
    assert languages.tool_homes() == ("CARGO_HOME", "RUSTUP_HOME", "VIRTUAL_ENV")
    assert list(languages.test_formats()) == ["cargo", "unittest", "pytest"]
    assert languages.prompt_examples().source == "src/lib.rs"
    assert never_kind("Cargo.toml") == "toolchain config" and never_kind("a/conftest.py") == "runner config"
    assert never_kind("rustfmt.toml") == never_kind("ruff.toml") == "lint config"


def _parse_toy(output: str) -> dict[str, str]:
    lines = [line for line in output.splitlines() if line.startswith(("TOYOK", "TOYNO"))]
    return {line[5:]: "passed" if line.startswith("TOYOK") else "failed" for line in lines}


TOY = Language(
    "toy",
    detect=lambda repo: (repo / "toy.mod").is_file(),
    default_editable=lambda repo: ["lib/**"],
    parsers={"toytest": _parse_toy},
    build_dirs=("_toybuild",),
    warm_dirs=(".toycache",),
    ignored_dirs=(".toyscratch",),
    tool_homes=("TOYROOT",),
    home_defaults=(("TOYROOT", ".toy-not-here"),),
    passed_env=("TOYFLAGS",),
    command_env={"TOY_COLOR": "never"},
    install_hints={"toyc": "apt-get install toy"},
    never_editable={"toolchain config": ("**/toy.mod",), "generated": ("**/*.toygen",)},
    examples=PromptExamples("lib/a.toy", "toyc test", "toyc test", "a", "b"),
)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Language]:
    monkeypatch.setenv("TOYFLAGS", "-v")
    languages.register(TOY)
    try:
        yield TOY
    finally:
        languages.unregister(TOY.name)
        answer_folders.cache_clear()


def test_a_registered_language_reaches_every_table(toy: Language, tmp_path: Path) -> None:
    fixture = tiny_fixture(tmp_path, oracle_cmd="toyc test", test_format="toytest")
    del fixture  # its meta.toml names toyc and toytest: both must be known now
    root = tmp_path / "tiny__01-answer"
    repo = root / "repo"
    (repo / "toy.mod").write_text("module toy\n")
    for folder in ("_toybuild", ".toycache", ".toyscratch"):
        (repo / folder).mkdir()
        (repo / folder / "x").write_text("")
    (root / "_toybuild" / "nested").mkdir(parents=True)
    (root / "_toybuild" / "nested" / "meta.toml").write_text("")

    spec = load_fixture(root)
    assert spec.test_format == "toytest"
    assert iter_files(repo) == ["answer.txt", "toy.mod", "tests/check.sh"]
    assert [m.parent.name for m in discover(tmp_path)] == ["tiny__01-answer"]
    assert not any("_toybuild" in p.parts for p in fixture_files(root))
    assert ".toycache" in languages.warm_dirs()
    assert default_editable(repo) == ["lib/**"]
    policy = EditPolicy.of(None, [], repo)
    assert policy.refusal("toy.mod") == "toy.mod is toolchain config, which the oracle always takes from the fixture"
    assert never_kind("a/b.toygen") == "generated"
    assert command_env(tmp_path, tmp_path)["TOY_COLOR"] == "never"
    assert toolchain_env()["TOYFLAGS"] == "-v"
    assert "TOYROOT" in languages.tool_homes()
    assert parse_tests("TOYOKa\nTOYNOb", "toytest") == {"a": "passed", "b": "failed"}
    assert parse_tests("TOYOKa\ntest x ... ok") == {"a": "passed", "x": "passed"}  # auto reads with it too
    problem = missing_program(spec)
    assert problem is not None and problem.endswith("program 'toyc' not found on PATH. Fix: apt-get install toy")


def test_an_unregistered_format_is_refused_as_before(tmp_path: Path) -> None:
    with pytest.raises(FixtureError) as refused:
        load_fixture(tiny_fixture(tmp_path, test_format="toytest"))
    assert str(refused.value).endswith(
        "key 'test_format': Input should be 'auto', 'cargo', 'unittest' or 'pytest' (got 'toytest'). Fix: give "
        "`test_format` a valid value (input should be 'auto', 'cargo', 'unittest' or 'pytest')"
    )


def test_a_workers_builds_get_its_share_of_the_cores(tmp_path: Path) -> None:
    """Set only under -n (plugin: a worker's share_cores); a run without it keeps cargo's default."""
    assert "CARGO_BUILD_JOBS" not in command_env(tmp_path, tmp_path)
    commands.share_cores(1)
    try:
        assert command_env(tmp_path, tmp_path)["CARGO_BUILD_JOBS"] == "1"
    finally:
        commands.share_cores(0)
    assert "CARGO_BUILD_JOBS" not in command_env(tmp_path, tmp_path)
