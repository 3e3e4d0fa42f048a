"""Native function calling over a real OpenAI-compatible HTTP server (in a thread, on 127.0.0.1):
the request carries `tools`, the answer's `tool_calls` are the turn's calls, results go back as
`role: tool` with the matching `tool_call_id`; a server that answers in content is read as a fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .chat_server import ScriptedHandler, ScriptedServer, serving
from .helpers import ROOT, junit_cases, run_pytest
from .test_dialect_sessions import SOLUTION, needs_python_tools

FIXTURE = ROOT / "fixtures" / "python" / "leetcode__01-roman-numerals"
WRITE_ARGS = {"path": "roman/__init__.py", "content": SOLUTION}


class ToolServer(ScriptedServer[dict[str, Any]]):
    """Answers each chat completion with the next scripted assistant message; keeps every request."""

    def __init__(self, replies: list[dict[str, Any]]) -> None:
        super().__init__(replies, ToolHandler)
        self.streams = False  # answer requests that ask for a stream with server-sent events


class ToolHandler(ScriptedHandler):
    server: ToolServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        request = self.request_body()
        message = self.server.take(request)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        if request.get("stream") and self.server.streams:
            self._stream(message, finish)
            return
        reply = {
            "choices": [{"message": {"role": "assistant", **message}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 9},
        }
        self.send_body(200, json.dumps(reply).encode())

    def _stream(self, message: dict[str, Any], finish: str) -> None:
        """As llama-server streams a call: the id and name first, the arguments in fragments."""
        events: list[dict[str, Any]] = [{"role": "assistant", "content": message.get("content") or ""}]
        for index, call in enumerate(message.get("tool_calls") or []):
            args = call["function"]["arguments"]
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"]},
            }
            events.append({"tool_calls": [head]})
            events += [
                {"tool_calls": [{"index": index, "function": {"arguments": args[at : at + 7]}}]}
                for at in range(0, len(args), 7)
            ]
        self.start_events()
        for number, delta in enumerate(events):
            last = number == len(events) - 1
            self.send_event({"choices": [{"delta": delta, "finish_reason": finish if last else None}]})
        self.send_event({"choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 9}})
        self.send_event("[DONE]")


def serve(replies: list[dict[str, Any]], streams: bool = False) -> Iterator[ToolServer]:
    server = ToolServer(replies)
    server.streams = streams
    yield from serving(server)


def tool_call(call_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def run_item(tmp_path: Path, server: ToolServer, *extra: str) -> dict[str, str]:
    junit = tmp_path / "junit.xml"
    run = run_pytest(
        "--arena", f"--arena-student=openai:{server.url}#served", f"--junitxml={junit}",
        f"--arena-reports={tmp_path / 'r'}", *extra, str(FIXTURE),
    )  # fmt: skip
    (props,) = junit_cases(junit).values()
    props["output"] = run.output
    return props


@pytest.mark.slow
@needs_python_tools
@pytest.mark.parametrize("streams", [False, True], ids=["whole-answer", "streamed-deltas"])
def test_a_server_answering_only_in_tool_calls_passes(tmp_path: Path, streams: bool) -> None:
    replies = [
        {"content": None, "tool_calls": [tool_call("call_w1", "file_write", WRITE_ARGS)]},
        {"content": "", "tool_calls": [tool_call("call_f2", "finish", {"summary": "done"})]},
    ]
    for server in serve(replies, streams):
        props = run_item(tmp_path, server)
        assert props["arena.outcome"] == "OraclePassed", props["output"]
        assert (props["arena.dialect"], props["arena.dialect_source"]) == ("native", "backend")
        assert (props["arena.native_calls"], props["arena.content_fallback_calls"]) == ("2", "0")
        first, second = server.requests
        assert first["tool_choice"] == "auto" and first["stream"] is True  # the degeneration stop streams
        assert [t["function"]["name"] for t in first["tools"]][:2] == ["file_read", "file_write"]
        assistant, result = second["messages"][-2:]
        assert assistant["tool_calls"][0]["id"] == "call_w1"
        assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == WRITE_ARGS
        assert (result["role"], result["tool_call_id"]) == ("tool", "call_w1")
        assert result["content"].startswith("wrote ")


@pytest.mark.slow
@needs_python_tools
def test_tool_choice_required_is_sent_and_recorded(tmp_path: Path) -> None:
    """--arena-tool-choice required asks the server to force a call (issue 22): sent on every
    request with tools, kept in the record, and part of the resume key."""
    replies = [
        {"content": None, "tool_calls": [tool_call("call_w1", "file_write", WRITE_ARGS)]},
        {"content": "", "tool_calls": [tool_call("call_f2", "finish", {"summary": "done"})]},
    ]
    for server in serve(replies):
        props = run_item(tmp_path, server, "--arena-tool-choice", "required")
        assert props["arena.outcome"] == "OraclePassed", props["output"]
        assert {request["tool_choice"] for request in server.requests} == {"required"}
        assert props["arena.tool_choice"] == "required"


@pytest.mark.slow
@needs_python_tools
def test_calls_in_content_are_a_counted_fallback(tmp_path: Path) -> None:
    """llama-cpp-python issue 1784: a server that was sent tools answers with the call as text."""
    write = "<tool_call>\n" + json.dumps({"name": "file_write", "arguments": WRITE_ARGS}) + "\n</tool_call>"
    replies = [{"content": write}, {"content": '<tool_call>\n{"name": "finish", "arguments": {}}\n</tool_call>'}]
    for server in serve(replies):
        props = run_item(tmp_path, server)
        assert props["arena.outcome"] == "OraclePassed", props["output"]
        assert (props["arena.native_calls"], props["arena.content_fallback_calls"]) == ("0", "2")
        assistant, result = server.requests[1]["messages"][-2:]
        assert assistant["tool_calls"][0]["function"]["name"] == "file_write"
        assert result["tool_call_id"] == assistant["tool_calls"][0]["id"]
