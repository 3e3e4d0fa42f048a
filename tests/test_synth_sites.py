"""arena-synth's mutation sites: found by the parsers, each operator of the catalogue, test code
and data left alone, and every mutant of the curated corpus still a parseable program."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tree_sitter_rust
from tree_sitter import Language, Parser

from pytest_arena.synth.mutants import OPERATORS, Mutant, whole_lines
from pytest_arena.synth.python_sites import python_sites
from pytest_arena.synth.rust_sites import rust_sites

ROOT = Path(__file__).resolve().parents[1]

PY = b'''"""Doc."""

LIMIT = 10


def clamp(values: list[int], low: int, high: int) -> list[int]:
    """Clamp."""
    out: list[int] = []
    for value in values:
        if value < low and not high:
            value = low
        out.append(value + 1)
    return out


def pick(items: list[str], index: int) -> str | None:
    while index >= 0:
        return items[index]
    return max(low_first(1, 2), 0)
'''

RS = b"""pub const LIMIT: usize = 10;

pub fn clamp(values: &[i32], low: i32, high: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for &value in values {
        if value < low && !high.is_positive() {
            out.push(low);
        }
        out.push(value + 1);
    }
    for i in 0..values.len() {
        let _ = values[i];
    }
    out
}

pub fn count(a: usize, b: usize) -> usize {
    sum(a, b) * 2
}

#[cfg(test)]
mod tests {
    #[test]
    fn t() {
        assert!(1 < 2);
    }
}
"""


def _changes(mutants: list[Mutant], source: bytes) -> set[tuple[str, str, str]]:
    return {(m.operator, source[m.start : m.end].decode(), m.replacement.decode()) for m in mutants}


def test_python_sites_cover_every_operator_of_the_catalogue() -> None:
    found = list(python_sites("m.py", PY))
    changes = _changes(found, PY)
    assert {m.operator for m in found} == set(OPERATORS)
    for expected in [
        ("comparison_flip", "<", ">="),
        ("comparison_boundary", ">=", ">"),
        ("arithmetic_swap", "+", "-"),
        ("boolean_swap", "and", "or"),
        ("condition_negate", "not high", "high"),
        ("off_by_one", "1", "2"),
        ("off_by_one", "index", "index + 1"),
        ("argument_swap", "1, 2", "2, 1"),
        ("default_return", "", "    return []\n"),
        ("statement_delete", "        out.append(value + 1)\n", ""),
    ]:
        assert expected in changes, expected


def test_python_sites_leave_module_data_annotations_and_docstrings_alone() -> None:
    found = list(python_sites("m.py", PY))
    lines = {m.line for m in found}
    assert 3 not in lines  # LIMIT = 10 is data
    assert all(m.function for m in found)
    assert not any(b"list[" in PY[m.start : m.end] and m.operator == "off_by_one" for m in found)
    assert not any(PY[m.start : m.end].startswith(b'"""') for m in found)


def test_rust_sites_cover_every_operator_and_skip_tests_and_consts() -> None:
    found = list(rust_sites("src/lib.rs", RS))
    changes = _changes(found, RS)
    for expected in [
        ("comparison_flip", "<", ">="),
        ("comparison_boundary", "<", "<="),
        ("arithmetic_swap", "*", "/"),
        ("boolean_swap", "&&", "||"),
        ("condition_negate", "!high.is_positive()", "high.is_positive()"),
        ("off_by_one", "1", "2"),
        ("off_by_one", "i", "i + 1"),
        ("argument_swap", "a, b", "b, a"),
        ("default_return", "sum(a, b) * 2", "0"),
        ("statement_delete", "            out.push(low);\n", ""),
    ]:
        assert expected in changes, expected
    test_module = RS.index(b"#[cfg(test)]")
    assert all(m.start < test_module for m in found)
    assert 1 not in {m.line for m in found}  # the const is data
    assert {m.function for m in found} == {"clamp", "count"}


def test_a_file_that_does_not_parse_has_no_sites() -> None:
    assert list(python_sites("m.py", b"def broken(:\n")) == []
    assert list(rust_sites("src/lib.rs", b"fn broken( {")) == []


def test_whole_lines_refuses_a_statement_sharing_its_line() -> None:
    source = b"a = 1\nb = 2; c = 3\n"
    assert whole_lines(source, 0, 5) == (0, 6)
    assert whole_lines(source, 6, 11) is None


def test_the_curated_corpus_offers_hundreds_of_sites() -> None:
    python = sum(len(list(python_sites("m.py", p.read_bytes()))) for p in _corpus_files("python", ".py"))
    rust = sum(len(list(rust_sites("src/lib.rs", p.read_bytes()))) for p in _corpus_files("under-contract", ".rs"))
    assert python > 300 and rust > 300


def _name(path: Path) -> str:
    return path.relative_to(ROOT / "fixtures").as_posix()


def _corpus_files(corpus: str, suffix: str) -> list[Path]:
    return sorted((ROOT / "fixtures" / corpus).glob(f"*/solution/**/*{suffix}"))


@pytest.mark.parametrize("path", _corpus_files("python", ".py"), ids=_name)
def test_every_python_mutant_of_the_corpus_still_parses(path: Path) -> None:
    source = path.read_bytes()
    for mutant in python_sites("m.py", source):
        ast.parse(mutant.apply(source))


@pytest.mark.parametrize("path", _corpus_files("under-contract", ".rs"), ids=_name)
def test_every_rust_mutant_of_the_corpus_still_parses(path: Path) -> None:
    parser = Parser(Language(tree_sitter_rust.language()))
    source = path.read_bytes()
    for mutant in rust_sites("src/lib.rs", source):
        assert not parser.parse(mutant.apply(source)).root_node.has_error, mutant.describe(source)
