"""A replay of what a real llama-server sends (and llama-cpp-python's own server, where it differs),
on 127.0.0.1 in a thread, for the openai: student's findings of issue 22. The wire format is the one
of the llama.cpp that llama-cpp-python 0.3.36 vendors (tools/server/server-task.cpp,
server-context.cpp, server-common.cpp):

- a stream opens with a ``{"role": "assistant", "content": null}`` delta, then one chunk per diff: a
  content piece, or a call's head (index, id, name, empty arguments) and then its argument fragments;
- ``timings`` (``cache_n``, ``prompt_n``, ``predicted_n``...) ride on every chunk only when the request
  asks ``timings_per_token``, else on the last one; ``usage`` comes in a last chunk with empty
  ``choices`` only when the request asks ``stream_options.include_usage``; then ``data: [DONE]``;
- a call the server cannot parse ends the stream with ``data: {"error": {...}}`` and no ``[DONE]``;
  the same request not streamed is HTTP 500 with that error object;
- ``GET /props`` holds ``chat_template_caps.supports_tools``, ``model_path`` and ``build_info``;
- llama-cpp-python's server resets the connection of a streamed request with tools, and answers a
  prompt over its context with HTTP 400 ``context_length_exceeded``."""

from __future__ import annotations

import json
import re
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .chat_server import ScriptedHandler, ScriptedServer, serving

MALFORMED = "The model produced output that does not match the expected peg-native format"
BUILD = "b7312-0a1b2c3d"
PROMPT, CACHED = 120, 80  # prompt tokens of every request, and how many the KV cache held


@dataclass
class Answer:
    """One scripted model answer: content and calls (name, arguments as the JSON text the model wrote)."""

    content: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""  # the server fails to parse the calls after sending them: MALFORMED
    reset: bool = False  # the connection is reset once the request is read
    context: tuple[int, int] | None = None  # (prompt tokens, n_ctx): HTTP 400 context_length_exceeded
    fragment: int = 7  # characters of arguments per streamed chunk


def props(supports_tools: bool = True) -> dict[str, Any]:
    return {
        "model_alias": "SmolLM2-135M-Instruct-Q8_0.gguf",
        "model_path": "/models/SmolLM2-135M-Instruct-Q8_0.gguf",
        "total_slots": 1,
        "chat_template": "{{ messages }}",
        "chat_template_caps": {"supports_tools": supports_tools, "supports_tool_calls": supports_tools},
        "build_info": BUILD,
    }


MODELS = {"object": "list", "data": [{"id": "SmolLM2-135M-Instruct-Q8_0.gguf", "object": "model"}]}


class ReplayServer(ScriptedServer[Answer]):
    def __init__(self, answers: list[Answer], props: dict[str, Any] | None) -> None:
        super().__init__(answers, ReplayHandler)
        self.props = props  # None: a server without /props (404), as vLLM or llama-cpp-python's; all list /v1/models
        self.sent = 0  # chunks sent, over all streams
        self.cut = False  # a client closed a stream before its end
        self.gets: list[str] = []


def stats(predicted: int) -> dict[str, Any]:
    return {"cache_n": CACHED, "prompt_n": PROMPT - CACHED, "prompt_ms": 9.0, "predicted_n": predicted}


def usage(predicted: int) -> dict[str, Any]:
    return {
        "completion_tokens": predicted,
        "prompt_tokens": PROMPT,
        "total_tokens": PROMPT + predicted,
        "prompt_tokens_details": {"cached_tokens": CACHED},
    }


def server_error(message: str) -> dict[str, Any]:
    return {"error": {"code": 500, "message": message, "type": "server_error"}}


def context_error(prompt: int, n_ctx: int, max_tokens: int) -> dict[str, Any]:
    message = (
        f"This model's maximum context length is {n_ctx} tokens. However, you requested {prompt + max_tokens} "
        f"tokens ({prompt} in the messages, {max_tokens} in the completion). Please reduce the length of the "
        "messages or completion."
    )
    error = {"message": message, "type": "invalid_request_error", "param": "messages"}
    return {"error": error | {"code": "context_length_exceeded"}}


def deltas(answer: Answer) -> list[dict[str, Any]]:
    """The answer's diffs, as llama-server streams them: one content piece (a token) each, then the calls."""
    found: list[dict[str, Any]] = [{"content": piece} for piece in re.findall(r"\w+|\s+|[^\w\s]", answer.content)]
    for index, (name, args) in enumerate(answer.calls):
        head = {"index": index, "id": f"call_{index}{len(args)}", "type": "function"}
        found.append({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
        step = answer.fragment
        found += [
            {"tool_calls": [{"index": index, "function": {"arguments": args[at : at + step]}}]}
            for at in range(0, len(args), step)
        ]
    return found


class ReplayHandler(ScriptedHandler):
    server: ReplayServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.gets.append(self.path)
        found = {"/props": self.server.props, "/v1/models": MODELS}.get(self.path)
        if found is None:
            body = {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}
            self.send_body(404, json.dumps(body).encode())
            return
        self.send_body(200, json.dumps(found).encode())

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        request = self.request_body()
        answer = self.server.take(request)
        if answer.reset:
            # SO_LINGER 0: close sends RST, what the client reads as "connection reset by peer"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if answer.context is not None:
            prompt, n_ctx = answer.context
            self.send_body(400, json.dumps(context_error(prompt, n_ctx, request["max_tokens"])).encode())
            return
        if request.get("stream"):
            self._stream(request, answer)
            return
        if answer.error:
            self.send_body(500, json.dumps(server_error(answer.error)).encode())
            return
        n = len(deltas(answer))
        calls = [
            {"id": f"call_{i}{len(a)}", "type": "function", "function": {"name": name, "arguments": a}}
            for i, (name, a) in enumerate(answer.calls)
        ]
        message = {"role": "assistant", "content": answer.content or None} | ({"tool_calls": calls} if calls else {})
        choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        reply = {"object": "chat.completion", "choices": [choice], "usage": usage(n), "timings": stats(n)}
        self.send_body(200, json.dumps(reply).encode())

    def _stream(self, request: dict[str, Any], answer: Answer) -> None:
        per_token = bool(request.get("timings_per_token"))
        chunks = [{"role": "assistant", "content": None}, *deltas(answer)]
        self.start_events()
        try:
            for n, delta in enumerate(chunks):
                event: dict[str, Any] = {"choices": [{"finish_reason": None, "index": 0, "delta": delta}]}
                self.send_event(event | ({"timings": stats(n)} if per_token else {}))
                self.server.sent += 1
            if answer.error:
                self.send_event(server_error(answer.error))
                return
            n = len(chunks) - 1
            finish = "tool_calls" if answer.calls else "stop"
            last: list[dict[str, Any]] = [{"choices": [{"finish_reason": finish, "index": 0, "delta": {}}]}]
            if (request.get("stream_options") or {}).get("include_usage"):
                last.append({"choices": [], "usage": usage(n)})
            last[-1]["timings"] = stats(n)
            for event in last:
                self.send_event(event)
            self.send_event("[DONE]")
        except (BrokenPipeError, ConnectionResetError):  # the client cut the stream
            self.server.cut = True


def replay(answers: list[Answer], supports_tools: bool | None = True) -> Iterator[ReplayServer]:
    """``supports_tools`` None: a server without ``/props``."""
    yield from serving(ReplayServer(answers, None if supports_tools is None else props(supports_tools)))
