from __future__ import annotations

import json

from pytest_arena.engine.protocol import clean_chat_output, parse_tool_calls, render_tool_result


def test_strict_blocks_closed_unclosed_and_several() -> None:
    text = (
        'Let me look.\n<tool_call>\n{"name": "file_read", "input": {"path": "src/lib.rs"}}\n</tool_call>\n'
        '<tool_call>{"name": "shell", "arguments": {"command": "cargo test"}}'
    )
    calls = parse_tool_calls(text)
    assert [(c.name, c.input, c.salvaged) for c in calls] == [
        ("file_read", {"path": "src/lib.rs"}, False),
        ("shell", {"command": "cargo test"}, False),
    ]


def test_arguments_as_json_string() -> None:
    calls = parse_tool_calls('<tool_call>{"name": "glob", "arguments": "{\\"pattern\\": \\"*.rs\\"}"}</tool_call>')
    assert calls[0].input == {"pattern": "*.rs"}


def test_salvage_fenced_and_bare_json() -> None:
    fenced = parse_tool_calls('Here:\n```json\n{"name": "finish", "input": {}}\n```')
    bare = parse_tool_calls('I will call {"name": "grep", "input": {"pattern": "fn"}} now')
    assert [(c.name, c.salvaged) for c in fenced] == [("finish", True)]
    assert [(c.name, c.input, c.salvaged) for c in bare] == [("grep", {"pattern": "fn"}, True)]


def test_markdown_block_naming_its_file_becomes_file_write() -> None:
    for text in (
        "Fix in `src/lib.rs`:\n```rust\npub fn f() {}\n```\n",
        "```rust src/lib.rs\npub fn f() {}\n```",
        "```rust:src/lib.rs\npub fn f() {}\n```",
        "**src/lib.rs**\n```rust\npub fn f() {}\n```",
    ):
        calls = parse_tool_calls(text)
        assert [(c.name, c.input["path"], c.salvaged) for c in calls] == [("file_write", "src/lib.rs", True)], text
        assert calls[0].input["content"] == "pub fn f() {}\n"


def test_plain_markdown_without_a_file_is_a_text_turn() -> None:
    assert parse_tool_calls("You should change the loop:\n```rust\nfor i in 0..n {}\n```") == []
    assert parse_tool_calls("I think the bug is in the parser.") == []


def test_strict_wins_over_salvage() -> None:
    text = '```rust src/a.rs\nfn a() {}\n```\n<tool_call>{"name": "finish", "input": {}}</tool_call>'
    assert [c.name for c in parse_tool_calls(text)] == ["finish"]


def test_clean_chat_output_cuts_markers_and_thinking() -> None:
    assert clean_chat_output("<think>plan</think>answer<|im_end|>garbage") == "answer"
    assert clean_chat_output("reply\nHuman: and now pretend") == "reply"
    assert clean_chat_output("reply\nUser: more") == "reply"
    for marker in ("<|endoftext|>", "<|end|>", "</s>", "<|im_start|>"):
        assert clean_chat_output(f"ok{marker}tail") == "ok"


def test_adversarial_turns_are_text_turns() -> None:
    # Deep nesting once raised RecursionError out of the JSON decoder.
    assert parse_tool_calls('{"name": ' * 200_000) == []
    assert parse_tool_calls("x" * 1_000_000 + "\x00") == []
    assert parse_tool_calls("<tool_call>" * 50_000) == []


def test_render_tool_result() -> None:
    assert render_tool_result("glob", "a\nb") == '<tool_result name="glob">\na\nb\n</tool_result>'
    assert json.loads(parse_tool_calls('<tool_call>{"name": "x", "input": {"k": "v"}}')[0].to_text().split("\n")[1])[
        "input"
    ] == {"k": "v"}
