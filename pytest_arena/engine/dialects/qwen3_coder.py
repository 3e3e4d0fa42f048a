"""Qwen3-Coder's XML calls: ``<tool_call><function=NAME><parameter=P>raw value</parameter>…``.
Values are raw text (no JSON escaping); they are converted by the tool's JSON-schema types, the
way vLLM's qwen3coder parser does. Scanning uses ``str.find`` only, with a cap on blocks, so an
unclosed or hostile turn costs linear time."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping
from typing import Any

from ..protocol import ToolCall
from ..tools import ToolSpec
from .base import AGENT_INTRO, Schemas, function_schemas
from .hermes import Hermes

MAX_BLOCKS = 64
FUNCTION, FUNCTION_END = "<function=", "</function>"
PARAMETER, PARAMETER_END = "<parameter=", "</parameter>"
WRAPPER, WRAPPER_END = "<tool_call>", "</tool_call>"


def _type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type", "string")
    if isinstance(kind, list):  # ["integer", "null"]: the first real type
        kind = next((k for k in kind if k != "null"), "string")
    return str(kind)


def convert(value: str, schema: Mapping[str, Any] | None) -> Any:
    """A raw parameter value as the schema's type; left as text where it does not fit."""
    kind = _type(schema) if schema else "string"
    if kind == "string":
        return value
    text = value.strip()
    if text.lower() == "null":
        return None
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            number = float(text)
            return int(number) if number.is_integer() and not any(c in text for c in ".eE") else number
    except ValueError:
        return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), value)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def _strip_one_newline(value: str) -> str:
    value = value[1:] if value.startswith("\n") else value
    return value[:-1] if value.endswith("\n") else value


def _parameters(body: str) -> tuple[dict[str, str], bool]:
    """(name -> raw value, every parameter closed)."""
    found: dict[str, str] = {}
    closed = True
    at = body.find(PARAMETER)
    for _ in range(MAX_BLOCKS):
        if at == -1:
            break
        gt = body.find(">", at)
        if gt == -1:
            return found, False
        name = body[at + len(PARAMETER) : gt].strip()
        end = body.find(PARAMETER_END, gt)
        following = body.find(PARAMETER, gt)
        if end == -1 or (following != -1 and following < end):
            closed = False
            end = following if following != -1 else len(body)
            found[name] = _strip_one_newline(body[gt + 1 : end].rstrip())
        else:
            found[name] = _strip_one_newline(body[gt + 1 : end])
        at = body.find(PARAMETER, end)
    return found, closed


def blocks(text: str) -> Iterator[tuple[str, dict[str, str], bool]]:
    """(function name, raw parameters, well formed: wrapped in <tool_call> and every tag closed)."""
    at = text.find(FUNCTION)
    previous_end = 0
    for _ in range(MAX_BLOCKS):
        if at == -1:
            return
        gt = text.find(">", at)
        if gt == -1 or "\n" in text[at:gt]:
            return
        name = text[at + len(FUNCTION) : gt].strip()
        end = text.find(FUNCTION_END, gt)
        following = text.find(FUNCTION, gt)
        closed = end != -1 and (following == -1 or end < following)
        body_end = end if closed else (following if following != -1 else len(text))
        params, params_closed = _parameters(text[gt + 1 : body_end])
        wrapped = text.rfind(WRAPPER, previous_end, at) != -1
        yield name, params, wrapped and closed and params_closed
        previous_end = body_end
        at = following


def _calls(text: str, schemas: Schemas, want_well_formed: bool) -> list[ToolCall]:
    calls = []
    for name, params, well_formed in blocks(text):
        if want_well_formed and not well_formed:
            return []
        properties = schemas.get(name, {}).get("properties", {})
        values = {p: convert(v, properties.get(p)) for p, v in params.items()}
        calls.append(ToolCall(name, values, salvaged=not well_formed))
    return calls


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _render(calls: list[ToolCall]) -> str:
    parts = []
    for call in calls:
        params = "".join(f"{PARAMETER}{k}>\n{_value_text(v)}\n{PARAMETER_END}\n" for k, v in dict(call.input).items())
        parts.append(f"{WRAPPER}\n{FUNCTION}{call.name}>\n{params}{FUNCTION_END}\n{WRAPPER_END}")
    return "\n".join(parts)


def _tool_xml(schema: dict[str, Any]) -> str:
    function = schema["function"]
    params = "".join(
        f"\n<parameter>\n<name>{name}</name>\n<type>{field.get('type', 'string')}</type>"
        f"\n<description>{field.get('description', '')}</description>\n</parameter>"
        for name, field in function["parameters"]["properties"].items()
    )
    required = ", ".join(f"`{r}`" for r in function["parameters"].get("required", []))
    return (
        f"<function>\n<name>{function['name']}</name>\n<description>{function['description']}</description>"
        f"\n<parameters>{params}\n<required>[{required}]</required>\n</parameters>\n</function>"
    )


class Qwen3Coder(Hermes):
    """Hermes' family: results in the same ``<tool_response>``; calls in XML."""

    name = "qwen3-coder"
    call_starts = (WRAPPER, FUNCTION)
    template_markers = ((FUNCTION, PARAMETER),)  # before Hermes: these templates hold <tool_call> too
    detect_rank = 10
    fallback_rank = 10
    argument_key = None  # not Hermes' JSON: no grammar

    def strict(self, text: str, schemas: Schemas) -> list[ToolCall]:
        return _calls(text, schemas, want_well_formed=True)

    def tolerant(self, text: str, schemas: Schemas) -> list[ToolCall]:
        return [ToolCall(c.name, c.input, salvaged=True) for c in _calls(text, schemas, want_well_formed=False)]

    def render_calls(self, calls: list[ToolCall]) -> str:
        return _render(calls)

    def instructions(self, specs: list[ToolSpec]) -> str:
        tools = "\n".join(_tool_xml(schema) for schema in function_schemas(specs))
        return (
            f"{AGENT_INTRO}\n\n# Tools\n\nYou have access to the following functions:\n\n"
            f"<tools>\n{tools}\n</tools>\n\n"
            "If you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
            "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n"
            "</parameter>\n<parameter=example_parameter_2>\nA value that can span\nmultiple lines\n"
            "</parameter>\n</function>\n</tool_call>\n\nParameter values are written raw, without JSON escaping."
        )
