"""Lint suppressions a student added: the oracle refuses a fix that silences the linter instead of
satisfying it, while suppressions the pristine fixture already carries stay allowed.

Only real comments and attributes count; text inside string literals never does, so both
languages are tokenized rather than searched with a regex over the raw file."""

from __future__ import annotations

import io
import re
import tokenize
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath


@dataclass(frozen=True)
class Suppression:
    path: str  # relative POSIX path
    line: int  # 1-based
    kind: str  # short label: "allow", "cfg_attr(allow)", "noqa", "type: ignore", ...
    text: str  # normalized, so that reformatting a pristine suppression does not make it new

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} {self.text}"


def scan(path: str, text: str) -> list[Suppression]:
    """The suppressions in one file's ``text``; a file that is neither Rust nor Python has none."""
    path = PurePath(path).as_posix()
    suffix = PurePath(path).suffix
    if suffix == ".rs":
        return _scan_rust(path, text)
    if suffix in (".py", ".pyi"):
        return _scan_python(path, text)
    return []


def added(pristine_root: Path, tree_root: Path, paths: Iterable[str]) -> list[Suppression]:
    """Suppressions in ``tree_root`` beyond what the same file in ``pristine_root`` already has.

    Pristine suppressions are a multiset of (kind, text), not of positions: moving one to another
    line is allowed, a second copy is not. The later occurrences are the ones reported."""
    found: list[Suppression] = []
    for rel in paths:
        tree_text = _read(tree_root / rel)
        if tree_text is None:  # deleted (or unreadable, and then no build can read it either)
            continue
        allowed = Counter((s.kind, s.text) for s in scan(rel, _read(pristine_root / rel) or ""))
        for sup in sorted(scan(rel, tree_text), key=lambda s: s.line):
            key = (sup.kind, sup.text)
            if allowed[key] > 0:
                allowed[key] -= 1
            else:
                found.append(sup)
    return found


def _read(path: Path) -> str | None:
    try:
        if not path.is_file():
            return None
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


def _collapse(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------- Python

# Anchored at a "#" so prose that merely mentions a tool ("see the noqa docs") is not a pragma;
# a second "#" inside one comment ("# noqa # type: ignore") starts another match.
_PY_PRAGMA = re.compile(
    r"#\s*(?:(?:ruff|flake8)\s*:\s*noqa|noqa\b|type\s*:\s*ignore|pyright\s*:\s*[\w-]*|mypy\s*:"
    r"|fmt\s*:\s*(?:off|skip)|pylint\s*:\s*(?:disable|skip)[\w-]*|isort\s*:\s*(?:skip|off)\w*"
    r"|pyre-(?:ignore|fixme))",
    re.IGNORECASE,
)
_PY_NAMES = frozenset({"no_type_check", "no_type_check_decorator"})
_PY_NAME_RE = re.compile(r"\b(no_type_check(?:_decorator)?)\b")


def _comment_hits(path: str, line: int, comment: str) -> Iterator[Suppression]:
    for m in _PY_PRAGMA.finditer(comment):
        kind = re.sub(r"\s*:\s*", ": ", _collapse(m.group()[1:]).lower()).strip()
        end = comment.find("#", m.start() + 1)
        segment = comment[m.start() + 1 : end if end >= 0 else len(comment)]
        yield Suppression(path, line, kind, "# " + _collapse(segment))


def _scan_python(path: str, text: str) -> list[Suppression]:
    found: list[Suppression] = []
    resume = (1, 0)  # just past the last whole token: a clean place to restart a fallback scan
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                found.extend(_comment_hits(path, tok.start[0], tok.string))
            elif tok.type == tokenize.NAME and tok.string in _PY_NAMES:
                found.append(Suppression(path, tok.start[0], tok.string, tok.string))
            resume = tok.end
    except (tokenize.TokenError, SyntaxError):  # IndentationError and TabError are SyntaxErrors
        # A broken file still reaches the linter and the student's eyes: scan the rest by hand.
        found.extend(_scan_python_lines(path, io.StringIO(text).readlines(), resume))
    return found


def _scan_python_lines(path: str, lines: list[str], start: tuple[int, int]) -> Iterator[Suppression]:
    """A conservative scan of ``lines`` from ``start`` (row, col) that only knows quotes and comments."""
    quote: str | None = None
    for row in range(start[0], len(lines) + 1):
        line = lines[row - 1][start[1] :] if row == start[0] else lines[row - 1]
        quote, code, comment = _split_python_line(line, quote)
        for m in _PY_NAME_RE.finditer(code):
            yield Suppression(path, row, m.group(1), m.group(1))
        yield from _comment_hits(path, row, comment)
        if quote is not None and len(quote) == 1:
            quote = None  # a one-line string ends with its line, terminated or not


def _split_python_line(line: str, quote: str | None) -> tuple[str | None, str, str]:
    """(quote still open at the end, code outside strings, the comment) for one line."""
    code: list[str] = []
    k = 0
    while k < len(line):
        ch = line[k]
        if quote is not None:
            if line.startswith(quote, k):
                k += len(quote)
                quote = None
            else:
                k += 2 if ch == "\\" else 1
        elif ch == "#":
            return quote, "".join(code), line[k:]
        elif ch in "'\"":
            quote = ch * 3 if line.startswith(ch * 3, k) else ch
            k += len(quote)
            code.append(" ")  # a string separates names: "a'x'b" must not read as "ab"
        else:
            code.append(ch)
            k += 1
    return quote, "".join(code), ""


# ---------------------------------------------------------------- Rust


@dataclass(frozen=True)
class _Tok:
    text: str
    line: int
    word: bool  # identifier, number, literal or lifetime: two in a row need a space between them


_WORD = re.compile(r"\w+")
_LINT_LEVELS = frozenset({"allow", "expect", "warn"})  # warn too: it lowers a deny; deny/forbid do not silence
_TOOLS = frozenset({"rustfmt", "clippy"})


def _scan_rust(path: str, text: str) -> list[Suppression]:
    toks = _rust_tokens(text)
    closers = _closers(toks)
    found: list[Suppression] = []
    i = 0
    while i < len(toks):
        open_ = i + 2 if i + 1 < len(toks) and toks[i + 1].text == "!" else i + 1
        if toks[i].text != "#" or open_ >= len(toks) or toks[open_].text != "[":
            i += 1
            continue
        close = closers[open_]
        kind = _classify(toks[open_ + 1 : close])
        if kind is not None:
            found.append(Suppression(path, toks[i].line, kind, _join(toks[i : close + 1])))
        # Past a whole attribute, so nested ones are not rescanned and the work stays linear; an
        # unclosed one is rescanned, for it may have swallowed real attributes after it.
        i = close + 1 if toks[close].text == "]" else open_ + 1
    return found


def _rust_tokens(src: str) -> list[_Tok]:
    """Comments dropped, each literal one token, every other character of punctuation its own token."""
    toks: list[_Tok] = []
    i, line = 0, 1
    while i < len(src):
        j, text, word = _lex_one(src, i)
        if text:
            toks.append(_Tok(text, line, word))
        line += src.count("\n", i, j)
        i = j
    return toks


def _lex_one(src: str, i: int) -> tuple[int, str, bool]:
    """(end, token text or "" for whitespace and comments, whether it is word-like) at ``i``."""
    c = src[i]
    if c.isspace():
        return i + 1, "", False
    if src.startswith("//", i):
        end = src.find("\n", i)
        return (len(src) if end < 0 else end), "", False
    if src.startswith("/*", i):
        return block_comment_end(src, i), "", False
    if c == '"':
        end = _quoted_end(src, i + 1)
        return end, src[i:end], True
    if c == "'":
        end = _char_or_lifetime_end(src, i)
        return end, src[i:end], end > i + 1
    m = _WORD.match(src, i)
    if m is None:
        return i + 1, c, False
    return _lex_word(src, i, m.end())


def _lex_word(src: str, i: int, j: int) -> tuple[int, str, bool]:
    """A word, or what a raw prefix opens (r"", br#""#, r#ident). Other prefixes (b"", c"", b'x') need
    nothing: the quote that follows lexes the same with or without them."""
    word, nxt = src[i:j], src[j : j + 1]
    if word in ("r", "br", "cr") and nxt in ('"', "#"):
        hashes = 0
        while src.startswith("#", j + hashes):
            hashes += 1
        if src.startswith('"', j + hashes):
            end = src.find('"' + "#" * hashes, j + hashes + 1)
            end = len(src) if end < 0 else end + 1 + hashes
            return end, src[i:end], True
        ident = _WORD.match(src, j + 1) if word == "r" and hashes == 1 else None
        if ident is not None:  # a raw identifier: r#allow names the same thing as allow
            return ident.end(), ident.group(), True
    return j, word, True


def block_comment_end(src: str, i: int) -> int:
    """Where the Rust block comment opening at ``i`` ends (they nest); len(src) when unclosed."""
    depth, k = 0, i
    while k < len(src):
        if src.startswith("/*", k):
            depth, k = depth + 1, k + 2
        elif src.startswith("*/", k):
            depth, k = depth - 1, k + 2
            if depth == 0:
                return k
        else:
            k += 1
    return len(src)


def _quoted_end(src: str, k: int) -> int:
    """The end of a "..." literal whose body starts at ``k``; an unterminated one runs to the end."""
    while k < len(src):
        if src[k] == "\\":
            k += 2
        elif src[k] == '"':
            return k + 1
        else:
            k += 1
    return len(src)


def _char_or_lifetime_end(src: str, i: int) -> int:
    """A char literal ('a', '\\n', '\\u{1F600}', '\\'') when it closes, else a lifetime or label ('a)."""
    if src.startswith("\\", i + 1):
        close = src.find("'", i + 3)  # past the escaped character, which may itself be a quote
        if 0 <= close <= i + 12:
            return close + 1
    elif src.startswith("'", i + 2):
        return i + 3
    m = _WORD.match(src, i + 1)
    return m.end() if m else i + 1


def _closers(toks: list[_Tok]) -> dict[int, int]:
    """Each "[" index mapped to the index of its "]". An unclosed one (a broken file) reaches just
    before the next unclosed one, so the rest of the file is still scanned, and in linear time."""
    closers: dict[int, int] = {}
    stack: list[int] = []
    for k, tok in enumerate(toks):
        if tok.text == "[":
            stack.append(k)
        elif tok.text == "]" and stack:
            closers[stack.pop()] = k
    ends = [k - 1 for k in stack[1:]] + [len(toks) - 1]
    closers.update(zip(stack, ends[: len(stack)], strict=True))
    return closers


def _classify(meta: list[_Tok]) -> str | None:
    """The kind of suppression an attribute's contents (between the brackets) make, if any."""
    path, rest = _meta_path(meta)
    if path in _LINT_LEVELS:
        return path
    if path.split("::")[0] in _TOOLS:
        return path
    if path == "cfg_attr" and rest and rest[0].text == "(":
        # cfg_attr(predicate, attr, ...): any of the attributes may be a suppression, nested too
        for attr in _split_commas(rest[1:])[1:]:
            kind = _classify(attr)
            if kind is not None:
                return kind if kind.startswith("cfg_attr(") else f"cfg_attr({kind})"
    return None


def _meta_path(meta: list[_Tok]) -> tuple[str, list[_Tok]]:
    """The attribute's path ("clippy::cognitive_complexity") and the tokens after it."""
    k = 2 if [t.text for t in meta[:2]] == [":", ":"] else 0
    parts: list[str] = []
    while k < len(meta) and meta[k].word:
        parts.append(meta[k].text)
        if [t.text for t in meta[k + 1 : k + 3]] != [":", ":"]:
            return "::".join(parts), meta[k + 1 :]
        k += 3
    return "::".join(parts), meta[k:]


def _split_commas(toks: list[_Tok]) -> list[list[_Tok]]:
    """Top-level comma-separated parts, stopping at the bracket that closes the list."""
    parts: list[list[_Tok]] = [[]]
    depth = 0
    for tok in toks:
        if tok.text in "([{" and not tok.word:
            depth += 1
        elif tok.text in ")]}" and not tok.word:
            depth -= 1
            if depth < 0:
                break
        if tok.text == "," and depth == 0:
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts


def _join(toks: list[_Tok]) -> str:
    """A canonical spelling of an attribute, the same however it was spaced or split over lines."""
    out: list[str] = []
    prev: _Tok | None = None
    for tok in toks:
        if prev is not None and ((prev.word and tok.word) or tok.text == "=" or prev.text in (",", "=")):
            out.append(" ")
        out.append(tok.text)
        prev = tok
    return _collapse("".join(out))
