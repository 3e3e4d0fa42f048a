"""Mistral calls: ``[TOOL_CALLS][{"name": …, "arguments": …, "id": …}]`` (v3) or
``[TOOL_CALLS]NAME[ARGS]{…}`` (v11+); results in ``[TOOL_RESULTS]``. The marker is a control
token that llama.cpp may drop from the text, so a turn that opens with the JSON list is strict too."""

from __future__ import annotations

import json

from ..protocol import MAX_DECODE_ATTEMPTS, ToolCall
from ..tools import ToolSpec
from .base import AGENT_INTRO, Dialect, Schemas, arguments_object, tools_json_lines

MARKER, ARGS = "[TOOL_CALLS]", "[ARGS]"


def _list_form(body: str, salvaged: bool) -> list[ToolCall]:
    stripped = body.lstrip()
    if not stripped.startswith("["):
        return []
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped)
    except (json.JSONDecodeError, RecursionError):
        return []
    if not isinstance(value, list):
        return []
    calls = []
    for item in value[:MAX_DECODE_ATTEMPTS]:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            args = arguments_object(item.get("arguments", item.get("parameters", {})))
            calls.append(ToolCall(item["name"], args, salvaged, str(item.get("id", ""))))
    return calls


def _args_form(text: str) -> list[ToolCall]:
    """``[TOOL_CALLS]name[ARGS]{json}``, repeated."""
    decoder = json.JSONDecoder()
    calls = []
    for chunk in text.split(MARKER)[1 : MAX_DECODE_ATTEMPTS + 1]:
        name, found, rest = chunk.partition(ARGS)
        if not found or not name.strip() or len(name) > 200:
            continue
        try:
            value, _ = decoder.raw_decode(rest.lstrip())
        except (json.JSONDecodeError, RecursionError):
            continue
        calls.append(ToolCall(name.strip(), value))
    return calls


class Mistral(Dialect):
    name = "mistral"
    call_starts = (MARKER, "[{")
    template_markers = ((MARKER,),)
    detect_rank = 40
    fallback_rank = 30

    def strict(self, text: str, schemas: Schemas) -> list[ToolCall]:
        at = text.find(MARKER)
        if at == -1:
            return _list_form(text, salvaged=False)
        return _list_form(text[at + len(MARKER) :], salvaged=False) or _args_form(text[at:])

    def tolerant(self, text: str, schemas: Schemas) -> list[ToolCall]:
        at = text.find("[{")
        return _list_form(text[at:], salvaged=True) if at != -1 else []

    def render_calls(self, calls: list[ToolCall]) -> str:
        items = [{"name": c.name, "arguments": c.input, **({"id": c.id} if c.id else {})} for c in calls]
        return MARKER + json.dumps(items)

    def instructions(self, specs: list[ToolSpec]) -> str:
        return (
            f"{AGENT_INTRO}\n\n[AVAILABLE_TOOLS]\n{tools_json_lines(specs)}\n[/AVAILABLE_TOOLS]\n\n"
            'Call tools by replying [TOOL_CALLS][{"name": "TOOL", "arguments": {...}}].'
        )

    def render_result(self, call: ToolCall, output: str) -> str:
        return "[TOOL_RESULTS]" + json.dumps({"content": output, "call_id": call.id}) + "[/TOOL_RESULTS]"
