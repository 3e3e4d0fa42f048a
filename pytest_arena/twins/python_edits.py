"""Candidate changes to a Python test function's assertions (and its parametrize cases), by ast."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .edits import Edit, _aside, _one_line

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
