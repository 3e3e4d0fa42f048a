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

import ast
import dataclasses
import itertools
import re
import shutil
import time
import tomllib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .engine.baseline import BaselineError, baseline_for, derive, store, tests_of
from .engine.cleantree import policy
from .engine.corpus import HIDDEN, META, PROMPT, REPO, SOLUTION, FixtureError, FixtureSpec, discover, load_fixture
from .engine.evidence import runner
from .engine.harness import harness_fault
from .engine.sandbox import Sandbox
from .engine.testresults import FAILED, PASSED
from .engine.workspace import iter_files
from .validate import Check, Proof, prove

MAX_TRIES = 6  # candidate changes tried per fixture (each costs a test run, an accepted one a proof)
COPIED = (PROMPT, REPO, SOLUTION, HIDDEN)  # never noncompliant/: a twin has no compliance proof
_JUNK = shutil.ignore_patterns("target", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
# Integer literals that may be their type's MAX (or, negated, MIN): moved toward zero, not away,
# so the twin still compiles.
_MAXES = frozenset({(1 << bits) - 1 for bits in (7, 8, 15, 16, 31, 32, 63, 64, 127, 128)})
_MINS = frozenset({1 << bits for bits in (7, 15, 31, 63, 127)})


class TwinError(Exception):
    """A twin cannot be made (no candidate change, or none that the reference fails)."""


# --- one change to a source file ------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` (within one line) by ``replacement``."""

    start: int
    end: int
    replacement: str
    what: str  # "1 -> 2", for the report
    expected: bool = True  # on the assertion's expected side (tried before the other side's literals)

    def apply(self, source: str) -> str:
        return source[: self.start] + self.replacement + source[self.end :]

    def line(self, source: str) -> int:
        return source.count("\n", 0, self.start) + 1


def _aside(edits: Iterator[Edit]) -> Iterator[Edit]:
    """The same edits, marked as changing the assertion's other (actual, input) side."""
    for edit in edits:
        yield dataclasses.replace(edit, expected=False)


def _one_line(source: str, edits: Iterator[Edit]) -> list[Edit]:
    """The edits that change exactly one line, each offset once, in order."""
    seen: set[tuple[int, int]] = set()
    kept = []
    for edit in edits:
        key = (edit.start, edit.end)
        if key in seen or "\n" in source[edit.start : edit.end] or "\n" in edit.replacement:
            continue
        seen.add(key)
        kept.append(edit)
    return kept


def _moved(value: int, negative: bool) -> int:
    """An integer literal's new magnitude: one step up, or down where it may be its type's bound
    (a MAX, or the magnitude of a MIN), so the change never overflows the literal's type."""
    return value - 1 if value in (_MINS if negative else _MAXES) else value + 1


# --- Rust -----------------------------------------------------------------------------------

_RUST_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*)
  | (?P<block>/\*)
  | (?P<str>b?r(?P<hashes>\#*)"(?:.|\n)*?"(?P=hashes)|b?"(?:\\.|\\\n|[^"\\])*")
  | (?P<char>b?'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^'\\\n])')
  | (?P<lifetime>'[A-Za-z_]\w*)
  | (?P<number>0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d[\d_]*)?)
        (?P<suffix>[iu](?:8|16|32|64|128|size)|f32|f64)?
  | (?P<ident>r\#[A-Za-z_]\w*|[A-Za-z_]\w*)
  | (?P<punct>==|!=|<=|>=|&&|\|\||=>|->|::|\.\.=?|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_KINDS = ("space", "comment", "block", "str", "char", "lifetime", "number", "ident", "punct")
_OPEN, _CLOSE = "([{", ")]}"
_ASSERTS = frozenset({"assert", "assert_eq", "assert_ne", "debug_assert", "debug_assert_eq", "debug_assert_ne"})
# Tokens that end an operand: a `-` after one of them is binary, otherwise it negates a literal.
_OPERAND_END = frozenset({"ident", "number", "str", "char"})
_COMPARISONS = frozenset({"==", "!=", "<", ">", "<=", ">="})
_BINARY = _COMPARISONS | {"&&", "||", "+", "-", "*", "/", "%", "&", "|", "^", "as", "..", "..=", "="}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int
    suffix: str = ""  # a number's type suffix, after ``end``


def rust_tokens(source: str) -> list[Token]:
    """Rust tokens with their offsets; comments and whitespace dropped (enough to find a test's
    body, its assertion macros and their literals, not a full lexer)."""
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        match = _RUST_TOKEN.match(source, position)
        if match is None:  # unreachable: `.` matches any character
            position += 1
            continue
        kind = next(k for k in _KINDS if match.group(k) is not None)
        if kind == "block":
            position = _block_comment_end(source, match.start())
            continue
        if kind not in ("space", "comment"):
            # A number's token is its digits; its type suffix (`u8`, `f64`) is kept apart, unchanged.
            end = match.end(kind)
            tokens.append(Token(kind, source[match.start() : end], match.start(), end, match.group("suffix") or ""))
        position = match.end()
    return tokens


def _block_comment_end(source: str, start: int) -> int:
    depth, position = 0, start
    while position < len(source):
        if source.startswith("/*", position):
            depth, position = depth + 1, position + 2
        elif source.startswith("*/", position):
            depth, position = depth - 1, position + 2
            if depth == 0:
                return position
        else:
            position += 1
    return position


def _matching(tokens: list[Token], index: int) -> int:
    """Index of the bracket that closes ``tokens[index]`` (len(tokens) when unbalanced)."""
    depth = 0
    for i in range(index, len(tokens)):
        text = tokens[i].text if tokens[i].kind == "punct" else ""
        if text and text in _OPEN:
            depth += 1
        elif text and text in _CLOSE:
            depth -= 1
            if depth == 0:
                return i
    return len(tokens)


def _rust_body(tokens: list[Token], function: str) -> tuple[int, int] | None:
    """Token range of ``fn function``'s body (inside its braces)."""
    for i in range(len(tokens) - 1):
        if tokens[i].text == "fn" and tokens[i + 1].kind == "ident" and tokens[i + 1].text == function:
            j = i + 2
            while j < len(tokens) and tokens[j].text != ";":  # `;` first: a declaration, no body
                if tokens[j].text == "{":
                    return j + 1, _matching(tokens, j)
                j = _matching(tokens, j) + 1 if tokens[j].text in ("(", "[") else j + 1
    return None


def _split_args(tokens: list[Token], start: int, end: int) -> list[tuple[int, int]]:
    """Index ranges of the comma-separated arguments in ``tokens[start:end]``."""
    args: list[tuple[int, int]] = []
    depth, first = 0, start
    for i in range(start, end):
        text = tokens[i].text if tokens[i].kind == "punct" else ""
        if text and text in _OPEN:
            depth += 1
        elif text and text in _CLOSE:
            depth -= 1
        elif depth == 0 and text == ",":
            args.append((first, i))
            first = i + 1
    args.append((first, end))
    return [(a, b) for a, b in args if b > a]


def _depth0(tokens: list[Token], start: int, end: int) -> list[int]:
    """Indexes of the tokens in ``tokens[start:end]`` outside any brackets."""
    found, depth = [], 0
    for i in range(start, end):
        text = tokens[i].text if tokens[i].kind == "punct" else ""
        if text and text in _OPEN:
            depth += 1
        elif text and text in _CLOSE:
            depth -= 1
        elif depth == 0:
            found.append(i)
    return found


def _unary(tokens: list[Token], index: int) -> bool:
    """Whether the ``-`` at ``tokens[index]`` negates (rather than subtracts)."""
    if index == 0:
        return True
    before = tokens[index - 1]
    return not (before.kind in _OPERAND_END or before.text in (")", "]", "}", "?"))


def _rust_number(token: Token, negative: bool) -> Edit | None:
    digits = token.text.replace("_", "")
    sign = "-" if negative else ""
    if re.fullmatch(r"\d+", digits):
        new = _moved(int(digits), negative)
        text = f"{new:_}" if "_" in token.text else str(new)
    elif re.fullmatch(r"0[xob][0-9a-fA-F]+", digits):
        new = _moved(int(digits, 0), negative)
        text = digits[:2] + format(new, digits[1])
    elif re.fullmatch(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", digits):
        text = repr(float(digits) + 1)  # a float's magnitude: no type bound is near
        if not re.fullmatch(r"\d+\.\d+", text):
            return None
    else:
        return None
    return Edit(token.start, token.end, text, f"{sign}{token.text}{token.suffix} -> {sign}{text}{token.suffix}")


def _rust_literals(source: str, tokens: list[Token], start: int, end: int) -> Iterator[Edit]:
    """Edits that change one literal in ``tokens[start:end]``: scalars first, in order, then
    ``Some(..)`` -> ``None``."""
    later: list[Edit] = []
    for index in range(start, end):
        token = tokens[index]
        before = tokens[index - 1] if index else None
        if token.kind == "number":
            if before is not None and before.text == ".":
                continue  # a tuple field (`pair.0`), not a value
            negative = before is not None and before.text == "-" and _unary(tokens, index - 1)
            edit = _rust_number(token, negative)
            if edit is not None:
                yield edit
        elif token.kind == "str":
            closing = len(token.text) - len(token.text.rstrip("#")) + 1  # `"` or `"#...`
            at = token.end - closing
            text = token.text
            yield Edit(at, at, "~", f"{text} -> {text[: len(text) - closing]}~{text[len(text) - closing :]}")
        elif token.kind == "char":
            prefix = token.text[: token.text.index("'") + 1]  # `'` or `b'`
            new = prefix + ("b" if token.text[len(prefix) : -1] == "a" else "a") + "'"
            yield Edit(token.start, token.end, new, f"{token.text} -> {new}")
        elif token.kind == "ident" and token.text in ("true", "false"):
            new = "false" if token.text == "true" else "true"
            yield Edit(token.start, token.end, new, f"{token.text} -> {new}")
        elif token.kind == "ident" and token.text == "Some" and index + 1 < end and tokens[index + 1].text == "(":
            close = _matching(tokens, index + 1)
            if close < end:
                text = source[token.start : tokens[close].end]
                later.append(Edit(token.start, tokens[close].end, "None", f"{text} -> None"))
    yield from later


def _rust_negation(source: str, tokens: list[Token], start: int, end: int) -> Edit | None:
    """``assert!(cond)`` -> ``assert!(!cond)`` (``!cond`` -> ``cond``): the assertion's expected
    truth value swapped, where ``cond`` is one operand (no binary operator outside brackets)."""
    first, last = tokens[start], tokens[end - 1]
    whole = source[first.start : last.end]
    negated = first.text == "!"
    if any(tokens[i].text in _BINARY or (tokens[i].text == "!" and i > start) for i in _depth0(tokens, start, end)):
        return None  # `!(a == b)` would trip clippy's nonminimal_bool; literal changes cover comparisons
    if negated:
        operand = tokens[start + 1].start
        return Edit(first.start, operand, "", f"{whole} -> {source[operand : last.end]}")
    return Edit(first.start, first.start, "!", f"{whole} -> !{whole}")


def _rust_assertion_edits(source: str, tokens: list[Token], name: str, args: list[tuple[int, int]]) -> Iterator[Edit]:
    if name.endswith(("_eq", "_ne")):
        if len(args) >= 2:  # expected side (the second argument by convention) first; no message
            yield from _rust_literals(source, tokens, *args[1])
            yield from _aside(_rust_literals(source, tokens, *args[0]))
        return
    if not args:
        return
    start, end = args[0]
    compare = next((i for i in _depth0(tokens, start, end) if tokens[i].text in _COMPARISONS), None)
    if compare is not None:
        yield from _rust_literals(source, tokens, compare + 1, end)
        yield from _aside(_rust_literals(source, tokens, start, compare))
        return
    # A bare condition: its expected value is `true`; negating it is the expected-side change.
    negation = _rust_negation(source, tokens, start, end)
    if negation is not None:
        yield negation
    yield from _aside(_rust_literals(source, tokens, start, end))


def rust_edits(source: str, function: str) -> list[Edit]:
    """Candidate changes to the assertions of Rust test ``function``, in order: its assertions as
    they come, each its expected side first."""
    tokens = rust_tokens(source)
    body = _rust_body(tokens, function)
    if body is None:
        return []

    def edits() -> Iterator[Edit]:
        i, end = body
        while i < end:
            token = tokens[i]
            macro = token.kind == "ident" and token.text in _ASSERTS and i + 2 < end and tokens[i + 1].text == "!"
            if macro and tokens[i + 2].text in _OPEN:
                close = _matching(tokens, i + 2)
                yield from _rust_assertion_edits(source, tokens, token.text, _split_args(tokens, i + 3, close))
                i = close
            i += 1

    return _one_line(source, edits())


# --- Python ---------------------------------------------------------------------------------


class _Lines:
    """Offsets in a source from ast positions (line numbers, UTF-8 byte columns)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = re.findall(r"[^\n]*\n|[^\n]+$", source)  # as ast counts lines (not str.splitlines)
        self.starts = list(itertools.accumulate((len(line) for line in self.lines), initial=0))

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end


def _constants(node: ast.AST) -> Iterator[ast.Constant]:
    """Literal constants in ``node`` in source order, f-strings left out."""
    if isinstance(node, ast.JoinedStr):
        return
    if isinstance(node, ast.Constant):
        yield node
        return
    for child in sorted(ast.iter_child_nodes(node), key=_position):
        yield from _constants(child)


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def _python_literal(lines: _Lines, node: ast.Constant) -> Edit | None:
    start, end = lines.span(node)
    text = lines.source[start:end]
    value = node.value
    if isinstance(value, bool):
        return Edit(start, end, str(not value), f"{value} -> {not value}")
    if isinstance(value, int):
        return Edit(start, end, str(value + 1), f"{value} -> {value + 1}")
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return Edit(start, end, repr(value + 1), f"{text} -> {value + 1!r}")
    if isinstance(value, (str, bytes)):
        closing = 3 if text.endswith(('"""', "'''")) else 1
        last = text.splitlines()[-1].strip()  # an implicitly joined string changes on its last line
        return Edit(end - closing, end - closing, "~", f"{last} -> {last[:-closing]}~{last[-closing:]}")
    return None  # None, Ellipsis, complex: no simple contradicting literal


def _python_literals(lines: _Lines, nodes: Sequence[ast.AST]) -> Iterator[Edit]:
    for node in nodes:
        for constant in _constants(node):
            edit = _python_literal(lines, constant)
            if edit is not None:
                yield edit


def _python_negation(lines: _Lines, test: ast.expr) -> Edit | None:
    start, end = lines.span(test)
    text = lines.source[start:end]
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner, _ = lines.span(test.operand)
        return Edit(start, inner, "", f"{text} -> {lines.source[inner:end]}")
    if isinstance(test, (ast.BoolOp, ast.IfExp, ast.Lambda, ast.NamedExpr)):
        return None  # would need parentheses around a possibly multi-line test
    return Edit(start, start, "not ", f"{text} -> not {text}")


def _assertions(lines: _Lines, function: ast.AST) -> Iterator[Edit]:
    """Changes to the function's assertions (``assert``; ``self.assertX(actual, expected)``) as they
    come: each one's expected side first (a bare ``assert cond`` expects true: it is negated),
    then the literals of its other side."""
    found: list[ast.AST] = []
    for node in ast.walk(function):
        call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if isinstance(node, ast.Assert) or (call and node.func.attr.startswith("assert")):  # type: ignore[attr-defined]
            found.append(node)
    for node in sorted(found, key=_position):
        if isinstance(node, ast.Call):
            yield from _python_literals(lines, node.args[1:2])
            yield from _aside(_python_literals(lines, node.args[:1]))
            continue
        assert isinstance(node, ast.Assert)
        test = node.test
        if isinstance(test, ast.Compare):
            # `x == expected`; `"needle" in haystack`: the needle is what the test expects.
            membership = isinstance(test.ops[0], (ast.In, ast.NotIn))
            expected, other = ([test.left], test.comparators) if membership else (test.comparators, [test.left])
            yield from _python_literals(lines, expected)
            yield from _aside(_python_literals(lines, other))
            continue
        negation = _python_negation(lines, test)  # a bare condition is expected true
        if negation is not None:
            yield negation
        yield from _aside(_python_literals(lines, [test]))


def _find_function(
    tree: ast.Module, classes: Sequence[str], name: str
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    scope: list[ast.stmt] = tree.body
    for cls in classes:
        found = next((n for n in scope if isinstance(n, ast.ClassDef) and n.name == cls), None)
        if found is None:
            return None
        scope = found.body
    return next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name), None)


@dataclass
class _Parametrize:
    names: list[str]
    entries: list[list[ast.expr]]  # each entry's values, one per name
    ids: list[str]


def _parametrizations(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[_Parametrize]:
    """The function's ``@pytest.mark.parametrize`` decorators, closest to ``def`` first (the order
    pytest joins their ids in); [] when one of them cannot be read."""
    found = []
    for decorator in reversed(function.decorator_list):
        if not (isinstance(decorator, ast.Call) and len(decorator.args) >= 2):
            continue
        if isinstance(decorator.func, ast.Attribute) and decorator.func.attr == "parametrize":
            read = _parametrize(decorator)
            if read is None:
                return []
            found.append(read)
    return found


def _argnames(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [n.strip() for n in node.value.split(",") if n.strip()]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return None


def _literal(node: ast.expr | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _parametrize(decorator: ast.Call) -> _Parametrize | None:
    names, argvalues = _argnames(decorator.args[0]), decorator.args[1]
    if names is None or not isinstance(argvalues, (ast.List, ast.Tuple)):
        return None
    explicit = next((k.value for k in decorator.keywords if k.arg == "ids"), None)
    given = [_literal(e) for e in explicit.elts] if isinstance(explicit, (ast.List, ast.Tuple)) else []
    entries, ids = [], []
    for index, element in enumerate(argvalues.elts):
        label = given[index] if index < len(given) else None
        if isinstance(element, ast.Call) and isinstance(element.func, ast.Attribute) and element.func.attr == "param":
            values = list(element.args)
            label = next((_literal(k.value) for k in element.keywords if k.arg == "id"), label)
        elif len(names) > 1 and isinstance(element, (ast.Tuple, ast.List)):
            values = list(element.elts)
        else:
            values = [element]
        if len(values) != len(names):
            return None
        entries.append(values)
        generated = "-".join(_idval(v, n, index) for v, n in zip(values, names, strict=True))
        ids.append(str(label) if label is not None else generated)
    return _Parametrize(names, entries, ids)


def _idval(node: ast.expr, name: str, index: int) -> str:
    """pytest's id for one parameter value (strings, numbers, booleans, None; else name+index)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = node.operand.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(-value)
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            return value.encode("unicode_escape").decode("ascii")
        if isinstance(value, bytes):
            return value.decode("ascii", "backslashreplace")
        if value is None or isinstance(value, (int, float, bool)):
            return str(value)
    return f"{name}{index}"


def _compared_names(function: ast.AST) -> list[str]:
    """Names the assertions compare against, expected side first."""
    names: list[str] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
            for side in [*node.test.comparators, node.test.left]:
                if isinstance(side, ast.Name) and side.id not in names:
                    names.append(side.id)
    return names


def _parameter_edits(
    lines: _Lines, function: ast.FunctionDef | ast.AsyncFunctionDef, param: str
) -> tuple[list[Edit], list[Edit]]:
    """(changes to the expected value of the parameter set named ``param``, changes to its other
    values): the test keeps its assertion, one parameter set contradicts the task."""
    decorators = _parametrizations(function)
    if not decorators:
        return [], []
    for combination in itertools.product(*(range(len(d.ids)) for d in decorators)):
        if "-".join(d.ids[i] for d, i in zip(decorators, combination, strict=True)) == param:
            break
    else:
        return [], []
    chosen = [
        pair for d, i in zip(decorators, combination, strict=True) for pair in zip(d.names, d.entries[i], strict=True)
    ]
    values = dict(chosen)
    compared = [name for name in _compared_names(function) if name in values]
    expected = list(_python_literals(lines, [values[name] for name in compared]))
    rest = [value for name, value in reversed(chosen) if name not in compared]
    return expected, list(_aside(_python_literals(lines, rest)))


def python_edits(source: str, function: str, classes: Sequence[str] = (), param: str | None = None) -> list[Edit]:
    """Candidate changes for pytest test ``function`` (in ``classes``), in order: for a
    parametrized one (``param``: its id), the expected value of that parameter set; then the
    literals of its assertions as they come, each its expected side first; then the parameter
    set's other values."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    node = _find_function(tree, classes, function)
    if node is None:
        return []
    lines = _Lines(source)
    expected, others = _parameter_edits(lines, node, param) if param else ([], [])
    body = ast.Module(body=node.body, type_ignores=[])
    return _one_line(source, itertools.chain(expected, _assertions(lines, body), others))


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
            shutil.copytree(source, destination / name, symlinks=True, ignore=_JUNK)
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

    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        return list(pool.map(one, places.items()))
