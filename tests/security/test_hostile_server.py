"""A hostile (or broken, looping) OpenAI-compatible server answers without end: the openai: student
stops reading at a byte cap with a one-line error, its memory bounded, streamed or not, and a
server description (/props, /v1/models) that never ends is no description."""

from __future__ import annotations

import tracemalloc
from http.server import ThreadingHTTPServer

import pytest

from pytest_arena.engine.student import StudentConfig, StudentError
from pytest_arena.students import http_limits
from pytest_arena.students.openai_http import OpenAIStudent

from ..chat_server import ScriptedHandler, serving
from .conftest import TALLY

pytest.importorskip("httpx")

CAP = 2**20  # the cap for these tests; the real one is 64 MiB
SENT = 48 * 2**20  # what the server would send if let
CHUNK = b"a" * 2**16


class Endless(ScriptedHandler):
    """Every answer: one line (no newline) of SENT bytes, as JSON or as an event stream."""

    def _flood(self, content_type: str, prefix: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        try:
            self.wfile.write(prefix)
            for _ in range(SENT // len(CHUNK)):
                self.wfile.write(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: the point

    def do_GET(self) -> None:
        self._flood("application/json", b'{"model_path": "')

    def do_POST(self) -> None:
        streamed = b'"stream": true' in self.rfile.read(int(self.headers["Content-Length"]))
        if streamed:
            self._flood("text/event-stream", b"data: ")
        else:
            self._flood("application/json", b'{"choices": "')


MODES = {"streamed": StudentConfig(), "whole": StudentConfig(repetition_stop=None)}


@pytest.mark.parametrize("mode", MODES)
def test_an_endless_answer_stops_at_the_cap(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setattr(http_limits, "MAX_ANSWER_BYTES", CAP)
    for server in serving(ThreadingHTTPServer(("127.0.0.1", 0), Endless)):
        student = OpenAIStudent(f"http://127.0.0.1:{server.server_address[1]}", "m", name="m", retries=1)
        tracemalloc.start()
        try:
            with pytest.raises(StudentError) as caught:
                student.generate([{"role": "user", "content": "hi"}], MODES[mode])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            student.close()
        message = str(caught.value)
        breached = "size cap" not in message or peak > 16 * 2**20
        TALLY.append((f"an endless answer ({mode})", breached))
        assert not breached, (message[:300], peak)
        assert "\n" not in message and len(message) < 300


def test_an_endless_server_description_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for server in serving(ThreadingHTTPServer(("127.0.0.1", 0), Endless)):
        student = OpenAIStudent(f"http://127.0.0.1:{server.server_address[1]}", "m", name="m", retries=1)
        tracemalloc.start()
        try:
            facts = student.server()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            student.close()
        breached = bool(facts.describe().get("server_model_path")) or peak > 16 * 2**20
        TALLY.append(("an endless server description", breached))
        assert not breached, (facts, peak)
