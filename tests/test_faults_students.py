"""Students under faults: a turn timeout on the in-process model, hostile chat templates, options
and caches that would exhaust memory or fail at setup, a misbehaving OpenAI-compatible server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_arena.engine.student import StudentConfig, StudentError, StudentWarning

from .helpers import ROOT, fault_probe, run_pytest

PYTHON_FIXTURES = ROOT / "fixtures" / "python"
CHEAP = ("unix__01-uniq", "unix__02-tr", "leetcode__01-roman-numerals")


def _llama_student() -> object:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: run ./run setup")
    from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path

    try:
        return LlamaCppStudent(default_model_path(), name="smollm2-135m")
    except StudentError as exc:
        pytest.skip(str(exc))


LONG = StudentConfig(max_tokens=4000, turn_timeout_s=0, repetition_stop=None, stop=())
ASK = [{"role": "user", "content": "Count from one to one thousand, in words, one number a line."}]
# A prompt whose prefill alone takes seconds: a cancel lands inside llama_decode, not between tokens.
LONG_ASK = [{"role": "user", "content": "apple banana cherry " * 1000 + "Count from one to one thousand."}]


@pytest.mark.slow
def test_a_cancelled_generation_stops_and_the_context_is_reused() -> None:
    student = _llama_student()
    box: dict[str, object] = {}
    worker = threading.Thread(target=lambda: box.update(result=student.generate(LONG_ASK, LONG)), daemon=True)
    worker.start()
    time.sleep(0.3)
    student.cancel()
    worker.join(5)
    assert not worker.is_alive(), "the generation went on after cancel()"
    assert box["result"].finish_reason == "timeout"
    again = student.generate(ASK, StudentConfig(max_tokens=8, turn_timeout_s=0))
    assert again.completion_tokens > 0 and again.finish_reason in ("length", "stop")
    student.close()


@pytest.mark.slow
def test_a_context_that_is_not_let_go_is_reloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_arena.students import llama_guard

    student = _llama_student()
    monkeypatch.setattr(llama_guard, "RELEASE_WAIT_S", 0.2)
    stuck, old = student._guard, student.llm
    assert stuck.acquire()  # a generation that never returns holds the context
    result = student.generate(ASK, StudentConfig(max_tokens=8, turn_timeout_s=0))
    assert result.completion_tokens > 0
    assert student.llm is not old, "the context still held by a generation was reused"
    stuck.release()
    old.close()
    student.close()


# The run's terminal output, written while another thread loads a model (a reload after a turn
# timeout runs on the abandoned turn thread while the session prints its summary).
LOAD_WHILE_PRINTING = """
import sys, threading
from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path
out, done = sys.stdout, threading.Event()
def load():
    for _ in range(3):
        LlamaCppStudent(default_model_path(), name="m").close()
    done.set()
threading.Thread(target=load).start()
sent = 0
while not done.is_set():
    out.write(f"line {sent}\\n"); out.flush(); sent += 1
print("sent", sent, file=sys.__stderr__)
"""


@pytest.mark.slow
def test_a_model_loading_on_another_thread_does_not_swallow_the_run_output() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: run ./run setup")
    run = subprocess.run(
        [sys.executable, "-c", LOAD_WHILE_PRINTING], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    sent = int(run.stderr.split("sent ")[-1])
    received = run.stdout.count("line ")
    # Before: llama-cpp-python pointed fd 1 at /dev/null during each load; 183 of 954 lines arrived.
    assert not fault_probe("output while a model loads", run.stderr, data_lost=received != sent)
    assert received == sent > 0


@pytest.mark.slow
def test_a_llama_turn_timeout_does_not_kill_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As on CI, where pytest shows a string failure text whole in the short summary (before: every
    # item repeated its oracle's output tail there, fixture tracebacks included).
    monkeypatch.setenv("CI", "true")
    reports = tmp_path / "r"
    run = run_pytest(
        "--arena", "-p", "no:xdist", f"--arena-root={PYTHON_FIXTURES}", "--arena-turn-timeout", "2",
        "--arena-max-turns", "2", f"--arena-reports={reports}", "-k", " or ".join(CHEAP), timeout=600,
    )  # fmt: skip
    assert run.returncode not in (139, -11), run.output[-3000:]
    lines = (reports / "latest" / "results.jsonl").read_text().splitlines()
    found = {json.loads(line)["fixture"] for line in lines}
    # The FAILURES section holds the fixtures' own failing tests, which the student is shown.
    assert "= arena =" in run.stdout, run.stdout[-3000:]  # the summary, not lost to a reload's redirect
    shown = run.output.split("= FAILURES =")[0] + run.output.split("= arena =")[-1]
    assert not fault_probe("llama turn timeout", shown, data_lost=found != set(CHEAP))
    summary = run.stdout.split("= short test summary info =")[-1].splitlines()[1:-1]
    assert len(summary) == len(CHEAP), summary  # one line per item
    assert found == set(CHEAP), run.output[-3000:]
    assert "Segmentation fault" not in run.output


@pytest.mark.slow
def test_n_ctx_past_the_trained_context_is_capped_with_a_warning() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: run ./run setup")
    from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path

    with pytest.warns(StudentWarning) as caught:
        student = LlamaCppStudent(default_model_path(), name="smollm2-135m", n_ctx=1_000_000_000)
    try:
        assert student.describe()["n_ctx"] == 8192  # SmolLM2's llama.context_length
    finally:
        student.close()
    line = str(caught[0].message)
    assert "--arena-n-ctx 1000000000" in line and "8192" in line and "\n" not in line
    assert not fault_probe("n_ctx past the trained context", line)


@pytest.mark.slow
def test_an_unwritable_native_probe_cache_degrades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_arena.students import native_probe

    if native_probe.installed_library() is None:
        pytest.skip("llama-cpp-python not installed: run ./run setup")
    from pytest_arena.students.llama_cpp import default_model_path

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # a file where the cache folder would go: unwritable even for root
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setattr(native_probe, "_UNSAVED", [], raising=False)
    with pytest.warns(StudentWarning) as caught:
        native_probe.probe(default_model_path(), 0)
        native_probe.probe(default_model_path(), 0)  # said once, not per probe
    lines = [str(w.message) for w in caught if issubclass(w.category, StudentWarning)]
    assert len(lines) == 1 and "native-probe cache" in lines[0] and "without saving" in lines[0]
    assert not fault_probe("read-only native-probe cache", lines[0])


BOMB = "{% set s = 'x' * 3000000000 %}{{ s | length }}"
NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}"
RECURSIVE = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
HUGE_RANGE = "{% for i in range(10**6) %}{% endfor %}"
ESCAPE = "{{ ''.__class__.__mro__[1].__subclasses__() }}"


@pytest.mark.slow
@pytest.mark.parametrize("source", [BOMB, NESTED, RECURSIVE, HUGE_RANGE], ids=["bomb", "nested", "recursive", "range"])
def test_a_template_past_its_budget_is_a_driver_error_naming_it(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_arena.students import template_process

    monkeypatch.setattr(template_process, "RENDER_S", 2.0)
    started = time.monotonic()
    with pytest.raises(StudentError) as caught:
        template = template_process.TemplateProcess(source, origin="evil.gguf (tokenizer.chat_template)")
        template.render([{"role": "user", "content": "hi"}])
    assert time.monotonic() - started < 10
    line = str(caught.value)
    assert line.startswith("the chat template of evil.gguf (tokenizer.chat_template) ") and "\n" not in line
    assert not fault_probe(f"template past its budget ({source[:20]})", line)


def _templated_copy(tmp_path: Path, name: str, source: str) -> Path:

    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: run ./run setup")
    from pytest_arena.students.llama_cpp import default_model_path

    tool = Path(sys.executable).with_name("gguf-new-metadata")
    if not tool.exists():
        pytest.skip("the gguf package is not installed (pip install -e '.[dev]')")
    (tmp_path / f"{name}.jinja").write_text(source)
    copy = tmp_path / f"{name}.gguf"
    command = [str(tool), "--force", "--chat-template-file", str(tmp_path / f"{name}.jinja"), str(default_model_path())]
    subprocess.run([*command, str(copy)], check=True, capture_output=True, timeout=120)
    return copy


@pytest.mark.slow
def test_hostile_gguf_templates_are_named_and_escapes_are_said(tmp_path: Path) -> None:
    models = {
        name: _templated_copy(tmp_path, name, source)
        for name, source in [("bomb", BOMB), ("recursive", RECURSIVE), ("escape", ESCAPE)]
    }
    reports = tmp_path / "r"
    students = [arg for model in models.values() for arg in ("--arena-student", f"llama:{model}")]
    run = run_pytest(
        "--arena", "-p", "no:xdist", f"--arena-root={PYTHON_FIXTURES}", *students, "--arena-max-turns", "1",
        f"--arena-reports={reports}", "-k", "unix__01-uniq", timeout=600,
    )  # fmt: skip
    found = {r["student"]: r for r in map(json.loads, (reports / "latest" / "results.jsonl").read_text().splitlines())}
    shown = run.output.split("= FAILURES =")[0] + run.output.split("= arena =")[-1]
    assert not fault_probe("hostile GGUF templates", shown, data_lost=set(found) != set(models)), shown[-3000:]
    for name in ("bomb", "recursive"):
        assert found[name]["outcome"] == "DriverError", found[name]
        assert f"the chat template of {models[name]} (tokenizer.chat_template)" in found[name]["outcome_fields"]
    assert found["escape"]["outcome"] != "DriverError"
    assert "escape.gguf: its chat template failed (" in run.output and "runs with ChatML" in run.output


def _openai_server(bodies: list[tuple[int, dict[str, str], bytes]]) -> Iterator[object]:
    """Answers each request with the next (status, headers, body); the last one repeats."""
    from .chat_server import ScriptedHandler, ScriptedServer, serving

    class Handler(ScriptedHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            status, headers, body = self.server.take(self.request_body())  # type: ignore[attr-defined]
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    yield from serving(ScriptedServer(bodies, Handler))


def _completion(message: object, usage: object = None) -> bytes:
    body = {"choices": [{"message": message, "finish_reason": "stop"}], "usage": usage or {"prompt_tokens": 3}}
    return json.dumps(body).encode()


OK = (200, {}, _completion({"role": "assistant", "content": "hello"}))


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize(
    "body",
    [
        _completion("just a string"),
        _completion({"role": "assistant", "content": "hi"}, {"prompt_tokens": "many", "completion_tokens": "x"}),
        _completion(None),
    ],
    ids=["string-message", "text-usage", "null-message"],
)
def test_a_malformed_openai_answer_is_a_driver_error(body: bytes, streamed: bool) -> None:
    pytest.importorskip("httpx")
    from pytest_arena.students.openai_http import OpenAIStudent

    for server in _openai_server([(200, {}, body)]):
        student = OpenAIStudent(server.url, "m", name="m", retries=1)  # type: ignore[attr-defined]
        config = StudentConfig() if streamed else StudentConfig(repetition_stop=None)
        with pytest.raises(StudentError) as caught:
            student.generate([{"role": "user", "content": "hi"}], config)
        line = str(caught.value)
        assert "not an OpenAI chat completion" in line and "\n" not in line
        assert not fault_probe(f"openai malformed answer ({len(body)})", line)


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
def test_http_429_is_retried_with_backoff(streamed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("httpx")
    from pytest_arena.students import openai_http

    monkeypatch.setattr(openai_http, "RATE_LIMIT_BASE_S", 0.01)
    monkeypatch.setattr(openai_http, "RATE_LIMIT_CAP_S", 0.05)
    config = StudentConfig() if streamed else StudentConfig(repetition_stop=None)
    limited = (429, {"Retry-After": "0"}, b"slow down")
    for server in _openai_server([limited, limited, OK]):
        student = openai_http.OpenAIStudent(server.url, "m", name="m", retries=1)  # type: ignore[attr-defined]
        assert student.generate([{"role": "user", "content": "hi"}], config).text == "hello"
        assert len(server.requests) == 3  # type: ignore[attr-defined]
    for server in _openai_server([limited]):
        student = openai_http.OpenAIStudent(server.url, "m", name="m", retries=1)  # type: ignore[attr-defined]
        with pytest.raises(StudentError, match="HTTP 429 .rate limited. on 5 attempts"):
            student.generate([{"role": "user", "content": "hi"}], config)
        assert len(server.requests) == openai_http.RATE_LIMIT_RETRIES  # type: ignore[attr-defined]
    fault_probe("openai HTTP 429")
