"""Lint suppressions a student added are found in real comments and attributes, never in strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_arena.engine.suppressions import Suppression, added, scan


def found(path: str, *lines: str) -> list[tuple[int, str]]:
    return [(s.line, s.kind) for s in scan(path, "\n".join(lines) + "\n")]


def rust(*lines: str) -> list[tuple[int, str]]:
    return found("src/lib.rs", *lines)


def python(*lines: str) -> list[tuple[int, str]]:
    return found("pkg/mod.py", *lines)


# ---------------------------------------------------------------- Rust


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("#[allow(clippy::unwrap_used)]", "allow"),
        ("#![allow(dead_code)]", "allow"),
        ("#[expect(unused_variables)]", "expect"),
        ("#[warn(clippy::pedantic)]", "warn"),
        ('#[cfg_attr(feature = "x", allow(unused))]', "cfg_attr(allow)"),
        ("#[cfg_attr(test, inline, expect(dead_code))]", "cfg_attr(expect)"),
        ("#[cfg_attr(all(), cfg_attr(all(), allow(x)))]", "cfg_attr(allow)"),
        ("#[rustfmt::skip]", "rustfmt::skip"),
        ('#[clippy::cognitive_complexity = "100"]', "clippy::cognitive_complexity"),
        ("# [ allow ( unused ) ]", "allow"),
        ("#[r#allow(unused)]", "allow"),
    ],
)
def test_a_rust_suppression_is_found(line: str, kind: str) -> None:
    assert rust("fn a() {}", line, "fn b() {}") == [(2, kind)]


@pytest.mark.parametrize(
    "line",
    ["#[deny(warnings)]", "#![forbid(unsafe_code)]", "#[derive(Debug)]", "#[cfg_attr(test, derive(Debug))]"],
)
def test_a_rust_attribute_that_silences_nothing_is_not_found(line: str) -> None:
    assert rust(line, "struct S;") == []


def test_a_multi_line_attribute_is_found_at_its_hash_with_a_canonical_text() -> None:
    [sup] = scan("src/lib.rs", "fn a() {}\n#\n[allow(\n    clippy::unwrap_used, // why\n    dead_code\n)]\nfn b() {}\n")
    assert (sup.line, sup.kind, sup.text) == (2, "allow", "#[allow(clippy::unwrap_used, dead_code)]")
    assert str(sup) == "src/lib.rs:2: allow #[allow(clippy::unwrap_used, dead_code)]"


@pytest.mark.parametrize(
    "line",
    [
        'const S: &str = "#[allow(x)]";',
        'const S: &str = "\\" #[allow(x)] \\"";',
        'const S: &str = r##"a "# #[allow(x)] "##;',
        'const S: &[u8] = br#"#[allow(x)]"#;',
        'const S: &[u8] = b"#[allow(x)]";',
        "// #[allow(x)]",
        "/// #[allow(x)]",
        "//! #![allow(x)]",
        "/* #[allow(x)] */",
        "/* /* nested */ #[allow(x)] */",
        "/** #[allow(x)] */",
    ],
)
def test_an_attribute_in_a_string_or_comment_is_not_found(line: str) -> None:
    assert rust(line, "fn a() {}") == []


def test_a_nested_block_comment_ends_only_at_its_outermost_close() -> None:
    assert rust("/* a /* b */ #[allow(x)] */ #[allow(y)]") == [(1, "allow")]


@pytest.mark.parametrize(
    "line",
    [
        "fn f<'a>(x: &'a str) -> &'a str { \"#[allow(x)]\" }",
        "fn f<'a,'b>(x: &'a str, y: &'b str) { let s = \"'#[allow(x)]\"; }",
        'fn f() -> &\'static str { "#[allow(x)]" }',
        # read as a char literal, 'a would run to the apostrophe inside the string and unquote it
        "fn f<'a>(x: &'a str) -> &'a str { \"it's #[allow(x)]\" }",
        "fn f() { 'outer: loop { break 'outer; } let s = \"#[allow(x)]\"; }",
    ],
)
def test_a_lifetime_is_not_mistaken_for_a_char_literal(line: str) -> None:
    assert rust(line) == []


@pytest.mark.parametrize("char", ["'\"'", "'\\''", "'\\\\'", "'\\u{1F600}'", "'\\n'", "b'\"'"])
def test_a_char_literal_that_looks_like_a_quote_does_not_open_a_string(char: str) -> None:
    # if the char's quote opened a string, the attribute after it would be swallowed
    assert rust(f"const C: char = {char}; #[allow(x)] fn f() {{}}") == [(1, "allow")]


def test_an_unclosed_attribute_does_not_hide_the_ones_after_it() -> None:
    assert rust("#[allow(x)", "fn f() {}", "#[allow(y)]", "fn g() {}") == [(1, "allow"), (3, "allow")]


def test_an_attribute_in_a_macro_rules_body_is_found() -> None:
    assert rust("macro_rules! m {", "    () => { #[allow(unused)] fn h() {} };", "}") == [(2, "allow")]


# ---------------------------------------------------------------- Python


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("x = 1  # noqa", "noqa"),
        ("x = 1  # noqa: E501", "noqa"),
        ("x = 1  #noqa", "noqa"),
        ("x = 1  # NOQA:F401,E501", "noqa"),
        ("x = 1  # why # noqa", "noqa"),
        ("x = f()  # type: ignore", "type: ignore"),
        ("x = f()  # type:ignore[attr-defined]", "type: ignore"),
        ("x = f()  # pyright: ignore[reportGeneralTypeIssues]", "pyright: ignore"),
        ("# pyright: basic", "pyright: basic"),
        ("# mypy: ignore-errors", "mypy:"),
        ("# mypy: disable-error-code=attr-defined", "mypy:"),
        ("# ruff: noqa", "ruff: noqa"),
        ("# ruff: noqa: E501", "ruff: noqa"),
        ("# flake8: noqa", "flake8: noqa"),
        ("# fmt: off", "fmt: off"),
        ("x = [1,2]  # fmt: skip", "fmt: skip"),
        ("# pylint: disable=all", "pylint: disable"),
        ("import os  # isort: skip", "isort: skip"),
        ("@no_type_check", "no_type_check"),
        ("@typing.no_type_check", "no_type_check"),
        ("@no_type_check_decorator", "no_type_check_decorator"),
    ],
)
def test_a_python_suppression_is_found(line: str, kind: str) -> None:
    assert python("import typing", line, "y = 2") == [(2, kind)]


def test_two_pragmas_in_one_comment_are_two_suppressions() -> None:
    sups = scan("m.py", "x = f()  # type: ignore[misc]  # noqa: E501\n")
    assert [(s.kind, s.text) for s in sups] == [("type: ignore", "# type: ignore[misc]"), ("noqa", "# noqa: E501")]


@pytest.mark.parametrize(
    "line",
    [
        'x = "# noqa"',
        "x = '# type: ignore'",
        'x = f"{y} # noqa"',
        'x = b"# fmt: off"',
        'x = "no_type_check"',
        "# see the noqa documentation",
        '"""Docstring: add # noqa or # type: ignore, or @no_type_check."""',
    ],
)
def test_a_pragma_in_a_string_or_prose_is_not_found(line: str) -> None:
    assert python("y = 1", line) == []


def test_a_multi_line_docstring_is_not_scanned() -> None:
    assert python("def f():", '    """Say why:', "    # noqa", "    # mypy: ignore-errors", '    """') == []


def test_a_pyi_stub_is_python_and_other_files_are_not_scanned() -> None:
    assert found("pkg/mod.pyi", "def f() -> int: ...  # type: ignore") == [(1, "type: ignore")]
    assert found("README.md", "x = 1  # noqa", "#[allow(x)]") == []
    assert found("Cargo.toml", "# noqa") == []


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # an unterminated triple-quoted string: what came before it is still scanned
        (("x = 1  # noqa", 'y = """never closed', "z = 2"), [(1, "noqa")]),
        # bad indentation: both the lines before the break and those after it are scanned
        (
            ("x = 1  # noqa", "if x:", "    a = 1", "  b = 2  # type: ignore", 'c = "# noqa"'),
            [(1, "noqa"), (4, "type: ignore")],
        ),
        # past a break, an unterminated one-line string ends with its line
        (
            ("if x:", "    a = 1", "  b = 'never closed", "y = 2  # noqa", "@no_type_check"),
            [(4, "noqa"), (5, "no_type_check")],
        ),
        # an unclosed bracket runs to the end of the file
        (("x = f(  # noqa",), [(1, "noqa")]),
    ],
    ids=["triple-quote", "indentation", "one-line-string", "bracket"],
)
def test_a_file_that_does_not_tokenize_is_still_scanned(
    lines: tuple[str, ...], expected: list[tuple[int, str]]
) -> None:
    assert python(*lines) == expected


# ---------------------------------------------------------------- added


def write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    pristine, tree = tmp_path / "pristine", tmp_path / "tree"
    write(pristine, "src/lib.rs", "#[allow(dead_code)]\nfn a() {}\n")
    write(tree, "src/lib.rs", "#[allow(dead_code)]\nfn a() {}\n")
    return pristine, tree


def test_a_second_copy_of_a_pristine_suppression_is_reported(roots: tuple[Path, Path]) -> None:
    pristine, tree = roots
    write(tree, "src/lib.rs", "#[allow(dead_code)]\nfn a() {}\n\n#[allow(dead_code)]\nfn b() {}\n")
    assert added(pristine, tree, ["src/lib.rs"]) == [Suppression("src/lib.rs", 4, "allow", "#[allow(dead_code)]")]


def test_an_unchanged_file_reports_nothing(roots: tuple[Path, Path]) -> None:
    assert added(*roots, ["src/lib.rs"]) == []


def test_a_pristine_suppression_may_move_and_be_respaced(roots: tuple[Path, Path]) -> None:
    pristine, tree = roots
    write(tree, "src/lib.rs", "fn a() {}\n\n# [allow(\n    dead_code\n)]\nfn b() {}\n")
    assert added(pristine, tree, ["src/lib.rs"]) == []


def test_a_widened_suppression_is_new(roots: tuple[Path, Path]) -> None:
    pristine, tree = roots
    write(tree, "src/lib.rs", "#[allow(dead_code, unused)]\nfn a() {}\n")
    assert [s.line for s in added(pristine, tree, ["src/lib.rs"])] == [1]


def test_a_new_file_is_reported_in_full_and_a_deleted_one_is_skipped(roots: tuple[Path, Path]) -> None:
    pristine, tree = roots
    write(tree, "src/new.rs", "#![allow(unused)]\n#[rustfmt::skip]\nfn f() {}\n")
    write(tree, "tools/gen.py", "import os  # noqa\n")
    (tree / "src/lib.rs").unlink()
    reported = added(pristine, tree, ["src/lib.rs", "src/new.rs", "tools/gen.py", "src/gone.rs"])
    assert [str(s) for s in reported] == [
        "src/new.rs:1: allow #![allow(unused)]",
        "src/new.rs:2: rustfmt::skip #[rustfmt::skip]",
        "tools/gen.py:1: noqa # noqa",
    ]


def test_a_file_that_is_not_utf8_is_still_scanned(roots: tuple[Path, Path]) -> None:
    pristine, tree = roots
    (tree / "src/lib.rs").write_bytes(b'#[allow(dead_code)]\nconst S: &str = "\xff";\n#[allow(unused)]\n')
    assert [s.line for s in added(pristine, tree, ["src/lib.rs"])] == [3]
