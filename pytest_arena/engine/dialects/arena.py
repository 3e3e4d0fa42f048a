"""The arena's house dialect: ``<tool_call>{"name": …, "input": {…}}</tool_call>``, taught by the
arena's own system prompt (pytest_arena.engine.protocol, whose ``parse_tool_calls`` stays its parser)."""

from __future__ import annotations

from .. import protocol
from ..protocol import ToolCall
from ..tools import ToolSpec
from .base import Dialect, Schemas


class Arena(Dialect):
    name = "arena"
    call_starts = ("<tool_call>",)
    argument_key = "input"

    def strict(self, text: str, schemas: Schemas) -> list[ToolCall]:
        return protocol.strict_calls(text)

    def render_calls(self, calls: list[ToolCall]) -> str:
        return "\n".join(call.to_text() for call in calls)

    def instructions(self, specs: list[ToolSpec]) -> str:
        return protocol.system_prompt(specs)

    def render_result(self, call: ToolCall, output: str) -> str:
        return protocol.render_tool_result(call.name, output)

    def nudge(self, text: str) -> str:
        return protocol.nudge_for(text)  # the JSON error when the turn tried, and the parser's window
