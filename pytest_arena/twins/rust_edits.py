"""Candidate changes to a Rust test function's assertions, found with a small tokenizer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..engine.suppressions import block_comment_end
from .edits import Edit, _aside, _moved, _one_line

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
            position = block_comment_end(source, match.start())
            continue
        if kind not in ("space", "comment"):
            # A number's token is its digits; its type suffix (`u8`, `f64`) is kept apart, unchanged.
            end = match.end(kind)
            tokens.append(Token(kind, source[match.start() : end], match.start(), end, match.group("suffix") or ""))
        position = match.end()
    return tokens


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
