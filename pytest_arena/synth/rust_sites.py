"""Mutation sites in Rust source, found with tree-sitter's Rust grammar (byte ranges of the
syntax tree's nodes, so every mutant replaces exact source bytes). Test modules are skipped."""

from __future__ import annotations

from collections.abc import Iterator

import tree_sitter_rust
from tree_sitter import Language, Node, Parser

from .mutants import BOUNDARY, FLIP, Mutant, line_of, whole_lines

_ARITH = {"+": "-", "-": "+", "*": "/", "/": "*", "%": "/"}
_BOOL = {"&&": "||", "||": "&&"}
_INTEGERS = {"u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize"}
_DEFAULTS = {"bool": "false", "f32": "0.0", "f64": "0.0", "String": "String::new()", "Vec": "Vec::new()"}
_DEFAULTS |= {"Option": "None"} | dict.fromkeys(_INTEGERS, "0")
_STATEMENTS = {"call_expression", "compound_assignment_expr", "assignment_expression", "macro_invocation"}
_SAME_KIND = {"identifier", "integer_literal", "string_literal", "field_expression", "char_literal"}
_PARSER = Parser(Language(tree_sitter_rust.language()))


class _Finder:
    def __init__(self, file: str, source: bytes) -> None:
        self.file, self.source = file, source
        self.scope: list[str] = []
        self.found: list[Mutant] = []

    def text(self, node: Node) -> bytes:
        return self.source[node.start_byte : node.end_byte]

    def add(self, operator: str, start: int, end: int, replacement: str | bytes) -> None:
        if not self.scope:
            return  # consts and statics are data, not behaviour to fix
        new = replacement.encode() if isinstance(replacement, str) else replacement
        if new != self.source[start:end]:
            line = line_of(self.source, start)
            self.found.append(Mutant(self.file, start, end, operator, new, line, "::".join(self.scope)))

    def visit(self, node: Node) -> None:
        if _is_test_code(node):
            return
        kind = node.type
        named = kind in ("function_item", "impl_item", "trait_item")
        if named:
            self.scope.append(_name_of(node, self.source))
        handler = getattr(self, f"on_{kind}", None)
        if handler is not None:
            handler(node)
        for child in node.children:
            self.visit(child)
        if named:
            self.scope.pop()

    # -- operators --------------------------------------------------------------------------

    def on_binary_expression(self, node: Node) -> None:
        operator = node.child_by_field_name("operator")
        if operator is None:
            return
        word = operator.type
        start, end = operator.start_byte, operator.end_byte
        if word in FLIP:
            self.add("comparison_flip", start, end, FLIP[word])
        if word in BOUNDARY:
            self.add("comparison_boundary", start, end, BOUNDARY[word])
        if word in _ARITH:
            self.add("arithmetic_swap", start, end, _ARITH[word])
        if word in _BOOL:
            self.add("boolean_swap", start, end, _BOOL[word])

    def on_compound_assignment_expr(self, node: Node) -> None:
        operator = node.child_by_field_name("operator")
        if operator is not None and operator.type[:-1] in _ARITH:
            self.add("arithmetic_swap", operator.start_byte, operator.end_byte, _ARITH[operator.type[:-1]] + "=")

    def _negate(self, node: Node) -> None:
        condition = node.child_by_field_name("condition")
        if condition is None or condition.type in ("let_condition", "let_chain"):
            return
        text = self.text(condition)
        if condition.type == "unary_expression" and text.startswith(b"!"):
            operand = condition.named_children[0]
            replacement = self.text(operand)
            if operand.type == "parenthesized_expression":
                replacement = replacement[1:-1]
            self.add("condition_negate", condition.start_byte, condition.end_byte, replacement)
        elif condition.type in ("identifier", "call_expression", "field_expression", "method_call_expression"):
            self.add("condition_negate", condition.start_byte, condition.end_byte, b"!" + text)
        else:
            self.add("condition_negate", condition.start_byte, condition.end_byte, b"!(" + text + b")")

    def on_unary_expression(self, node: Node) -> None:
        if self.text(node).startswith(b"!") and node.named_children:  # negated wherever it stands
            operand = node.named_children[0]
            replacement = self.text(operand)
            if operand.type == "parenthesized_expression":
                replacement = replacement[1:-1]
            self.add("condition_negate", node.start_byte, node.end_byte, replacement)

    on_if_expression = _negate
    on_while_expression = _negate

    def on_integer_literal(self, node: Node) -> None:
        text = self.text(node).decode()
        digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
        suffix = text[len(digits) :]
        if not digits.replace("_", "").isdigit() or (node.parent is not None and node.parent.type == "array_type"):
            return
        value = int(digits.replace("_", ""))
        self.add("off_by_one", node.start_byte, node.end_byte, f"{value + 1}{suffix}")
        if value > 0:
            self.add("off_by_one", node.start_byte, node.end_byte, f"{value - 1}{suffix}")

    def _plus_minus(self, node: Node | None) -> None:
        if node is not None and node.type == "identifier":
            for sign in (" + 1", " - 1"):
                self.add("off_by_one", node.start_byte, node.end_byte, self.text(node) + sign.encode())

    def on_range_expression(self, node: Node) -> None:
        if node.named_child_count == 2:
            self._plus_minus(node.named_children[1])

    def on_index_expression(self, node: Node) -> None:
        if node.named_child_count == 2:
            self._plus_minus(node.named_children[1])

    def on_arguments(self, node: Node) -> None:
        arguments = node.named_children
        for left, right in zip(arguments, arguments[1:], strict=False):
            if left.type == right.type and left.type in _SAME_KIND and self.text(left) != self.text(right):
                gap = self.source[left.end_byte : right.start_byte]
                self.add("argument_swap", left.start_byte, right.end_byte, self.text(right) + gap + self.text(left))

    def on_function_item(self, node: Node) -> None:
        returns, body = node.child_by_field_name("return_type"), node.child_by_field_name("body")
        if returns is None or body is None:
            return
        head = returns.child_by_field_name("type") if returns.type == "generic_type" else returns
        default = _DEFAULTS.get(self.text(head or returns).decode())
        tail = body.named_children[-1] if body.named_children else None
        ends = ("statement", "declaration", "item", "comment")
        if default is not None and tail is not None and not tail.type.endswith(ends):
            self.add("default_return", tail.start_byte, tail.end_byte, default)
        if default is not None:
            for node_return in _descendants(body, "return_expression"):
                value = node_return.named_children[0] if node_return.named_children else None
                if value is not None:
                    self.add("default_return", value.start_byte, value.end_byte, default)

    def on_block(self, node: Node) -> None:
        statements = [c for c in node.named_children if c.type == "expression_statement"]
        for statement in statements:
            inner = statement.named_children[0] if statement.named_children else None
            if inner is None or inner.type not in _STATEMENTS or not self.text(statement).endswith(b";"):
                continue
            lines = whole_lines(self.source, statement.start_byte, statement.end_byte)
            if lines is not None:
                self.add("statement_delete", *lines, b"")


def _descendants(node: Node, kind: str) -> Iterator[Node]:
    for child in node.children:
        if child.type == kind:
            yield child
        if child.type not in ("closure_expression", "function_item"):
            yield from _descendants(child, kind)


def _name_of(node: Node, source: bytes) -> str:
    name = node.child_by_field_name("name") or node.child_by_field_name("type")
    return source[name.start_byte : name.end_byte].decode() if name is not None else "?"


def _is_test_code(node: Node) -> bool:
    """A ``mod tests`` or any item under ``#[cfg(test)]`` / ``#[test]``."""
    if node.type == "mod_item":
        name = node.child_by_field_name("name")
        if name is not None and name.text == b"tests":
            return True
    if node.type in ("mod_item", "function_item"):
        previous = node.prev_named_sibling
        while previous is not None and previous.type == "attribute_item":
            text = previous.text or b""
            if b"cfg(test)" in text or text.replace(b" ", b"") in (b"#[test]",):
                return True
            previous = previous.prev_named_sibling
    return False


def rust_sites(file: str, source: bytes) -> Iterator[Mutant]:
    """Every mutant of one Rust file; none for a file with syntax errors."""
    tree = _PARSER.parse(source)
    if tree.root_node.has_error:
        return iter(())
    finder = _Finder(file, source)
    finder.visit(tree.root_node)
    return iter(finder.found)
