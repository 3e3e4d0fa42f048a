"""Pythonic calls, as Llama 3.2 small models and Gemma templates write them:
``[f(a=1), g(b="x")]``, keyword arguments with literal values, read with ``ast`` (never eval)."""

from __future__ import annotations

import ast
import re
from typing import Any

from ..protocol import ToolCall
from ..tools import ToolSpec
from .base import AGENT_INTRO, Dialect, Schemas, tools_json_lines

_BARE_CALL = re.compile(r"\s*[A-Za-z_]\w*\(")


def _literal(node: ast.expr) -> Any:
    return ast.literal_eval(node)


def _calls(source: str, salvaged: bool) -> list[ToolCall]:
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    body = tree.body
    items = body.elts if isinstance(body, ast.List) else [body]
    calls = []
    for item in items:
        if not isinstance(item, ast.Call) or not isinstance(item.func, ast.Name) or item.args:
            return []
        try:
            args = {kw.arg: _literal(kw.value) for kw in item.keywords if kw.arg}
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return []
        calls.append(ToolCall(item.func.id, args, salvaged))
    return calls


class Pythonic(Dialect):
    name = "pythonic"
    call_starts = ("[",)
    fallback_rank = 50

    def strict(self, text: str, schemas: Schemas) -> list[ToolCall]:
        stripped = text.strip()
        if not (stripped.startswith("[") and stripped.endswith("]")):
            return []
        return _calls(stripped, salvaged=False)

    def tolerant(self, text: str, schemas: Schemas) -> list[ToolCall]:
        """A list of calls after some prose, or one bare call."""
        start, end = text.find("["), text.rfind("]")
        if start != -1 and end > start and (calls := _calls(text[start : end + 1], salvaged=True)):
            return calls
        stripped = text.strip()
        return _calls(stripped, salvaged=True) if _BARE_CALL.match(stripped) else []

    def render_calls(self, calls: list[ToolCall]) -> str:
        parts = [f"{c.name}(" + ", ".join(f"{k}={v!r}" for k, v in dict(c.input).items()) + ")" for c in calls]
        return "[" + ", ".join(parts) + "]"

    def instructions(self, specs: list[ToolSpec]) -> str:
        return (
            f"{AGENT_INTRO}\n\nYou can call these functions:\n{tools_json_lines(specs)}\n\n"
            "To call functions, reply with nothing but a Python list of calls with keyword arguments, "
            'e.g. [func_name1(param_name1="value1", param_name2="value2"), func_name2(param="value")].'
        )

    def render_result(self, call: ToolCall, output: str) -> str:
        return f"{call.name} returned:\n{output}"
