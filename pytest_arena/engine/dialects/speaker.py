"""How a session talks in its chosen dialect: the opening system prompt, parsing a turn (native
tool_calls, the dialect's parser, or any dialect's parser for a server's content fallback), and
the history messages for calls and results, as text or as OpenAI-style structured messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from ..protocol import DEEP_ARGUMENTS, ToolCall, refuse_deep, salvage_calls
from ..tools import ToolSpec
from . import DIALECTS
from .base import AGENT_INTRO, Dialect, Schemas, arguments_object, call_id, function_schemas, parameter_schemas
from .choose import DialectChoice

NATIVE_NUDGE = "No tool call found in your reply. Call one of the tools you were given."


def fallback_order() -> list[Dialect]:
    """A server that answers in content although it was sent tools: the text may be in any of these."""
    tried = (d for d in DIALECTS.values() if d.fallback_rank is not None)
    return sorted(tried, key=lambda d: d.fallback_rank or 0)


def parse_any(text: str, schemas: Schemas) -> list[ToolCall]:
    order = fallback_order()
    for dialect in order:
        if calls := dialect.strict(text, schemas):
            return calls
    for dialect in order:
        if calls := dialect.tolerant(text, schemas):
            return calls
    return salvage_calls(text)


class Speaker:
    def __init__(self, choice: DialectChoice, specs: Iterable[ToolSpec]) -> None:
        self.choice = choice
        self.specs = list(specs)
        self.tools = function_schemas(self.specs)
        self.schemas = parameter_schemas(self.tools)
        self.dialect = DIALECTS.get(choice.name)

    @property
    def structured(self) -> bool:
        """Tools, calls and results go to the student as structured data (template or API)."""
        return self.choice.native_template or self.choice.native_api

    def system_prompt(self) -> str:
        if self.structured or self.dialect is None:
            return AGENT_INTRO
        return self.dialect.instructions(self.specs)

    def parse(self, turn: int, text: str, native: Sequence[dict[str, Any]]) -> tuple[list[ToolCall], str]:
        """(calls, where they came from: "native", "content_fallback" or "text")."""
        if native:
            calls = [
                ToolCall(
                    str(c.get("name", "")), arguments_object(c.get("arguments", {})), False, str(c.get("id") or "")
                )
                for c in native
            ]
            kind = "native"
        elif self.dialect is None:
            calls, kind = parse_any(text, self.schemas), "content_fallback"
        else:
            calls, kind = self.dialect.parse(text, self.schemas), "text"
            if self.choice.native_api:
                kind = "content_fallback"
        # Ids the model wrote itself are not trusted (Mistral templates reject any but 9 alphanumerics).
        calls = [c if kind == "native" and c.id else replace(c, id=call_id(turn, i)) for i, c in enumerate(calls)]
        return [refuse_deep(c) for c in calls], kind

    def _prose(self, text: str) -> str:
        if self.dialect is None or not self.dialect.call_starts:
            return text
        cut = min((at for m in self.dialect.call_starts if (at := text.find(m)) != -1), default=len(text))
        return text[:cut].strip()

    def assistant_message(self, text: str, calls: list[ToolCall], native: bool) -> dict[str, Any]:
        if not self.structured or not calls:
            return {"role": "assistant", "content": text}
        return {
            "role": "assistant",
            "content": text if native else self._prose(text),
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _object(c.input)}}
                for c in calls
            ],
        }

    def add_results(self, messages: list[dict[str, Any]], results: list[tuple[ToolCall, str]]) -> None:
        if not results:
            return
        results = [(c, f"error: {DEEP_ARGUMENTS}" if c.input == DEEP_ARGUMENTS else out) for c, out in results]
        if not self.structured:
            assert self.dialect is not None
            text = "\n".join(self.dialect.render_result(call, output) for call, output in results)
            messages.append({"role": "user", "content": text})
            return
        tool_messages = [
            {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": output} for call, output in results
        ]
        last = messages[-1] if messages else {}
        one_each = self.dialect is not None and self.dialect.one_call_per_message
        if self.choice.native_template and one_each and len(last.get("tool_calls", ())) > 1:
            # Such a template (Llama 3.x) takes one call per assistant message: one exchange per call.
            messages.pop()
            by_id = {m["tool_call_id"]: m for m in tool_messages}
            for tool_call in last["tool_calls"]:
                messages.append({**last, "tool_calls": [tool_call]})
                if tool_call["id"] in by_id:
                    messages.append(by_id[tool_call["id"]])
            return
        messages.extend(tool_messages)

    def nudge(self, text: str) -> str:
        if self.dialect is None:
            return NATIVE_NUDGE
        return self.dialect.nudge(text)


def _object(arguments: Any) -> dict[str, Any]:
    """Templates iterate the arguments as a mapping: a model's string or list is wrapped, not a crash."""
    return arguments if isinstance(arguments, dict) else {"value": arguments}
