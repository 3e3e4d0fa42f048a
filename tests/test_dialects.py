"""Each dialect against the published chat templates of the families that speak it (tests/data/templates,
see SOURCES.md): rendered through the real template, parsed back, the same call."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pytest_arena.engine.dialects import DIALECTS
from pytest_arena.engine.dialects.base import function_schemas, parameter_schemas
from pytest_arena.engine.dialects.choose import choose
from pytest_arena.engine.dialects.qwen3_coder import convert
from pytest_arena.engine.dialects.speaker import Speaker, parse_any
from pytest_arena.engine.protocol import ToolCall, parse_tool_calls
from pytest_arena.engine.tools import BUILTIN_TOOLS
from pytest_arena.students.chat_template import ChatTemplate, TemplateRenderError

TEMPLATES = Path(__file__).parent / "data" / "templates"
FAMILIES = {
    "Qwen-Qwen2.5-7B-Instruct.jinja": "hermes",
    "Qwen-Qwen3-0.6B.jinja": "hermes",
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja": "hermes",
    "Qwen3-Coder.jinja": "qwen3-coder",
    "meta-llama-Llama-3.2-3B-Instruct.jinja": "llama3",
    "mistralai-Mistral-Nemo-Instruct-2407.jinja": "mistral",
}
# Raw multi-line Python with quotes, backslashes and a "}" — what JSON escaping gets wrong.
SOURCE = 'def roman(s: str) -> int:\n    """Reads "XIV"."""\n    return {"I": 1}["I"] + len("\\\\n")\n'
WRITE = ToolCall("file_write", {"path": "roman/__init__.py", "content": SOURCE}, id="c00010000")
SCHEMAS = parameter_schemas(function_schemas(BUILTIN_TOOLS))


def template(name: str) -> ChatTemplate:
    return ChatTemplate((TEMPLATES / name).read_text(encoding="utf-8"), bos_token="<s>", eos_token="</s>")


def test_sources_name_every_template() -> None:
    sources = (TEMPLATES / "SOURCES.md").read_text(encoding="utf-8")
    assert set(FAMILIES) == {p.name for p in TEMPLATES.glob("*.jinja")}
    assert all(name in sources for name in FAMILIES)


@pytest.mark.parametrize("name", FAMILIES)
def test_auto_detects_the_family_from_the_published_template(name: str) -> None:
    choice = choose("auto", (TEMPLATES / name).read_text(encoding="utf-8"), native_api=False)
    assert (choice.name, choice.source, choice.native_template) == (FAMILIES[name], "template", True)
    assert len(choice.template_sha256) == 64


def test_a_template_without_tools_falls_back_to_arena_with_the_reason() -> None:
    chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    choice = choose("auto", chatml, native_api=False)
    assert (choice.name, choice.source, choice.native_template) == ("arena", "fallback", False)
    assert "no tool-call markers" in choice.reason
    assert choose("auto", None, native_api=True).name == "native"
    forced = choose("hermes", chatml, native_api=False)
    assert (forced.source, forced.native_template) == ("option", False)


@pytest.mark.parametrize("name", FAMILIES)
def test_round_trip_through_the_real_template(name: str) -> None:
    """A history holding a call, rendered by the family's template: its assistant part parses back."""
    choice = choose("auto", (TEMPLATES / name).read_text(encoding="utf-8"), native_api=False)
    speaker = Speaker(choice, BUILTIN_TOOLS)
    dialect = DIALECTS[choice.name]
    messages = [{"role": "system", "content": speaker.system_prompt()}, {"role": "user", "content": "Fix it."}]
    messages.append(speaker.assistant_message(dialect.render_calls([WRITE]), [WRITE], native=False))
    speaker.add_results(messages, [(WRITE, "wrote 99 bytes to roman/__init__.py")])
    rendered = template(name).render(messages, speaker.tools, add_generation_prompt=False)
    assert "roman/__init__.py" in rendered and "file_glob" not in rendered
    # The tools reached the prompt through the template itself.
    assert "file_edit" in rendered
    marker = {"mistral": "[TOOL_CALLS]"}.get(choice.name)
    head = template(name).render(messages[:2], speaker.tools)
    assistant = rendered[rendered.index(marker) :] if marker else rendered[len(head) :]
    if not marker:
        assert rendered.startswith(head)  # the generation prompt is a prefix: KV reuse holds
    calls = dialect.parse(assistant, SCHEMAS)
    assert [(c.name, c.input, c.salvaged) for c in calls[:1]] == [(WRITE.name, WRITE.input, False)]


def test_qwen3_coder_template_lists_the_tools_as_xml() -> None:
    speaker = Speaker(choose("auto", (TEMPLATES / "Qwen3-Coder.jinja").read_text(), False), BUILTIN_TOOLS)
    prompt = template("Qwen3-Coder.jinja").render([{"role": "user", "content": "hi"}], speaker.tools)
    assert "<tools>\n<function>\n<name>file_read</name>" in prompt
    assert "<parameter>\n<name>path</name>\n<type>string</type>" in prompt


def test_qwen3_coder_raw_values_and_schema_types() -> None:
    turn = (
        "I will fix it.\n<tool_call>\n<function=file_write>\n<parameter=path>\nroman/__init__.py\n</parameter>\n"
        f"<parameter=content>\n{SOURCE}\n</parameter>\n</function>\n</tool_call>"
    )
    (call,) = DIALECTS["qwen3-coder"].parse(turn, SCHEMAS)
    assert (call.name, call.input, call.salvaged) == ("file_write", WRITE.input, False)
    schema = {"type": "object", "properties": {}}
    assert convert("42", {"type": "integer"}) == 42 and convert("2.5", {"type": "number"}) == 2.5
    assert convert("True", {"type": "boolean"}) is True and convert('{"a": [1]}', schema) == {"a": [1]}
    assert convert("x", {"type": "integer"}) == "x" and convert(" 7 ", {"type": ["integer", "null"]}) == 7


def test_qwen3_coder_unclosed_or_unwrapped_calls_are_salvaged() -> None:
    unclosed = "<tool_call>\n<function=file_read>\n<parameter=path>\nsrc/lib.rs\n"
    (call,) = DIALECTS["qwen3-coder"].parse(unclosed, SCHEMAS)
    assert (call.name, call.input, call.salvaged) == ("file_read", {"path": "src/lib.rs"}, True)
    bare = "<function=finish>\n</function>"
    assert [(c.name, c.salvaged) for c in DIALECTS["qwen3-coder"].parse(bare, SCHEMAS)] == [("finish", True)]
    assert parse_tool_calls(unclosed) == []  # the arena's own parser cannot read it


def test_llama3_mistral_pythonic_forms() -> None:
    llama = '<|python_tag|>{"name": "file_read", "parameters": {"path": "a.py"}}'
    assert [(c.name, c.input) for c in DIALECTS["llama3"].parse(llama)] == [("file_read", {"path": "a.py"})]
    v3 = '[TOOL_CALLS][{"name": "file_read", "arguments": "{\\"path\\": \\"a.py\\"}", "id": "abcdefghi"}]'
    (call,) = DIALECTS["mistral"].parse(v3)
    assert (call.name, call.input, call.id, call.salvaged) == ("file_read", {"path": "a.py"}, "abcdefghi", False)
    v11 = '[TOOL_CALLS]file_read[ARGS]{"path": "a.py"}[TOOL_CALLS]finish[ARGS]{}'
    assert [c.name for c in DIALECTS["mistral"].parse(v11)] == ["file_read", "finish"]
    py = '[file_read(path="a.py"), shell(command="ls -l")]'
    assert [(c.name, c.input) for c in DIALECTS["pythonic"].parse(py)] == [
        ("file_read", {"path": "a.py"}),
        ("shell", {"command": "ls -l"}),
    ]
    assert DIALECTS["pythonic"].parse("[__import__('os').system('x')]") == []


def test_markdown_salvage_is_available_to_every_dialect() -> None:
    turn = "Here is the fix:\n\n```python roman/__init__.py\nprint(1)\n```\n"
    for dialect in DIALECTS.values():
        (call,) = dialect.parse(turn)
        assert (call.name, call.input["path"], call.salvaged) == ("file_write", "roman/__init__.py", True)


def test_content_fallback_reads_any_dialect() -> None:
    assert parse_any('{"name": "finish", "parameters": {}}', SCHEMAS)[0].name == "finish"
    assert parse_any("<tool_call>\n<function=finish>\n</function>\n</tool_call>", SCHEMAS)[0].name == "finish"


ADVERSARIAL = [
    "<tool_call>" * 200_000,
    "<function=" * 100_000,
    "<function=x>" + "<parameter=p>" * 100_000,
    "[TOOL_CALLS]" + "[" * 500_000,
    "[" * 400_000 + "]" * 400_000,
    '{"name": ' * 100_000,
    "```x.py\n" * 100_000,
    "<|python_tag|>" + "{" * 500_000,
]


@pytest.mark.slow
@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: repr(t[:14]))
def test_adversarial_turns_parse_fast(text: str) -> None:
    """Unclosed tags, nested fences and brackets, 1 MB turns: every dialect answers quickly."""
    for dialect in DIALECTS.values():
        started = time.perf_counter()
        dialect.parse(text, SCHEMAS)
        assert time.perf_counter() - started < 5.0, dialect.name


def test_templates_are_sandboxed_and_errors_are_clear() -> None:
    with pytest.raises(TemplateRenderError):
        ChatTemplate("{{ ''.__class__.__mro__[1].__subclasses__() }}").render([])
    with pytest.raises(TemplateRenderError, match="roles must alternate"):
        template("mistralai-Mistral-Nemo-Instruct-2407.jinja").render(
            [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
        )


def test_tojson_does_not_html_escape() -> None:
    rendered = ChatTemplate("{{ tools | tojson }}").render([], [{"d": "<a & b>"}])
    assert json.loads(rendered) == [{"d": "<a & b>"}] and "<a & b>" in rendered


def test_odd_calls_still_render_through_the_templates() -> None:
    """A model's own call id, or arguments that are not an object, must not break the next render."""
    speaker = Speaker(choose("auto", (TEMPLATES / "mistralai-Mistral-Nemo-Instruct-2407.jinja").read_text(), False), [])
    calls, kind = speaker.parse(3, '[TOOL_CALLS][{"name": "shell", "arguments": "ls", "id": "x"}]', [])
    assert kind == "text" and calls[0].id == "c00030000"
    messages = [{"role": "user", "content": "go"}, speaker.assistant_message("", calls, native=False)]
    speaker.add_results(messages, [(calls[0], "a.py")])
    for name in ("mistralai-Mistral-Nemo-Instruct-2407.jinja", "Qwen3-Coder.jinja"):
        assert "a.py" in template(name).render(messages, speaker.tools)


def test_crash_records_read_ids_with_a_dialect() -> None:
    from pytest_arena.results.record import crash_record

    record = crash_record("fixtures/x/meta.toml::two-sum[smollm2-135m-t0.7-s3-qwen3-coder]", "died")
    assert (record.student, record.temperature, record.seed) == ("smollm2-135m", 0.7, 3)


def test_llama3_templates_get_one_call_per_assistant_message() -> None:
    """Llama 3.x templates raise on two calls in one message: the history holds one exchange per call."""
    speaker = Speaker(choose("auto", (TEMPLATES / "meta-llama-Llama-3.2-3B-Instruct.jinja").read_text(), False), [])
    calls, _ = speaker.parse(1, '{"name": "a", "parameters": {}}; {"name": "b", "parameters": {}}', [])
    messages = [{"role": "user", "content": "go"}, speaker.assistant_message("", calls, native=False)]
    speaker.add_results(messages, [(calls[0], "one"), (calls[1], "two")])
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "tool"]
    rendered = template("meta-llama-Llama-3.2-3B-Instruct.jinja").render(messages, speaker.tools)
    assert rendered.index('"name": "a"') < rendered.index('"one"') < rendered.index('"name": "b"')
