"""Hermes style, as Qwen2.5, Qwen3 and Hermes 2/3 were trained: ``<tool_call>`` JSON with
``arguments``; results inside ``<tool_response>``."""

from __future__ import annotations

import json
from typing import ClassVar

from ..protocol import ToolCall, strict_calls
from ..tools import ToolSpec
from .base import AGENT_INTRO, Dialect, Schemas, tools_json_lines


class Hermes(Dialect):
    name = "hermes"
    # Annotated: Qwen3Coder, of Hermes' family, overrides them with other shapes.
    call_starts: ClassVar[tuple[str, ...]] = ("<tool_call>",)
    template_markers: ClassVar[tuple[tuple[str, ...], ...]] = (("<tool_call>",),)
    detect_rank = 20
    fallback_rank = 20
    argument_key: ClassVar[str | None] = "arguments"

    def strict(self, text: str, schemas: Schemas) -> list[ToolCall]:
        return strict_calls(text)  # the same block; its JSON may say "arguments" or "input"

    def render_calls(self, calls: list[ToolCall]) -> str:
        return "\n".join(
            "<tool_call>\n" + json.dumps({"name": c.name, "arguments": c.input}) + "\n</tool_call>" for c in calls
        )

    def instructions(self, specs: list[ToolSpec]) -> str:
        return (
            f"{AGENT_INTRO}\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            f"You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            f"{tools_json_lines(specs)}\n</tools>\n\n"
            "For each function call, return a json object with function name and arguments within "
            "<tool_call></tool_call> XML tags:\n<tool_call>\n"
            '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
        )

    def render_result(self, call: ToolCall, output: str) -> str:
        return f"<tool_response>\n{output}\n</tool_response>"
