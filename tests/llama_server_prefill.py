"""A real llama-server made to call tools: a proxy in front of it adds, to each chat request, an
assistant prefill holding the next scripted call in the template's own syntax.

SmolLM2-135M never calls a tool by itself, and tool_choice "required" does not force one on
llama-server (issue 22, finding 8). With a prefill llama-server continues the assistant message
and parses prefill plus continuation with the template's tool-call parser, so what the arena gets
back is the server's own `tool_calls` (or its own error), streamed or not. The continuation is
made to end at once (a logit bias on the end-of-turn token): a 135M model's stray token after the
call would make the server reject the whole message, which is finding 2's case, not this one's.
Only the request is changed; the answer is passed on byte for byte.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from pytest_arena.engine.dialects import DIALECTS
from pytest_arena.engine.protocol import ToolCall
from pytest_arena.engine.workspace import iter_files

from .chat_server import ScriptedHandler

# llama.cpp's copy of Qwen2.5-7B-Instruct's template (models/templates/, MIT): ChatML, as SmolLM2
# was trained on, with Hermes-style <tool_call> blocks that llama-server parses into tool_calls.
TEMPLATE = Path(__file__).parent / "data" / "templates" / "Qwen-Qwen2.5-7B-Instruct.jinja"
END_OF_TURN = "<|im_end|>"  # ChatML's, SmolLM2's end-of-generation token


def solution_calls(fixture: Path) -> list[str]:
    """The reference solution as prefills: one file_write per solution file, then finish."""
    solution = fixture / "solution"
    calls = [
        ToolCall("file_write", {"path": rel, "content": (solution / rel).read_text()}) for rel in iter_files(solution)
    ]
    calls.append(ToolCall("finish", {"summary": "applied the reference solution"}))
    return [DIALECTS["hermes"].render_calls([call]) for call in calls]


class PrefillProxy(ThreadingHTTPServer):
    def __init__(self, upstream: str, prefills: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), PrefillHandler)
        self.upstream, self.prefills = upstream, prefills
        self.client = httpx.Client(timeout=300)
        self.sent: list[dict[str, Any]] = []
        asked = self.client.post(upstream + "/tokenize", json={"content": END_OF_TURN, "parse_special": True})
        (self.end_of_turn,) = asked.json()["tokens"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class PrefillHandler(ScriptedHandler):
    server: PrefillProxy

    def do_GET(self) -> None:  # /props, /v1/models, /health: as the server answers them
        answer = self.server.client.get(self.server.upstream + self.path)
        self.send_body(answer.status_code, answer.content)

    def do_POST(self) -> None:
        body = self.request_body()
        turn = sum(message.get("role") == "assistant" for message in body.get("messages", []))
        prefills = self.server.prefills
        body["messages"].append({"role": "assistant", "content": prefills[min(turn, len(prefills) - 1)]})
        body["logit_bias"] = {str(self.server.end_of_turn): 100}
        self.server.sent.append(body)
        with self.server.client.stream("POST", self.server.upstream + self.path, json=body) as answer:
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
            self.end_headers()
            for piece in answer.iter_raw():
                self.wfile.write(piece)
                self.wfile.flush()


@contextmanager
def prefilled(upstream: str, prefills: list[str]) -> Iterator[PrefillProxy]:
    proxy = PrefillProxy(upstream, prefills)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        proxy.client.close()


def dumps(value: Any) -> str:
    return json.dumps(value, indent=1)[:2000]
