"""Llama 3.x JSON calls: ``{"name": …, "parameters": {…}}``, optionally after ``<|python_tag|>``
(a control token that llama.cpp usually drops from the text); results in the ``ipython`` role."""

from __future__ import annotations

import json

from ..protocol import MAX_DECODE_ATTEMPTS, ToolCall
from ..tools import ToolSpec
from .base import AGENT_INTRO, Dialect, Schemas, arguments_object, function_schemas

PYTHON_TAG = "<|python_tag|>"


def _calls(text: str) -> list[ToolCall]:
    at = text.find(PYTHON_TAG)
    body = text[at + len(PYTHON_TAG) :] if at != -1 else text
    position = len(body) - len(body.lstrip())
    decoder = json.JSONDecoder()
    calls: list[ToolCall] = []
    for _ in range(MAX_DECODE_ATTEMPTS):
        if position >= len(body) or body[position] != "{":
            break
        try:
            value, position = decoder.raw_decode(body, position)
        except (json.JSONDecodeError, RecursionError):
            break
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            break
        args = value.get("parameters", value.get("arguments"))
        if args is None:
            break
        calls.append(ToolCall(value["name"], arguments_object(args)))
        rest = body[position:]
        position += len(rest) - len(rest.lstrip().lstrip(";").lstrip())
    return calls


class Llama3(Dialect):
    """Results go back as plain text: the template's ipython role wraps them."""

    name = "llama3"
    call_starts = (PYTHON_TAG, '{"name"')
    template_markers = ((PYTHON_TAG,), ("<|start_header_id|>ipython<|end_header_id|>",))
    template_markers_shown = "<|python_tag|>, ipython header"
    detect_rank = 30
    fallback_rank = 40
    one_call_per_message = True

    def strict(self, text: str, schemas: Schemas) -> list[ToolCall]:
        return _calls(text)  # a JSON object with a name anywhere in the turn: the shared salvage finds it

    def render_calls(self, calls: list[ToolCall]) -> str:
        return "; ".join(json.dumps({"name": c.name, "parameters": c.input}) for c in calls)

    def instructions(self, specs: list[ToolSpec]) -> str:
        tools = "\n\n".join(json.dumps(schema, indent=4) for schema in function_schemas(specs))
        return (
            f"{AGENT_INTRO}\n\nGiven the following functions, please respond with a JSON for a function call "
            "with its proper arguments that best answers the given prompt.\n\n"
            'Respond in the format {"name": function name, "parameters": dictionary of argument name and its '
            f"value}}. Do not use variables.\n\n{tools}"
        )
