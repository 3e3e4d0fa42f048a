"""The tool protocol: system prompt, parsing model text into tool calls, rendering results."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .languages import prompt_examples
from .tools import ToolSpec

STOP_MARKERS = ("<|im_end|>", "<|endoftext|>", "<|end|>", "</s>", "<|im_start|>", "\nHuman:", "\nUser:")
MAX_PARSED_CHARS = 256 * 1024  # a 1 MB turn is parsed on its head, never quadratically
MAX_DECODE_ATTEMPTS = 64  # JSON decode attempts per turn: adversarial text cannot make parsing slow
# Levels of lists and objects a call's arguments may have. No tool needs more than a few, and a
# 950-deep `[[[...]]]` overflows every recursive serialiser downstream (records, trajectories).
MAX_ARGUMENT_DEPTH = 32
DEEP_ARGUMENTS = (
    f"refused: the arguments were nested more than {MAX_ARGUMENT_DEPTH} levels deep; "
    "send one JSON object of plain string values"
)

_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|\Z)", re.DOTALL)
_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL)
_FENCE = re.compile(r"```([^\n`]*)\n(.*?)(?:```|\Z)", re.DOTALL)
_NAME_KEY = re.compile(r'\{\s*"name"\s*:')
_PATH_TOKEN = r"([\w./-]+\.[A-Za-z0-9]+)"
# Where a Markdown answer names the file a code block belongs to.
_INFO_PATH = re.compile(r"^[\w+-]*[\s:]+" + _PATH_TOKEN + r"\s*$")
_LEAD_PATH = re.compile(r"(?:^|[\s`*(])" + _PATH_TOKEN + r"[`*)]*\s*:?\s*$")
_FIRST_LINE_PATH = re.compile(
    r"^\s*(?://|#|--|/\*)\s*(?:file(?:name)?:\s*)?" + _PATH_TOKEN + r"\s*(?:\*/)?\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class ToolCall:
    name: str
    input: Any
    salvaged: bool = False
    id: str = ""  # set where a dialect or server pairs results with calls

    def to_text(self) -> str:
        return "<tool_call>\n" + json.dumps({"name": self.name, "input": self.input}) + "\n</tool_call>"


def nesting_depth(value: Any, stop: int = MAX_ARGUMENT_DEPTH + 1) -> int:
    """Levels of lists and objects in ``value`` (a scalar is 0), counted without recursion, up to ``stop``."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest < stop:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list | tuple) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def refuse_deep(call: ToolCall) -> ToolCall:
    """The call itself, or, with arguments nested past MAX_ARGUMENT_DEPTH, the call with its
    arguments replaced by the refusal (the tool then rejects it and the student is told why)."""
    if nesting_depth(call.input) <= MAX_ARGUMENT_DEPTH:
        return call
    return ToolCall(call.name, DEEP_ARGUMENTS, call.salvaged, call.id)


def clean_chat_output(text: str) -> str:
    """Cut a generation at the first end/role marker and drop ``<think>`` blocks."""
    cut = len(text)
    for marker in STOP_MARKERS:
        at = text.find(marker)
        if at != -1:
            cut = min(cut, at)
    return _THINK.sub("", text[:cut]).strip()


def _decode_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in text (tolerating fences and trailing chatter)."""
    start = text.find("{")
    for _ in range(MAX_DECODE_ATTEMPTS):
        if start == -1:
            break
        try:
            value, _ = json.JSONDecoder().raw_decode(text, start)
        except (json.JSONDecodeError, RecursionError):
            start = text.find("{", start + 1)
            continue
        return value if isinstance(value, dict) else None
    return None


def _as_call(obj: Any, salvaged: bool) -> ToolCall | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        return None
    args: Any = next((obj[key] for key in ("input", "arguments", "parameters") if key in obj), {})
    if isinstance(args, str):  # OpenAI-style arguments serialized as a string
        with contextlib.suppress(json.JSONDecodeError, RecursionError):
            args = json.loads(args)
    return ToolCall(obj["name"], args, salvaged)


def strict_calls(text: str) -> list[ToolCall]:
    """The ``<tool_call>`` blocks alone (closed or not), without salvage."""
    return _strict(text[:MAX_PARSED_CHARS])


def _strict(text: str) -> list[ToolCall]:
    calls = []
    for body in _TOOL_CALL.findall(text):
        call = _as_call(_decode_object(body), salvaged=False)
        if call is not None:
            calls.append(call)
    return calls


def _json_objects(text: str) -> Iterable[dict[str, Any]]:
    decoder = json.JSONDecoder()
    position = 0
    for _ in range(MAX_DECODE_ATTEMPTS):
        match = _NAME_KEY.search(text, position)
        if match is None:
            return
        try:
            value, end = decoder.raw_decode(text, match.start())
        except (json.JSONDecodeError, RecursionError):
            position = match.end()
            continue
        position = end
        if isinstance(value, dict):
            yield value


def _named_path(info: str, before: str, body: str) -> str | None:
    if match := _INFO_PATH.match(info.strip()):
        return match.group(1)
    last_line = before.rstrip("\n").rsplit("\n", 1)[-1]
    if match := _LEAD_PATH.search(last_line):
        return match.group(1)
    if match := _FIRST_LINE_PATH.match(body.split("\n", 1)[0]):
        return match.group(1)
    return None


def salvage_calls(text: str) -> list[ToolCall]:
    """The salvage every dialect falls back to: a JSON object with a name, or a named code block."""
    return _salvage(text[:MAX_PARSED_CHARS])


def _salvage(text: str) -> list[ToolCall]:
    calls = [c for obj in _json_objects(text) if (c := _as_call(obj, salvaged=True))]
    if calls:
        return calls
    for match in _FENCE.finditer(text):
        info, body = match.group(1), match.group(2)
        path = _named_path(info, text[: match.start()], body)
        if path:
            calls.append(ToolCall("file_write", {"path": path, "content": body}, salvaged=True))
    return calls


def parse_tool_calls(text: str) -> list[ToolCall]:
    """Strict ``<tool_call>`` blocks (closed or not); failing those, salvage (DESIGN.md section 5)."""
    text = text[:MAX_PARSED_CHARS]
    return _strict(text) or _salvage(text)


def render_tool_result(name: str, output: str) -> str:
    return f'<tool_result name="{name}">\n{output}\n</tool_result>'


def _tool_table(tools: Iterable[ToolSpec]) -> str:
    rows = []
    for spec in tools:
        params = ", ".join(p if p in spec.required else f"{p}?" for p in spec.parameters)
        rows.append(f"- {spec.name}({params}): {spec.description}")
    return "\n".join(rows)


def _examples() -> list[ToolCall]:
    """The prompt language's calls (engine.languages.PROMPT_LANGUAGE: src/lib.rs, cargo test)."""
    shown = prompt_examples()
    return [
        ToolCall("file_read", {"path": shown.source}),
        ToolCall("shell", {"command": shown.test_command}),
        ToolCall("file_edit", {"path": shown.source, "old": shown.old, "new": shown.new}),
        ToolCall("finish", {"summary": "fixed the boundary check"}),
    ]


def system_prompt(tools: Iterable[ToolSpec]) -> str:
    examples = "\n\n".join(call.to_text() for call in _examples())
    return (
        "You are a coding agent fixing a bug in a small project. You cannot see the files until "
        "you read them. You act only through tool calls. Each reply contains one or more tool "
        "calls, each written exactly like this:\n\n"
        '<tool_call>\n{"name": "TOOL", "input": {...}}\n</tool_call>\n\n'
        f"Tools (? = optional):\n{_tool_table(tools)}\n\n"
        f"Examples:\n\n{examples}\n\n"
        "Results come back as <tool_result> messages. Do not answer with Markdown code blocks: "
        "write files with file_write or file_edit. Run the tests, fix the code (never the tests), "
        "keep the code free of lint warnings, then call finish."
    )


def task_message(prompt: str, files: list[str], editable: str = "") -> str:
    listing = "\n".join(files[:200])
    scope = (
        f"\n\nYou may change only these paths: {editable}. Changes anywhere else (tests, build "
        "scripts, configuration) are discarded before your work is tested."
        if editable
        else ""
    )
    return f"{prompt.strip()}{scope}\n\nProject files:\n{listing}"


NUDGE = "No tool call found in your reply. Reply with a tool call such as\n" + _examples()[0].to_text()


def nudge_for(text: str) -> str:
    """What to tell a student whose turn had no usable tool call: the JSON error when it tried,
    and that a reply past the parser's window was not read to its end."""
    if len(text) > MAX_PARSED_CHARS:
        return (
            f"Your reply was {len(text)} characters; only the first {MAX_PARSED_CHARS} are read for "
            "tool calls and none was found there. Put the tool call first and keep replies short. "
        ) + _nudge_head(text)
    return _nudge_head(text)


def _nudge_head(text: str) -> str:
    for body in _TOOL_CALL.findall(text[:MAX_PARSED_CHARS])[:1]:
        start = body.find("{")
        if start == -1:
            return "Your <tool_call> block holds no JSON object. " + NUDGE
        try:
            value = json.loads(body[start : body.rfind("}") + 1] or "{")
        except (json.JSONDecodeError, RecursionError) as exc:
            return f"Your <tool_call> JSON does not parse ({exc}). " + NUDGE
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            return 'Your <tool_call> JSON needs a string "name" and an "input" object. ' + NUDGE
    return NUDGE
