"""The openai: student against a real llama-server (issue 22 item 1): the one `./run setup --server`
builds, started by the README's `./run serve`. Skipped where that build is not cached (CI's fresh
machine: building it takes longer than CI's budget); run `./run setup --server` once to run them.

The calls are forced with an assistant prefill (tests/llama_server_prefill.py): what the arena
reads back is still the server's own parse of them, streamed and not."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_arena.engine import outcomes as oc
from pytest_arena.engine.sandbox import Sandbox
from pytest_arena.engine.student import StudentConfig
from pytest_arena.llama_build import mismatches
from pytest_arena.llama_server_build import runs, server_flags, server_path

from .helpers import ROOT, session
from .llama_server_prefill import TEMPLATE, prefilled, solution_calls
from .test_openai_student import free_port

pytest.importorskip("httpx")

SERVER = server_path()
ROMAN = ROOT / "fixtures" / "python" / "leetcode__01-roman-numerals"
MODES = {"streamed": StudentConfig(), "whole": StudentConfig(repetition_stop=None)}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(runs(SERVER) is None, reason=f"no llama-server at {SERVER}: ./run setup --server builds it"),
]


def readme_lines() -> tuple[str, str]:
    """The README's `./run serve` line and the `pytest` line it says that prints."""
    lines = (ROOT / "README.md").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("./run serve default"))
    return lines[at].split("  #")[0].strip(), lines[at + 1].strip()


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, str]]:
    """The README's `./run serve default ...`, on a free port and re-templated with Qwen2.5's
    tool-calling template; yields (the server's URL, the --arena-student spec it printed, which is
    the README's next line)."""
    serve_line, pytest_line = readme_lines()
    port = free_port()
    command = [*serve_line.replace("8080", str(port)).split(), "--", "--chat-template-file", str(TEMPLATE)]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(2)]
        assert lines[-1].strip() == pytest_line.replace("8080", str(port)), lines
        spec = pytest_line.split("--arena-student ")[1].replace("8080", str(port))
        yield f"http://127.0.0.1:{port}", spec
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_setup_server_keeps_the_cached_build() -> None:
    before = SERVER.stat().st_mtime_ns
    setup = subprocess.run([str(ROOT / "run"), "setup", "--server"], cwd=ROOT, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert f"llama-server: {SERVER}" in setup.stderr and "building llama-server" not in setup.stderr
    assert SERVER.stat().st_mtime_ns == before


def test_the_server_has_the_cpu_features_the_wheel_has() -> None:
    """At log level 4 llama-server prints its CPU backend's compiled-in features: exactly those
    the flags asked for (never AMX), as `./run setup` checks for the wheel."""
    from pytest_arena.students.llama_cpp import default_model_path

    command = [str(SERVER), "-m", str(default_model_path()), "--port", str(free_port()), "-lv", "4"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        info = next((line for line in server.stderr if "system_info" in line), "")
    finally:
        server.kill()
        server.wait()
    assert "AVX" in info or "NEON" in info, info
    assert mismatches(server_flags(), info) == [], info


@pytest.mark.parametrize("dialect", ["native", "auto"])
@pytest.mark.parametrize("mode", MODES)
def test_forced_calls_through_a_real_server_pass_the_oracle(served: tuple[str, str], mode: str, dialect: str) -> None:
    from pytest_arena.students.openai_http import OpenAIStudent

    url, spec = served
    with prefilled(url, solution_calls(ROMAN)) as proxy:
        student = OpenAIStudent(proxy.url, spec.rpartition("#")[2], name="served")
        result, _diff = session(ROMAN, student, Sandbox("bwrap"), dialect=dialect, config=MODES[mode])
    assert result.outcome == oc.OraclePassed(), (result.outcome, [t.stop_detail for t in result.turns])
    assert result.native_calls == len(solution_calls(ROMAN)) and result.text_turns == 0
    assert [t.finish_reason for t in result.turns] == ["tool_calls"] * result.native_calls
    assert result.truncated_turns == 0
    first = result.turns[0]
    assert first.prompt_tokens > 0, "the server's token counts were read"
    described = student.describe()
    assert described.get("server_model") and described.get("server_build"), described


def test_the_arena_runs_against_the_served_model(served: tuple[str, str], tmp_path: Path) -> None:
    """The line `./run serve` printed, used as printed: items complete (the 135M model calls no
    tool by itself, so no pass is expected), and the record names the server's model."""
    import json

    from .helpers import run_pytest

    _url, spec = served
    reports = tmp_path / "r"
    run = run_pytest(
        "--arena", "-p", "no:xdist", f"--arena-root={ROMAN.parent}", "--arena-student", spec,
        "--arena-max-turns", "1", "--arena-max-tokens", "64", f"--arena-reports={reports}", "-k", "roman",
    )  # fmt: skip
    assert run.returncode in (0, 1), run.output[-3000:]
    (record,) = [json.loads(line) for line in (reports / "latest" / "results.jsonl").read_text().splitlines()]
    assert record["outcome"] not in ("DriverError", "HarnessError"), record["outcome_fields"]
    assert record["student_info"]["server_model"], record["student_info"]
