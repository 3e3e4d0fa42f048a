"""A dialect's facts live on its class: detection markers, the content-fallback order, the grammar's
argument key and the speaker's special cases are read from the registered classes, so a new
dialect is one class plus one entry in DIALECTS."""

from __future__ import annotations

import json

import pytest

from pytest_arena.engine.dialects import DIALECTS
from pytest_arena.engine.dialects.base import Dialect, Schemas
from pytest_arena.engine.dialects.choose import DialectChoice, choose, detect, detected_in_order
from pytest_arena.engine.dialects.constrain import constrained_schema
from pytest_arena.engine.dialects.speaker import Speaker, fallback_order, parse_any
from pytest_arena.engine.protocol import ToolCall
from pytest_arena.engine.tools import BUILTIN_TOOLS, ToolSpec


class Toy(Dialect):
    name = "toy"
    call_starts = ("<<",)
    template_markers = (("<toy>", "</toy>"),)
    template_markers_shown = "<toy>...</toy>"
    detect_rank = 5
    fallback_rank = 1
    argument_key = "args"
    one_call_per_message = True

    def strict(self, text: str, schemas: Schemas) -> list[ToolCall]:
        at = text.find("<<")
        return [ToolCall(text[at + 2 :].split()[0], {})] if at != -1 else []

    def render_calls(self, calls: list[ToolCall]) -> str:
        return " ".join(f"<<{c.name}" for c in calls)

    def instructions(self, specs: list[ToolSpec]) -> str:
        return "toy"


def test_the_tables_read_from_the_classes_are_the_old_ones() -> None:
    pairs = [(d.name, markers) for d in detected_in_order() for markers in d.template_markers]
    assert pairs == [
        ("qwen3-coder", ("<function=", "<parameter=")),
        ("hermes", ("<tool_call>",)),
        ("llama3", ("<|python_tag|>",)),
        ("llama3", ("<|start_header_id|>ipython<|end_header_id|>",)),
        ("mistral", ("[TOOL_CALLS]",)),
    ]
    assert detect("{{ messages }}") == (
        None,
        "template has no tool-call markers (<function=/<parameter=, <tool_call>, <|python_tag|>, ipython header, "
        "[TOOL_CALLS])",
    )
    assert [d.name for d in fallback_order()] == ["qwen3-coder", "hermes", "mistral", "llama3", "pythonic"]
    assert {name: d.argument_key for name, d in DIALECTS.items() if d.argument_key} == {
        "arena": "input",
        "hermes": "arguments",
    }
    assert [name for name, d in DIALECTS.items() if d.one_call_per_message] == ["llama3"]


def test_a_new_dialect_is_seen_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(DIALECTS, "toy", Toy())
    template = "<toy>{{ tools }}</toy> <tool_call>"  # also Hermes' marker: the rank decides
    assert detect(template) == ("toy", "template has <toy> and </toy>")
    assert "<toy>...</toy>" in detect("plain")[1]
    assert choose("auto", template, False).name == "toy"
    assert fallback_order()[0].name == "toy" and parse_any("text <<finish", {})[0].name == "finish"
    schema = json.loads(constrained_schema("toy", BUILTIN_TOOLS) or "{}")
    assert all("args" in one["properties"] and "args" in one["required"] for one in schema["oneOf"])

    speaker = Speaker(DialectChoice("toy", "template", "", native_template=True), BUILTIN_TOOLS)
    calls = [ToolCall("file_read", {"path": "a"}, id="c1"), ToolCall("finish", {}, id="c2")]
    assert speaker.assistant_message("prose <<file_read <<finish", calls, False)["content"] == "prose"
    messages = [speaker.assistant_message("x", calls, False)]
    speaker.add_results(messages, [(calls[0], "A"), (calls[1], "B")])
    assert [m["role"] for m in messages] == ["assistant", "tool", "assistant", "tool"]


def test_the_arena_dialect_nudges_with_the_parser_s_error() -> None:
    from pytest_arena.engine.protocol import nudge_for

    speaker = Speaker(choose("arena", None, False), BUILTIN_TOOLS)
    assert speaker.nudge('<tool_call>{"name": oops') == nudge_for('<tool_call>{"name": oops')
    assert DIALECTS["hermes"].nudge("x").startswith("No tool call found in your reply. Reply with a tool call")
