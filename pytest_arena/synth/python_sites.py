"""Mutation sites in Python source, found with :mod:`ast` (positions are UTF-8 byte offsets, so
every mutant replaces exact source bytes and keeps the file's formatting elsewhere)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from .mutants import BOUNDARY, FLIP, Mutant, line_of, whole_lines

_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_ARITH = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "//"), ast.FloorDiv: ("//", "*")}
_ARITH |= {ast.Mod: ("%", "//")}
_BOOL = {ast.And: ("and", "or"), ast.Or: ("or", "and")}
_DEFAULTS = {"int": "0", "float": "0.0", "str": '""', "bool": "False", "None": "None", "list": "[]", "dict": "{}"}
_DEFAULTS |= {"set": "set()", "List": "[]", "Dict": "{}", "Optional": "None"}
_DELETABLE = (ast.Expr, ast.AugAssign, ast.Assign, ast.AnnAssign, ast.Continue, ast.Break)


class _Finder(ast.NodeVisitor):
    def __init__(self, file: str, source: bytes) -> None:
        self.file, self.source = file, source
        self.starts = [0]
        for match in re.finditer(b"\n", source):
            self.starts.append(match.end())
        self.scope: list[str] = []
        self.found: list[Mutant] = []

    # -- positions --------------------------------------------------------------------------

    def at(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.at(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.at(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def text(self, node: ast.AST) -> bytes:
        start, end = self.span(node)
        return self.source[start:end]

    def add(self, operator: str, start: int, end: int, replacement: str | bytes) -> None:
        if not self.scope:
            return  # module-level constants and tables are data, not behaviour to fix
        new = replacement.encode() if isinstance(replacement, str) else replacement
        if new == self.source[start:end]:
            return
        line = line_of(self.source, start)
        self.found.append(Mutant(self.file, start, end, operator, new, line, ".".join(self.scope)))

    def token(self, left: ast.AST, right: ast.AST, word: str) -> tuple[int, int] | None:
        """The operator token between two operands (outside any parentheses around them)."""
        gap_start, gap_end = self.span(left)[1], self.span(right)[0]
        gap = self.source[gap_start:gap_end]
        match = re.search(rb"(?<![\w<>=!])" + re.escape(word.encode()) + rb"(?![\w<>=])", gap)
        if match is None or gap.replace(word.encode(), b"", 1).strip(b" \t\n()\\"):
            return None
        return gap_start + match.start(), gap_start + match.end()

    # -- scopes -----------------------------------------------------------------------------

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        for statement in node.body:  # a class body's own statements are declarations
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.visit(statement)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self._default_return(node)
        self._deletions(node.body)
        for statement in node.body:
            self.visit(statement)
        self.scope.pop()

    # -- operators --------------------------------------------------------------------------

    def visit_Compare(self, node: ast.Compare) -> None:
        if len(node.ops) == 1 and type(node.ops[0]) in _CMP:
            word = _CMP[type(node.ops[0])]
            place = self.token(node.left, node.comparators[0], word)
            if place is not None:
                self.add("comparison_flip", *place, FLIP[word])
                if word in BOUNDARY:
                    self.add("comparison_boundary", *place, BOUNDARY[word])
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        pair = _ARITH.get(type(node.op))
        if pair is not None:
            place = self.token(node.left, node.right, pair[0])
            if place is not None:
                self.add("arithmetic_swap", *place, pair[1])
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        pair = _ARITH.get(type(node.op))
        if pair is not None:
            place = self.token(node.target, node.value, pair[0] + "=")
            if place is not None:
                self.add("arithmetic_swap", *place, pair[1] + "=")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        old, new = _BOOL[type(node.op)]
        for left, right in zip(node.values, node.values[1:], strict=False):
            place = self.token(left, right, old)
            if place is not None:
                self.add("boolean_swap", *place, new)
        self.generic_visit(node)

    def _negate(self, test: ast.expr) -> None:
        start, end = self.span(test)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            self.add("condition_negate", start, end, self.text(test.operand))
        elif isinstance(test, (ast.Name, ast.Call, ast.Attribute, ast.Subscript)):
            self.add("condition_negate", start, end, b"not " + self.text(test))
        else:
            self.add("condition_negate", start, end, b"not (" + self.text(test) + b")")

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):  # a boolean expression negated wherever it stands
            start, end = self.span(node)
            self.add("condition_negate", start, end, self.text(node.operand))
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # the annotation is a type, not behaviour
            self.visit(node.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        if type(node.value) is int and self.text(node).isdigit():
            start, end = self.span(node)
            self.add("off_by_one", start, end, str(node.value + 1))
            if node.value > 0:
                self.add("off_by_one", start, end, str(node.value - 1))

    def visit_Subscript(self, node: ast.Subscript) -> None:
        index = node.slice
        if isinstance(index, ast.Name) and isinstance(node.ctx, ast.Load):
            start, end = self.span(index)
            self.add("off_by_one", start, end, self.text(index) + b" + 1")
            self.add("off_by_one", start, end, self.text(index) + b" - 1")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "range" and len(node.args) in (1, 2):
            end_arg = node.args[-1]
            if not isinstance(end_arg, ast.Constant):  # a literal end is already an off_by_one site
                start, end = self.span(end_arg)
                self.add("off_by_one", start, end, self.text(end_arg) + b" + 1")
                self.add("off_by_one", start, end, self.text(end_arg) + b" - 1")
        for left, right in zip(node.args, node.args[1:], strict=False):
            if _same_kind(left, right) and self.text(left) != self.text(right):
                start, end = self.span(left)[0], self.span(right)[1]
                gap = self.source[self.span(left)[1] : self.span(right)[0]]
                self.add("argument_swap", start, end, self.text(right) + gap + self.text(left))
        self.generic_visit(node)

    def _default_return(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        value = _default_for(node.returns)
        body = node.body
        first = 1 if _is_docstring(body[0]) else 0
        if value is None or first >= len(body) or isinstance(body[first], ast.Return):
            return
        start = self.span(body[first])[0]
        line_start = self.source.rfind(b"\n", 0, start) + 1
        indent = self.source[line_start:start]
        if indent.strip():
            return
        self.add("default_return", line_start, line_start, indent + f"return {value}\n".encode())

    def _deletions(self, body: list[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, _DELETABLE) and not _is_docstring(statement):
                lines = whole_lines(self.source, *self.span(statement))
                if lines is None:
                    continue
                if len([s for s in body if not _is_docstring(s)]) == 1:
                    start, end = self.span(statement)
                    self.add("statement_delete", start, end, b"pass")
                else:
                    self.add("statement_delete", *lines, b"")
            for inner in ("body", "orelse", "finalbody"):
                block = getattr(statement, inner, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    self._deletions(block)


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _same_kind(left: ast.expr, right: ast.expr) -> bool:
    if isinstance(left, ast.Constant) and isinstance(right, ast.Constant):
        return type(left.value) is type(right.value)
    return type(left) is type(right) and isinstance(left, (ast.Name, ast.Attribute))


def _default_for(annotation: ast.expr | None) -> str | None:
    """The default value of a simple return annotation (int: 0, list[str]: [], X | None: None)."""
    if annotation is None:
        return None
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return "None"
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        if any(isinstance(side, ast.Constant) and side.value is None for side in (annotation.left, annotation.right)):
            return "None"
        return None
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    if isinstance(annotation, ast.Name):
        return _DEFAULTS.get(annotation.id)
    return None


def python_sites(file: str, source: bytes) -> Iterator[Mutant]:
    """Every mutant of one Python file; none for a file that does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return iter(())
    finder = _Finder(file, source)
    finder.visit(tree)
    return iter(finder.found)
