"""arena-synth end to end: a user's own Python package and a curated Rust fixture turned into
fixtures that arena-validate proves, the same fixtures for the same seed, and the sources and
mutants that must not become fixtures (failing source, surviving or looping mutants)."""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path

import pytest

from pytest_arena.engine.corpus import fixture_digest, is_synthesized_corpus, load_fixture
from pytest_arena.synth.cli import main as synth_main
from pytest_arena.synth.manifest import read_manifest
from pytest_arena.synth.mutants import Mutant
from pytest_arena.synth.plant import difficulty
from pytest_arena.synth.prompt import write_prompt
from pytest_arena.synth.run import Settings, mutants_of
from pytest_arena.synth.source import stage
from pytest_arena.synth.toml_text import toml_table

from .helpers import ROOT, fault_probe, run_module
from .test_readme import by_prefix

PACKAGE = {
    "pyproject.toml": '[project]\nname = "tally"\nversion = "0"\n',
    "tally/__init__.py": '''"""Counting helpers."""


def count_below(values: list[int], limit: int) -> int:
    """How many values are below the limit."""
    total = 0
    for value in values:
        if value < limit:
            total += 1
    return total


def spread(values: list[int]) -> int:
    """The largest value minus the smallest."""
    return max(values) - min(values)
''',
    "tests/test_tally.py": """from tally import count_below, spread


def test_count_below() -> None:
    assert count_below([1, 5, 9], 5) == 1


def test_count_below_none() -> None:
    assert count_below([7, 8], 5) == 0


def test_spread() -> None:
    assert spread([3, 9, 4]) == 6
""",
}
FAST = "ruff check . 2>&1"  # the package's contract: ruff only, so the test stays short


def _package(parent: Path, files: dict[str, str] = PACKAGE) -> Path:
    root = parent / "tally"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _synth(*args: str | Path) -> tuple[int, str]:
    result = run_module("pytest_arena.synth.cli", *args, timeout=600)
    return result.returncode, result.output


# -- fast: the pieces ------------------------------------------------------------------------


def test_the_same_seed_orders_the_mutants_the_same_and_another_seed_differently(tmp_path: Path) -> None:
    source = stage(_package(tmp_path), tmp_path / "work", None, {"compliance_cmd": FAST})
    first = mutants_of(source, Settings(seed=3))
    assert first == mutants_of(source, Settings(seed=3))
    assert first != mutants_of(source, Settings(seed=4))
    assert sorted(first) == sorted(mutants_of(source, Settings(seed=4)))
    only = mutants_of(source, Settings(operators=("comparison_boundary",)))
    assert [m.replacement for m in only] == [b"<="]


def test_a_staged_project_gets_the_languages_contract_and_mutates_only_its_code(tmp_path: Path) -> None:
    source = stage(_package(tmp_path), tmp_path / "work", "counting", {"compliance_cmd": FAST})
    assert source.files == ["tally/__init__.py"]  # tests/ are never mutated
    assert source.fixture_class == "counting" and source.project == "tally"
    assert source.meta["compliance_cmd"] == FAST
    assert "tests/**" in source.meta["protected"]  # type: ignore[operator]


def test_a_rust_fixture_source_runs_every_test_binary_and_carries_its_contract(tmp_path: Path) -> None:
    fixture = ROOT / "fixtures/under-contract/unix__01-wc"
    source = stage(fixture, tmp_path, None, {})
    assert "--no-fail-fast" in str(source.meta["oracle_cmd"])
    assert source.meta["compliance_cmd"] == load_fixture(fixture).compliance_cmd
    assert source.fixture_class == "unix" and source.language == "rust"
    solution = fixture / "solution"
    for rel in (p.relative_to(solution) for p in solution.rglob("*") if p.is_file()):
        assert (source.spec.repo_dir / rel).read_bytes() == (solution / rel).read_bytes()


def test_the_prompt_tells_the_failures_never_the_mutation() -> None:
    output = (
        "---- parses_counts stdout ----\n\nthread 'parses_counts' panicked at src/lib.rs:41:9:\n"
        "attempt to subtract with overflow\nnote: run with `RUST_BACKTRACE=1`\n\n"
        "---- counts_words stdout ----\nthread 'counts_words' panicked at tests/wc.rs:12:5:\n"
        "assertion `left == right` failed\n  left: 3\n right: 2\n\nfailures:\n"
    )
    text = write_prompt("wc", "rust", ("tests/wc.rs::counts_words", "tests/wc.rs::parses_counts"), output)
    assert "src/lib.rs" not in text and ":41" not in text
    assert "panicked in the library code:" in text and "attempt to subtract with overflow" in text
    assert "left: 3" in text and "tests/wc.rs:12:5" in text
    assert text.startswith("# 2 tests of `wc` fail")
    python = (
        "____ test_spread ____\n\n    def test_spread():\n>       assert spread([3, 9, 4]) == 6\n"
        "E       assert 12 == 6\nE        +  where 12 = spread([3, 9, 4])\n\ntests/test_tally.py:8: AssertionError\n"
        "==== short test summary info ====\n"
    )
    text = write_prompt("tally", "python", ("tests/test_tally.py::test_spread",), python)
    assert "where 12 = spread([3, 9, 4])" in text and "1 test of `tally` fails" in text
    assert "max(values) + min(values)" not in text


def test_difficulty_rises_with_a_lone_failing_test_and_falls_with_many() -> None:
    assert difficulty("comparison_boundary", 1) == 3
    assert difficulty("comparison_boundary", 3) == 2
    assert difficulty("comparison_flip", 9) == 1
    assert difficulty("arithmetic_swap", 1) == 2


def test_meta_toml_text_reads_back_as_written() -> None:
    fields = {"id": 'a"b\\c', "n": 3, "x": 1.5, "on": True, "globs": ["src/**", "é"], "m": {"line": 4, "op": "x"}}
    assert tomllib.loads(toml_table(fields)) == fields


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["only-one"], "name at least one SOURCE and then OUT"),
        (["a", "b", "--max", "0"], "--max, --jobs and --repeat take an integer >= 1"),
        (["a", "b", "--class", "Bad Class"], "one lowercase word"),
        (["a", "b", "--class", "synth"], "a mark pytest or the arena gives items itself"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_fix(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth_main(args) == 2
    assert message in capsys.readouterr().err


def test_out_inside_the_source_and_a_missing_source_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _package(tmp_path)
    assert synth_main([str(package), str(package / "out")]) == 2
    assert "lies inside SOURCE" in capsys.readouterr().err
    assert synth_main([str(tmp_path / "nowhere"), str(tmp_path / "out")]) == 2
    assert "no such folder" in capsys.readouterr().err


# -- slow: real mutants, real proofs ---------------------------------------------------------


def _readme_command(package: Path, out: Path) -> list[str]:
    """The README's command for your own project, its placeholders bound to this test's."""
    (command,) = [c for c in by_prefix("arena-synth ") if "your-project" in c]
    bound = {"path/to/your-project": str(package), "my-fixtures": str(out)}
    return [bound.get(arg, arg) for arg in shlex.split(command)[1:]]


@pytest.mark.slow
def test_a_users_package_becomes_fixtures_that_arena_validate_proves_the_same_for_the_same_seed(
    tmp_path: Path,
) -> None:
    package = _package(tmp_path)
    args = ["--max", "2", "--seed", "1", "--compliance", FAST, "--class", "counting"]  # small, and fast to prove
    code, output = _synth(*_readme_command(package, tmp_path / "out"), *args)
    assert code == 0, output
    assert "2 kept" in output and "mutants tried" in output
    out = tmp_path / "out"
    assert is_synthesized_corpus(out)
    manifest = read_manifest(out)
    assert manifest["sources"]["tally"]["sha256"] and manifest["sources"]["tally"]["seed"] == 1
    assert len(manifest["fixtures"]) == 2
    for name, entry in manifest["fixtures"].items():
        folder = out / entry["path"]
        spec = load_fixture(folder)
        assert spec.id == name and spec.fixture_class == "counting" and spec.mutation is not None
        assert fixture_digest(folder) == entry["sha256"]
        mutated = spec.mutation.file
        assert (folder / "repo" / mutated).read_bytes() != (folder / "solution" / mutated).read_bytes()
        assert (folder / "solution" / mutated).read_text() == PACKAGE[mutated]
        assert str(spec.mutation.line) not in spec.prompt.split("fail")[0]
    proof = run_module("pytest_arena.validate", out, "--repeat", "2", "--json", tmp_path / "p.json", timeout=600)
    assert proof.returncode == 0, proof.output
    assert all(p["proven"] for p in json.loads((tmp_path / "p.json").read_text()))
    code, output = _synth(*_readme_command(package, tmp_path / "again"), *args)
    assert code == 0, output
    again = read_manifest(tmp_path / "again")
    assert {k: v["sha256"] for k, v in again["fixtures"].items()} == {
        k: v["sha256"] for k, v in manifest["fixtures"].items()
    }


@pytest.mark.slow
def test_a_curated_rust_fixture_becomes_a_proven_fixture_with_its_original_file_as_solution(tmp_path: Path) -> None:
    fixture = ROOT / "fixtures/under-contract/leetcode__01-two-sum"
    code, output = _synth(fixture, tmp_path / "out", "--max", "1")
    assert code == 0, output
    [folder] = (tmp_path / "out" / "rust").iterdir()
    spec = load_fixture(folder)
    assert spec.fixture_class == "leetcode" and spec.mutation is not None and spec.mutation.file == "src/lib.rs"
    assert (folder / "solution/src/lib.rs").read_bytes() == (fixture / "solution/src/lib.rs").read_bytes()
    assert not (folder / "hidden").exists() and not (folder / "noncompliant").exists()
    assert "--no-fail-fast" in spec.oracle_cmd
    proof = run_module("pytest_arena.validate", folder, "--repeat", "2", timeout=600)
    assert proof.returncode == 0, proof.output
    rejected = read_manifest(tmp_path / "out")["sources"]["leetcode__01-two-sum"]["rejected"]
    assert sum(rejected.values()) >= 1  # two_sum's other mutants do not build or fail clippy


@pytest.mark.slow
def test_a_source_whose_tests_fail_is_refused_naming_the_fix(tmp_path: Path) -> None:
    files = dict(PACKAGE)
    files["tests/test_tally.py"] += "\n\ndef test_broken() -> None:\n    assert spread([1, 2]) == 5\n"
    code, output = _synth(_package(tmp_path, files), tmp_path / "out", "--compliance", FAST)
    assert code == 2
    assert "its tests do not pass" in output and "test_broken" in output
    # The source's own failing output follows the message on purpose; arena-synth shows no traceback.
    head = output.split("Fix:")[0]
    assert not fault_probe("arena-synth: a source whose own tests fail", head)
    assert "Traceback (most recent call last)" not in output
    assert not list((tmp_path / "out").glob("*/*"))


LOOPING = {
    **PACKAGE,
    "tally/__init__.py": '''"""Counting helpers."""


def steps(limit: int) -> int:
    """How many steps reach the limit."""
    done = 0
    while done < limit:
        done += 1
    return done
''',
    "tests/test_tally.py": "from tally import steps\n\n\ndef test_steps() -> None:\n    assert steps(3) == 3\n",
}


@pytest.mark.slow
def test_surviving_and_looping_mutants_never_become_fixtures(tmp_path: Path) -> None:
    """Deleting ``done += 1`` loops forever: the screen cuts it at its own short timeout, and a
    mutant no test notices (``<`` to ``!=`` here cannot be told apart) is not a fixture either."""
    package = _package(tmp_path, LOOPING)
    ops = ["--operator", "statement_delete", "--operator", "comparison_flip", "--operator", "off_by_one"]
    code, output = _synth(package, tmp_path / "out", "--compliance", FAST, "--max", "5", *ops)
    rejected = read_manifest(tmp_path / "out")["sources"]["tally"]["rejected"]
    assert rejected.get("tests time out (an endless loop)", 0) >= 1, output
    assert not fault_probe("arena-synth: a mutant that loops forever", output)
    kept = read_manifest(tmp_path / "out")["fixtures"]
    assert all(entry["fail_to_pass"] >= 1 for entry in kept.values())
    assert code in (0, 1), output


def test_mutant_apply_replaces_exactly_its_bytes() -> None:
    mutant = Mutant("m.py", 5, 6, "comparison_boundary", b"<=", 1, "f")
    assert mutant.apply(b"if a < b:") == b"if a <= b:"


@pytest.mark.slow
def test_same_size_mutants_screened_back_to_back_are_each_judged_by_their_own_code(tmp_path: Path) -> None:
    """`limit` 1 -> 0, 1 -> 2, then 1 -> 0 again keep the file's size and follow each other within a
    second in one scratch copy: no cache trusted by size and mtime may replay an earlier one."""
    from pytest_arena.engine.sandbox import Sandbox
    from pytest_arena.synth.screen import Scratch

    files = {
        **PACKAGE,
        "tally/__init__.py": "def limit() -> int:\n    return 1\n",
        "tests/test_tally.py": "from tally import limit\n\n\ndef test_limit() -> None:\n    assert limit() == 1\n",
    }
    source = stage(_package(tmp_path, files), tmp_path / "work", None, {"compliance_cmd": FAST})
    scratch = Scratch(source, Sandbox(hidden=(source.spec.directory,)))
    try:
        scratch.check_pristine()
        mutants = sorted(mutants_of(source, Settings(operators=("off_by_one",))), key=lambda m: m.replacement)
        assert [m.replacement for m in mutants] == [b"0", b"2"]
        first, second = (scratch.screen(m) for m in mutants)
        again = scratch.screen(mutants[0])
    finally:
        scratch.close()
    assert first.failing == second.failing == again.failing == ("tests/test_tally.py::test_limit",)
    assert "assert 0 == 1" in first.output and "assert 2 == 1" in second.output and "assert 0 == 1" in again.output


def test_a_source_without_library_code_is_refused_and_the_other_sources_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README").write_text("no code here\n")
    assert synth_main([str(empty), str(empty), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("no editable python source file (.py) outside the tests") == 2  # the second source was tried too
    assert "Fix: name a project with library code" in err and "Traceback" not in err
