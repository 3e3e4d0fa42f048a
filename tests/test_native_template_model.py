"""The real SmolLM2 GGUF: its own template has no tools (auto falls back to arena, with the reason),
and a copy whose tokenizer.chat_template is Qwen3-Coder's (made with gguf-new-metadata) is detected
as qwen3-coder, renders the XML tool list, and keeps the KV prefix across turns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.oracle import fixture_compliance
from pytest_arena.engine.session import Session, SessionResult, SessionSettings
from pytest_arena.engine.student import StudentConfig, StudentError
from pytest_arena.engine.tools import Toolbox
from pytest_arena.engine.workspace import Workspace

from .helpers import ROOT

pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: run ./run setup")

from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path  # noqa: E402

FIXTURE = ROOT / "fixtures" / "python" / "leetcode__01-roman-numerals"
QWEN3_CODER = Path(__file__).parent / "data" / "templates" / "Qwen3-Coder.jinja"


def smollm2() -> Path:
    try:
        return default_model_path()
    except StudentError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def qwen_templated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """SmolLM2 with Qwen3-Coder's chat template: a copy made in about a second."""
    copy = tmp_path_factory.mktemp("gguf") / "smollm2-qwen3-coder.gguf"
    tool = Path(sys.executable).with_name("gguf-new-metadata")
    if not tool.exists():
        pytest.skip("the gguf package is not installed (pip install -e '.[dev]')")
    subprocess.run(
        [str(tool), "--force", "--chat-template-file", str(QWEN3_CODER), str(smollm2()), str(copy)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    loaded = LlamaCppStudent(copy, name="smollm2-qwen3-coder")
    yield loaded
    loaded.close()


def session(student: Any, max_turns: int, **config: Any) -> SessionResult:
    spec = load_fixture(FIXTURE)
    ws = Workspace(spec.repo_dir, spec.protected)
    settings = SessionSettings(config=StudentConfig(**config), max_turns=max_turns, text_loop_limit=0)
    try:
        return Session(spec, ws, student, settings, Toolbox(ws), fixture_compliance(spec)).run()
    finally:
        ws.cleanup()


@pytest.mark.slow
def test_default_template_without_tools_records_arena_and_why() -> None:
    student = LlamaCppStudent(smollm2(), name="smollm2-135m")
    try:
        result = session(student, 1, max_tokens=8)
    finally:
        student.close()
    assert (result.dialect["dialect"], result.dialect["dialect_source"]) == ("arena", "fallback")
    assert "no tool-call markers" in result.dialect["dialect_reason"]
    assert '<tool_call>\n{"name": "TOOL", "input": {...}}' in result.rendered_prompt


@pytest.mark.slow
def test_qwen3_coder_template_is_detected_and_renders_the_xml_tools(qwen_templated: LlamaCppStudent) -> None:
    result = session(qwen_templated, 1, max_tokens=8)
    assert (result.dialect["dialect"], result.dialect["dialect_source"]) == ("qwen3-coder", "template")
    assert result.dialect["dialect_template_sha256"] == (
        "5a38bfa05833266240066aedc497decc9b00cc0d3e3b8cceea98cf530196ab06"
    )
    prompt = result.rendered_prompt
    assert prompt.startswith("<|im_start|>system\nYou are a coding agent")
    assert "<tools>\n<function>\n<name>file_read</name>" in prompt and "<function=example_function_name>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


@pytest.mark.slow
def test_kv_prefix_reuse_holds_under_the_native_template(qwen_templated: LlamaCppStudent) -> None:
    turns = session(qwen_templated, 3, max_tokens=32).turns
    assert len(turns) == 3
    for before, turn in zip(turns, turns[1:], strict=False):
        new_tokens = turn.prompt_tokens - before.prompt_tokens
        assert turn.prefill_tokens <= new_tokens + 8, (turn.prefill_tokens, new_tokens)
        assert turn.prefill_tokens < turn.prompt_tokens / 2


def test_the_default_prompt_is_what_llama_cpp_python_rendered_before() -> None:
    """Our sandboxed renderer gives SmolLM2's template the same text as Jinja2ChatFormatter did."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from pytest_arena.engine.protocol import system_prompt
    from pytest_arena.engine.tools import BUILTIN_TOOLS
    from pytest_arena.students.chat_template import ChatTemplate
    from pytest_arena.students.gguf_meta import read_metadata

    source = read_metadata(smollm2())["tokenizer.chat_template"]
    messages = [
        {"role": "system", "content": system_prompt(BUILTIN_TOOLS)},
        {"role": "user", "content": "fix <it> & go"},
        {"role": "assistant", "content": '<tool_call>\n{"name": "finish", "input": {}}\n</tool_call>'},
    ]
    before = Jinja2ChatFormatter(template=source, eos_token="<|im_end|>", bos_token="", add_generation_prompt=True)
    assert ChatTemplate(source, eos_token="<|im_end|>").render(messages) == before(messages=messages).prompt


@pytest.mark.slow
def test_constrained_hermes_turns_are_strict_hermes_calls() -> None:
    """--arena-constrain under hermes: the grammar writes "arguments", and the hermes parser reads it."""
    student = LlamaCppStudent(smollm2(), name="smollm2-135m")
    try:
        spec = load_fixture(FIXTURE)
        ws = Workspace(spec.repo_dir, spec.protected)
        config = StudentConfig(max_tokens=200, constrained=True)
        settings = SessionSettings(config=config, max_turns=1, text_loop_limit=0, dialect="hermes")
        try:
            result = Session(spec, ws, student, settings, Toolbox(ws), fixture_compliance(spec)).run()
        finally:
            ws.cleanup()
        assert student.describe()["grammar"] == "compiled"
    finally:
        student.close()
    (turn,) = result.turns
    assert '"arguments"' in turn.raw_text and '"input"' not in turn.raw_text, turn.raw_text
    assert result.strict_calls == 1 and result.salvaged_calls == 0 and "dialect_grammar" not in result.dialect


@pytest.mark.slow
def test_constrained_under_a_dialect_without_a_grammar_says_so(qwen_templated: LlamaCppStudent) -> None:
    result = session(qwen_templated, 1, max_tokens=8, constrained=True)
    assert result.dialect["dialect_grammar"] == "not built: no grammar for the qwen3-coder dialect"
    assert "grammar" not in qwen_templated.describe()
