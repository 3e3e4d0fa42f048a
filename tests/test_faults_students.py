"""Students under faults: a turn timeout on the in-process model, hostile chat templates, options
and caches that would exhaust memory or fail at setup, a misbehaving OpenAI-compatible server."""

from __future__ import annotations

import json
import threading
import time
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


@pytest.mark.slow
def test_a_cancelled_generation_stops_and_the_context_is_reused() -> None:
    student = _llama_student()
    box: dict[str, object] = {}
    worker = threading.Thread(target=lambda: box.update(result=student.generate(ASK, LONG)), daemon=True)
    worker.start()
    time.sleep(0.5)
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


@pytest.mark.slow
def test_a_llama_turn_timeout_does_not_kill_the_run(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    run = run_pytest(
        "--arena", "-p", "no:xdist", f"--arena-root={PYTHON_FIXTURES}", "--arena-turn-timeout", "2",
        "--arena-max-turns", "2", f"--arena-reports={reports}", "-k", " or ".join(CHEAP), timeout=600,
    )  # fmt: skip
    assert run.returncode not in (139, -11), run.output[-3000:]
    lines = (reports / "latest" / "results.jsonl").read_text().splitlines()
    found = {json.loads(line)["fixture"] for line in lines}
    # The FAILURES section holds the fixtures' own failing tests, which the student is shown.
    shown = run.output.split("= FAILURES =")[0] + run.output.split("= arena =")[-1]
    assert not fault_probe("llama turn timeout", shown, data_lost=found != set(CHEAP))
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
