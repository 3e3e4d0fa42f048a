"""The openai: student against a replay of a real llama-server's wire behaviour (issue 22, "Found
against a real llama-server", findings 1-6): each test sends what the server was seen to send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_arena.engine import outcomes as oc
from pytest_arena.engine.sandbox import Sandbox
from pytest_arena.engine.scheme_traits import TRAITS
from pytest_arena.engine.session import SessionResult
from pytest_arena.engine.student import StudentConfig
from pytest_arena.progress import turn_line
from pytest_arena.students.openai_http import OpenAIStudent

from .helpers import FINISH, call, fault_probe, session, tiny_fixture
from .llama_server_replay import BUILD, CACHED, MALFORMED, PROMPT, Answer, ReplayServer, replay
from .test_openai_student import free_port

pytest.importorskip("httpx")

WRITE = Answer(calls=[("file_write", json.dumps({"path": "answer.txt", "content": "42\n"}))])
DONE = Answer(calls=[("finish", json.dumps({"summary": "done"}))])
STREAMED = {"streamed": StudentConfig(), "whole": StudentConfig(repetition_stop=None)}


def run(tmp_path: Path, server: ReplayServer, mode: str = "streamed", dialect: str = "native") -> SessionResult:
    student = OpenAIStudent(server.url, "served", name="served", retries=1)
    result, _ = session(tiny_fixture(tmp_path), student, Sandbox("none"), dialect=dialect, config=STREAMED[mode])
    return result


def serve(answers: list[Answer], supports_tools: bool | None = True) -> Iterator[ReplayServer]:
    return replay(answers, supports_tools)


@pytest.mark.parametrize("mode", STREAMED)
def test_a_tool_call_turn_is_not_a_truncated_turn(tmp_path: Path, mode: str) -> None:
    """Finding 1: finish_reason "tool_calls" is how the model ends a call turn, not a cut."""
    for server in serve([WRITE, DONE]):
        result = run(tmp_path, server, mode)
        assert result.outcome == oc.OraclePassed() and result.native_calls == 2
        assert [t.finish_reason for t in result.turns] == ["tool_calls", "tool_calls"]
        assert result.truncated_turns == 0
        assert "stopped" not in turn_line("item", 1, 6, result.turns[0])


@pytest.mark.parametrize("mode", STREAMED)
def test_a_call_the_server_cannot_parse_is_a_text_turn_both_ways(tmp_path: Path, mode: str) -> None:
    """Finding 2: llama-server sends the call's deltas, then an error event (HTTP 500 unstreamed)."""
    broken = Answer(calls=[("file_read", "{")], error=MALFORMED)
    for server in serve([broken, WRITE, DONE]):
        result = run(tmp_path, server, mode)
        assert result.outcome == oc.OraclePassed(), result.outcome
        assert (result.text_turns, result.native_calls, result.turns[0].calls) == (1, 2, [])
        assert MALFORMED in result.turns[0].stop_detail and result.turns[0].finish_reason == "stop"
        told = server.requests[1]["messages"][-1]
        assert told["role"] == "user" and "No tool call found" in told["content"]  # the model is told


@pytest.mark.parametrize("mode", STREAMED)
def test_any_other_server_error_stays_a_driver_error(tmp_path: Path, mode: str) -> None:
    for server in serve([WRITE, Answer(content="x", error="failed to decode the batch")]):
        result = run(tmp_path, server, mode)
        assert isinstance(result.outcome, oc.DriverError) and result.outcome.turn == 2
        assert not fault_probe(f"openai server error ({mode})", result.outcome.message)
        assert "failed to decode the batch" in result.outcome.message and "\n" not in result.outcome.message
        assert len(result.turns) == 1


def test_the_repetition_stop_reads_call_arguments() -> None:
    """Finding 3: a call whose content argument loops is cut as looping text is."""
    looping = json.dumps({"path": "a.py", "content": "print(1)\n" * 2000})
    for server in serve([Answer(calls=[("file_write", looping)])]):
        student = OpenAIStudent(server.url, "m", name="m")
        result = student.generate([{"role": "user", "content": "hi"}], StudentConfig())
        assert result.finish_reason == "repetition" and "repeated" in result.extra["repetition"]
        assert result.completion_tokens < 200  # of about 2600 argument fragments: cut where it looped


@pytest.mark.parametrize("dialect", ["auto", "native"])
def test_tools_a_template_cannot_render_are_described_in_the_prompt(tmp_path: Path, dialect: str) -> None:
    """Finding 4: /props says supports_tools false: a text dialect that lists the tools, with the reason."""
    for server in serve(
        [Answer(content=call("file_write", path="answer.txt", content="42\n")), Answer(content=FINISH)], False
    ):
        result = run(tmp_path, server, dialect=dialect)
        assert result.outcome == oc.OraclePassed(), result.outcome
        assert (result.dialect["dialect"], result.dialect["dialect_source"]) == ("arena", "fallback")
        assert "supports_tools: false" in result.dialect["dialect_reason"]
        first = server.requests[0]
        assert "tools" not in first and "file_write" in first["messages"][0]["content"]
        assert server.gets.count("/props") == 1  # asked once, not per turn


@pytest.mark.parametrize("supports_tools", [True, None], ids=["llama-server", "no-props"])
def test_the_server_model_and_build_are_recorded(tmp_path: Path, supports_tools: bool | None) -> None:
    """Finding 4: /props and /v1/models; a server without /props (404) keeps the native dialect."""
    for server in serve([WRITE, DONE], supports_tools):
        result = run(tmp_path, server, dialect="auto")
        assert (result.dialect["dialect"], result.dialect["dialect_source"]) == ("native", "backend")
        info = OpenAIStudent(server.url, "served", name="served").describe()
        assert info["server_model"] == "SmolLM2-135M-Instruct-Q8_0.gguf"
        assert info.get("server_build") == (BUILD if supports_tools else None)
        assert info.get("server_tools") == ("supported" if supports_tools else None)
        assert set(info) <= TRAITS["openai"].record_keys  # a gate may select them


def test_a_cut_stream_keeps_its_token_counts() -> None:
    """Finding 5: a stream closed before its usage chunk still counts its prompt and prefill."""
    for server in serve([Answer(content="Here is the plan.\n\n" + "# Two-Sum\n\n" * 2000)]):
        student = OpenAIStudent(server.url, "m", name="m")
        result = student.generate([{"role": "user", "content": "hi"}], StudentConfig())
        assert result.finish_reason == "repetition"
        assert server.requests[0]["stream_options"] == {"include_usage": True}
        assert (result.prompt_tokens, result.prefill_tokens) == (PROMPT, PROMPT - CACHED)
        assert 0 < result.completion_tokens < 200


@pytest.mark.parametrize("mode", STREAMED)
def test_a_whole_stream_counts_from_its_usage(tmp_path: Path, mode: str) -> None:
    for server in serve([WRITE, DONE]):
        result = run(tmp_path, server, mode)
        assert [(t.prompt_tokens, t.prefill_tokens) for t in result.turns] == [(PROMPT, PROMPT - CACHED)] * 2
        assert all(t.completion_tokens > 0 for t in result.turns)


@pytest.mark.parametrize("mode", STREAMED)
def test_a_reset_connection_is_a_driver_error_that_keeps_the_turns(tmp_path: Path, mode: str) -> None:
    """Finding 6: llama-cpp-python's server resets a streamed request with tools: no traceback,
    the finished turns kept, one line that names the way out (unstreamed requests)."""
    for server in serve([WRITE, Answer(reset=True)]):
        result = run(tmp_path, server, mode)
        message = result.outcome.message if isinstance(result.outcome, oc.DriverError) else ""
        assert not fault_probe(f"openai connection reset ({mode})", message, data_lost=len(result.turns) != 1)
        assert isinstance(result.outcome, oc.DriverError) and result.outcome.turn == 2, result.outcome
        assert len(result.turns) == 1 and result.turns[0].results[0]["ok"]
        assert "broke off the connection" in message and "\n" not in message
        assert ("--arena-repetition-stop off" in message) == (mode == "streamed")


@pytest.mark.parametrize("mode", STREAMED)
def test_context_length_exceeded_is_context_exhausted(tmp_path: Path, mode: str) -> None:
    """Finding 6: llama-cpp-python's HTTP 400 context_length_exceeded is the student's ending."""
    for server in serve([WRITE, Answer(context=(2100, 2048))]):
        result = run(tmp_path, server, mode)
        assert result.outcome == oc.ContextExhausted(turn=2, prompt_tokens=2100, n_ctx=2048), result.outcome
        assert len(result.turns) == 1


def test_a_server_that_did_not_answer_is_asked_again() -> None:
    """Finding 4: no answer at all is not "no tools": the next use asks again."""
    for server in serve([DONE], False):
        student = OpenAIStudent(server.url, "m", name="m")
        student.root = f"http://127.0.0.1:{free_port()}"  # the server is not up yet
        assert student.native_tools_blocked() == "" and "server_build" not in student.describe()
        student.root = server.url
        assert "supports_tools: false" in student.native_tools_blocked()
        assert student.describe()["server_build"] == BUILD
