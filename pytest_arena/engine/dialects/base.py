"""What every dialect provides, and the pieces they share: OpenAI function schemas of the
tools, call ids, the generic salvage pass and the head-only parsing bound."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from ..languages import prompt_examples
from ..protocol import MAX_PARSED_CHARS, ToolCall, salvage_calls
from ..tools import ToolSpec

Schemas = Mapping[str, Mapping[str, Any]]  # tool name -> its JSON schema "parameters" object


def function_schema(spec: ToolSpec) -> dict[str, Any]:
    """A tool as an OpenAI function schema: what chat templates and servers take as ``tools``."""
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": {
                "type": "object",
                "properties": {p: {"type": "string", "description": d} for p, d in spec.parameters.items()},
                "required": list(spec.required),
            },
        },
    }


def function_schemas(specs: Iterable[ToolSpec]) -> list[dict[str, Any]]:
    return [function_schema(spec) for spec in specs]


def parameter_schemas(tools: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """name -> parameters schema, from OpenAI function schemas."""
    found: dict[str, Mapping[str, Any]] = {}
    for tool in tools:
        function = tool.get("function", tool)
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            params = function.get("parameters")
            found[function["name"]] = params if isinstance(params, Mapping) else {}
    return found


def call_id(turn: int, index: int) -> str:
    """Nine alphanumerics, as Mistral templates demand; unique within a session."""
    return f"c{turn % 10000:04d}{index % 10000:04d}"


def arguments_object(value: Any) -> Any:
    """Arguments as an object: servers and some models send them as a JSON string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return value
    return value


def example_call() -> ToolCall:
    """The call the nudge shows: the prompt language's source file read (src/lib.rs)."""
    return ToolCall("file_read", {"path": prompt_examples().source})


class Dialect(ABC):
    """One tool-call dialect. ``strict`` reads the calls written exactly as the family was trained;
    ``tolerant`` reads near misses (unclosed tags, a missing marker), marked salvaged. A dialect
    holds no state: one instance serves every session."""

    name: ClassVar[str]
    # Where calls start in a turn: the text before them is the turn's prose.
    call_starts: ClassVar[tuple[str, ...]] = ()
    # A chat template speaks this dialect when it holds every string of one of these groups
    # (as llama.cpp's common/chat.cpp detects them); shown in the reason as template_markers_shown,
    # by default the groups joined.
    template_markers: ClassVar[tuple[tuple[str, ...], ...]] = ()
    template_markers_shown: ClassVar[str] = ""
    # Templates are matched in rank order, lowest first: a dialect whose templates also hold
    # another's markers ranks before it.
    detect_rank: ClassVar[int] = 0
    # A server that answers in content although it was sent tools: its text is tried with every
    # dialect that has a rank here, lowest first (None: not tried).
    fallback_rank: ClassVar[int | None] = None
    # The key of a call's arguments in --arena-constrain's grammar (None: no grammar for this dialect).
    argument_key: ClassVar[str | None] = None
    # The chat template takes one call per assistant message: several become one exchange each.
    one_call_per_message: ClassVar[bool] = False

    @abstractmethod
    def strict(self, text: str, schemas: Schemas) -> list[ToolCall]: ...

    def tolerant(self, text: str, schemas: Schemas) -> list[ToolCall]:
        return []  # where the shared Markdown/JSON salvage is all a dialect's near misses need

    @abstractmethod
    def render_calls(self, calls: list[ToolCall]) -> str:
        """The calls as the model writes them."""

    @abstractmethod
    def instructions(self, specs: list[ToolSpec]) -> str:
        """The system prompt: the tools in the dialect's own words."""

    def render_result(self, call: ToolCall, output: str) -> str:
        """A tool's result as text, where no chat template renders it."""
        return output

    @property
    def example(self) -> str:
        """One call, shown in the nudge after a turn without calls."""
        return self.render_calls([example_call()])

    def parse(self, text: str, schemas: Schemas | None = None) -> list[ToolCall]:
        """Strict first, then tolerant, then the Markdown/JSON salvage every dialect shares."""
        text = text[:MAX_PARSED_CHARS]
        schemas = schemas or {}
        return self.strict(text, schemas) or self.tolerant(text, schemas) or salvage_calls(text)

    def nudge(self, text: str) -> str:
        return "No tool call found in your reply. Reply with a tool call such as\n" + self.example

    @classmethod
    def markers_shown(cls) -> str:
        return cls.template_markers_shown or ", ".join("/".join(group) for group in cls.template_markers)


AGENT_INTRO = (
    "You are a coding agent fixing a bug in a small project. You cannot see the files until you read "
    "them. You act only through tool calls. Do not answer with Markdown code blocks: write files with "
    "file_write or file_edit. Run the tests, fix the code (never the tests), keep the code free of lint "
    "warnings, then call finish."
)


def tools_json_lines(specs: Iterable[ToolSpec]) -> str:
    return "\n".join(json.dumps(schema) for schema in function_schemas(specs))
