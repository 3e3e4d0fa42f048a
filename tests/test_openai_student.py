"""The OpenAI-compatible student against a real HTTP server on 127.0.0.1 (a tiny one, in a thread)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.student import StudentConfig, StudentError
from pytest_arena.students.openai_http import OpenAIStudent
from pytest_arena.students.scripted import ReferenceStudent

from .chat_server import ScriptedHandler, ScriptedServer, serving
from .helpers import CORPUS, junit_cases, requires_cargo, run_pytest

FIXTURE = "leetcode__01-two-sum"


class ChatServer(ScriptedServer[str]):
    """Answers /v1/chat/completions with the next scripted reply; records every request body."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies, ChatHandler)
        self.status = 200
        self.sent, self.cut = 0, False


class ChatHandler(ScriptedHandler):
    server: ChatServer

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.request_body()
        text = self.server.take({"path": self.path, **body})
        if body.get("stream") and self.server.status == 200:
            self._stream(text)
            return
        payload = {
            "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100 + len(self.server.requests), "completion_tokens": 7},
            "timings": {"prompt_n": 11},
        }
        self.send_body(self.server.status, json.dumps(payload).encode() if self.server.status == 200 else b"overloaded")

    def _stream(self, text: str) -> None:
        """Server-sent events as llama-server sends them: one piece per chunk, usage at the end."""
        self.start_events()
        try:
            for piece in re.findall(r"\w+|\s+|[^\w\s]", text):
                self.send_event({"choices": [{"delta": {"content": piece}, "finish_reason": None}]})
                self.server.sent += 1
            self.send_event(
                {
                    "choices": [{"delta": {}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 100 + len(self.server.requests), "completion_tokens": 7},
                    "timings": {"prompt_n": 11},
                }
            )
            self.send_event("[DONE]")
        except (BrokenPipeError, ConnectionResetError):  # the client cut the stream
            self.server.cut = True


def serve(replies: list[str]) -> Iterator[ChatServer]:
    yield from serving(ChatServer(replies))


@pytest.fixture
def reference_turns() -> list[str]:
    student = ReferenceStudent()
    student.start(load_fixture(CORPUS / FIXTURE), StudentConfig())
    return list(student._turns)


@pytest.fixture
def server(reference_turns: list[str]) -> Iterator[ChatServer]:
    yield from serve(reference_turns)


def test_request_carries_every_sampling_value_and_usage_comes_back(server: ChatServer) -> None:
    student = OpenAIStudent.from_spec(f"{server.url}#tiny-model", name="tiny")
    config = StudentConfig(temperature=0.2, top_k=20, seed=5, max_tokens=99)
    student.start(load_fixture(CORPUS / FIXTURE), config)
    result = student.generate([{"role": "user", "content": "hi"}], config)
    sent = server.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["model"] == "tiny-model"
    assert (sent["temperature"], sent["top_k"], sent["seed"], sent["max_tokens"]) == (0.2, 20, 5, 99)
    assert "grammar" not in sent
    assert (result.prompt_tokens, result.completion_tokens, result.prefill_tokens) == (101, 7, 11)
    assert result.text.startswith("<tool_call>")


def test_non_streamed_when_the_repetition_stop_is_off(server: ChatServer) -> None:
    student = OpenAIStudent(server.url, "m", name="m")
    result = student.generate([{"role": "user", "content": "hi"}], StudentConfig(repetition_stop=None))
    assert server.requests[0]["stream"] is False
    assert (result.completion_tokens, result.finish_reason) == (7, "stop")


@pytest.mark.slow
def test_a_degenerate_stream_is_cut_by_closing_it() -> None:
    looping = "Here is the plan.\n\n" + "# Two-Sum\n\n" * 2000
    for server in serve([looping]):
        student = OpenAIStudent(server.url, "m", name="m")
        result = student.generate([{"role": "user", "content": "hi"}], StudentConfig())
        assert server.requests[0]["stream"] is True
        assert result.finish_reason == "repetition" and "repeated" in result.extra["repetition"]
        assert result.text.startswith("Here is the plan.") and len(result.text) < 300
        assert result.completion_tokens == len(re.findall(r"\w+|\s+|[^\w\s]", result.text))


def test_constrained_sends_a_tool_call_grammar(server: ChatServer) -> None:
    pytest.importorskip("llama_cpp")
    from pytest_arena.engine.tools import BUILTIN_TOOLS, call_schema

    config = StudentConfig(constrained=True, tool_schema=call_schema(BUILTIN_TOOLS))
    student = OpenAIStudent.from_spec(f"{server.url}/v1#m", name="m")
    student.start(load_fixture(CORPUS / FIXTURE), config)
    student.generate([{"role": "user", "content": "hi"}], config)
    assert server.requests[0]["grammar"].startswith('root ::= "<tool_call>')
    assert student.describe()["grammar"] == "sent (grammar field)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_server_down_is_a_clear_error_after_retries() -> None:
    student = OpenAIStudent(f"http://127.0.0.1:{free_port()}", "m", name="m", retries=2)
    with pytest.raises(StudentError, match=r"cannot connect after 2 attempts"):
        student.generate([{"role": "user", "content": "hi"}], StudentConfig())


def test_http_error_and_garbage_are_clear_errors(server: ChatServer) -> None:
    student = OpenAIStudent(server.url, "m", name="m")
    server.status = 503
    with pytest.raises(StudentError, match=r"HTTP 503: overloaded"):
        student.generate([{"role": "user", "content": "hi"}], StudentConfig())


@pytest.mark.parametrize("spec", ["openai:127.0.0.1:8080#m", "openai:http://127.0.0.1:8080"])
def test_bad_specs(spec: str) -> None:
    with pytest.raises(StudentError, match="expected openai:URL#MODEL"):
        OpenAIStudent.from_spec(spec.removeprefix("openai:"), name="x")


@pytest.mark.slow
@requires_cargo
def test_full_arena_item_over_http(server: ChatServer, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run = run_pytest(
        "--arena",
        "--arena-student",
        f"openai:{server.url}#served",
        f"--junitxml={junit}",
        f"--arena-reports={tmp_path / 'r'}",
        str(CORPUS / FIXTURE),
    )
    assert run.returncode == 0, run.output
    props = junit_cases(junit)[f"{FIXTURE}[served-t0-s0]"]
    assert props["arena.outcome"] == "OraclePassed" and props["arena.student.backend"] == "openai_http"
    assert int(props["arena.tokens_completion"]) == 7 * int(props["arena.turns"])
