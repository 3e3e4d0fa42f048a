"""The arena's house dialect: ``<tool_call>{"name": …, "input": {…}}</tool_call>``, taught by the
arena's own system prompt (pytest_arena.engine.protocol, whose ``parse_tool_calls`` stays its parser)."""

from __future__ import annotations

from .. import protocol
from ..protocol import ToolCall
from ..tools import ToolSpec
from .base import Dialect, Schemas


def _strict(text: str, schemas: Schemas) -> list[ToolCall]:
    return protocol.strict_calls(text)


def _tolerant(text: str, schemas: Schemas) -> list[ToolCall]:
    return []  # the shared salvage is the arena's tolerant pass


def _render(calls: list[ToolCall]) -> str:
    return "\n".join(call.to_text() for call in calls)


def _instructions(specs: list[ToolSpec]) -> str:
    return protocol.system_prompt(specs)


def _result(call: ToolCall, output: str) -> str:
    return protocol.render_tool_result(call.name, output)


DIALECT = Dialect(
    name="arena",
    strict=_strict,
    tolerant=_tolerant,
    render_calls=_render,
    instructions=_instructions,
    render_result=_result,
    markers=("<tool_call>",),
    example='<tool_call>\n{"name": "file_read", "input": {"path": "src/lib.rs"}}\n</tool_call>',
)
